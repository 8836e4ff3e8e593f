package node

import (
	"strings"

	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/p2p"
)

// networkStatus turns p2p's view of the node's network into the API's:
// reachability in lower case, addresses as text.
func networkStatus(s p2p.Status) api.NetworkStatus {
	return api.NetworkStatus{
		Name: s.Name,
		Kind: s.Kind,
		Bootstrap: api.BootstrapStatus{
			Peers:     s.BootstrapPeers,
			Connected: s.BootstrapConnected,
			Reason:    s.BootstrapReason,
		},
		Reachability:       strings.ToLower(s.Reachability.String()),
		ReachabilitySource: s.ReachabilitySource,
		RelayAddrs:         strs(s.RelayAddrs),
		DirectAddrs:        strs(s.DirectAddrs),
	}
}
