package node

import (
	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/node/dashboard"
)

// apiOptions are the API's: the token its mutating calls need, the
// dashboard at "/" and the metrics at "/metrics", all behind the API's
// host and origin checks.
func (n *Node) apiOptions() []api.Option {
	ui := dashboard.Handler()
	return []api.Option{
		api.WithToken(n.token),
		api.WithHandler("GET /{$}", ui),
		api.WithHandler("GET "+dashboard.Prefix, ui),
		api.WithHandler("GET /metrics", n.MetricsHandler()),
		api.WithHandler("POST "+api.SettlePath, api.SettleHandler(n.settleNow)),
	}
}

// APIToken is the token the API's mutating calls need (DIR/api.token).
func (n *Node) APIToken() string { return n.token }

// DashboardURL is the dashboard's address with the API token in its
// fragment (never sent to the server, kept by the page), "" without an API.
func (n *Node) DashboardURL() string {
	if n.api == nil {
		return ""
	}
	return n.api.URL() + "/#token=" + n.token
}
