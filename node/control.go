package node

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/p2p/capacity"
	"github.com/gpumesh/gpumesh/p2p/coord"
)

// control is what a user changes about the node's offer while it runs:
// pausing, and the outcome of the last change saved to the config file.
type control struct {
	mu       sync.Mutex // also serialises read-modify-write of [offer]
	paused   bool
	pausedAt time.Time
	reason   string
	saved    bool
	saveErr  string
}

// maxClearing bounds the clearing prices GET /api/v1/market lists.
const maxClearing = 20

// Paused reports whether offering is paused.
func (n *Node) Paused() bool {
	n.ctl.mu.Lock()
	defer n.ctl.mu.Unlock()
	return n.ctl.paused
}

// Pause stops offering until Resume: the provider side declines every
// request ("this node offers nothing now") and the next capacity record,
// published within seconds, shows every device busy. Work already awarded
// goes on. A pause lasts until Resume or the node's restart (api.ControlBackend).
func (n *Node) Pause(reason string) (api.MarketStatus, error) {
	if !n.cfg.Offer.Enabled {
		return api.MarketStatus{}, fmt.Errorf("%w: this node offers nothing (offer.enabled = false); nothing to pause", api.ErrConflict)
	}
	n.ctl.mu.Lock()
	if !n.ctl.paused {
		n.ctl.paused, n.ctl.pausedAt = true, time.Now()
	}
	n.ctl.reason = strings.TrimSpace(reason)
	n.ctl.mu.Unlock()
	n.log.Info("offering paused", "reason", reason)
	n.offerChanged()
	return n.MarketStatus(), nil
}

// Resume offers again after Pause (api.ControlBackend).
func (n *Node) Resume() (api.MarketStatus, error) {
	if !n.cfg.Offer.Enabled {
		return api.MarketStatus{}, fmt.Errorf("%w: this node offers nothing (offer.enabled = false); set it and restart to offer", api.ErrConflict)
	}
	n.ctl.mu.Lock()
	was := n.ctl.paused
	n.ctl.paused, n.ctl.pausedAt, n.ctl.reason = false, time.Time{}, ""
	n.ctl.mu.Unlock()
	if was {
		n.log.Info("offering resumed")
		n.offerChanged()
	}
	return n.MarketStatus(), nil
}

// SetPrices replaces offer.prices while the node runs: every entry must
// parse, and every device of this node must still have a price. The new
// record is published within seconds and, when the node was started from
// a config file, the file is updated (api.ControlBackend).
func (n *Node) SetPrices(prices []string) (api.MarketStatus, error) {
	clean := make([]string, 0, len(prices))
	for _, p := range prices {
		if p = strings.TrimSpace(p); p != "" {
			clean = append(clean, p)
		}
	}
	return n.changeOffer("prices", clean, func(c *capacity.Config) error {
		c.Prices = clean
		if _, err := c.PriceTable(); err != nil {
			return err
		}
		for _, d := range n.hw.Devices {
			if _, ok := c.Price(d.Class, d.Pool); !ok {
				return fmt.Errorf("no price for this node's %s devices: give %s=PRICE or %s=PRICE", d.Class, d.Class, d.Pool)
			}
		}
		return nil
	})
}

// SetHours replaces offer.hours while the node runs (none = always), as
// SetPrices does (api.ControlBackend).
func (n *Node) SetHours(hours []string) (api.MarketStatus, error) {
	clean := make([]string, 0, len(hours))
	for _, h := range hours {
		if h = strings.TrimSpace(h); h != "" {
			clean = append(clean, h)
		}
	}
	return n.changeOffer("hours", clean, func(c *capacity.Config) error {
		c.Hours = clean
		if len(clean) > 8 {
			return fmt.Errorf("at most 8 windows, got %d", len(clean))
		}
		_, err := c.Windows(time.Now(), time.Local)
		return err
	})
}

// changeOffer applies edit to a copy of [offer], validates it, puts it in
// force and saves key to the config file. A bad value changes nothing.
func (n *Node) changeOffer(key string, values []string, edit func(*capacity.Config) error) (api.MarketStatus, error) {
	if n.capacity == nil {
		return api.MarketStatus{}, fmt.Errorf("%w: the node is not running", api.ErrConflict)
	}
	n.ctl.mu.Lock()
	c := n.Config().Offer
	c.Prices, c.Hours = slices.Clone(c.Prices), slices.Clone(c.Hours)
	err := edit(&c)
	if err == nil {
		err = c.Validate("offer")
	}
	if err == nil {
		err = n.SetOffer(c)
	}
	if err != nil {
		n.ctl.mu.Unlock()
		return api.MarketStatus{}, fmt.Errorf("%w: offer.%s: %w", api.ErrBadRequest, key, err)
	}
	n.ctl.saved, n.ctl.saveErr = false, ""
	if path := n.opts.ConfigFile; path != "" {
		if err := config.SetList(path, "offer", key, values); err != nil {
			n.ctl.saveErr = err.Error()
			n.log.Warn("offer changed but not saved", "key", "offer."+key, "err", err)
		} else {
			n.ctl.saved = true
		}
	}
	n.ctl.mu.Unlock()
	n.log.Info("offer changed", "key", "offer."+key, "value", strings.Join(values, " "))
	return n.MarketStatus(), nil
}

// MarketStatus is what the node offers now, its provider-side counts and
// the prices its recent jobs and awards cleared at (api.ControlBackend).
func (n *Node) MarketStatus() api.MarketStatus {
	cfg := n.Config()
	c := cfg.Offer
	s := api.MarketStatus{
		Offering:   c.Enabled,
		Published:  n.Offering(),
		Prices:     nonNil(c.Prices),
		Hours:      nonNil(c.Hours),
		Region:     c.Region,
		Country:    c.Country,
		SelfTest:   c.SelfTest,
		Proofs:     []capacity.Proof{},
		ConfigFile: n.opts.ConfigFile,
	}
	for _, e := range c.Executors {
		if _, ok := n.execs[e]; ok {
			s.Executors = append(s.Executors, e)
		}
	}
	n.ctl.mu.Lock()
	s.Paused, s.PauseReason, s.Saved, s.SaveError = n.ctl.paused, n.ctl.reason, n.ctl.saved, n.ctl.saveErr
	if n.ctl.paused {
		at := n.ctl.pausedAt
		s.PausedAt = &at
	}
	n.ctl.mu.Unlock()
	var reserved map[int]bool
	if n.jobs != nil {
		reserved = n.jobs.Reserved()
		s.Stats = n.jobs.Stats()
	}
	for i, d := range n.hw.Devices {
		j := slices.IndexFunc(s.Asks, func(a api.Ask) bool { return a.Class == d.Class })
		if j < 0 {
			price, _ := c.Price(d.Class, d.Pool)
			s.Asks = append(s.Asks, api.Ask{Class: d.Class, Pool: d.Pool, Price: price})
			j = len(s.Asks) - 1
		}
		s.Asks[j].Devices++
		if !reserved[i] && !s.Paused {
			s.Asks[j].Free++
		}
	}
	hours, _ := c.Windows(time.Now(), time.Local)
	s.Available = c.Enabled && !s.Paused && (&capacity.Record{Hours: hours}).Available(time.Now())
	if r := n.OwnOffer(); r != nil {
		s.RecordSeq = r.Seq
		exp := r.Expires
		s.RecordExpires = &exp
	}
	if n.capacity != nil {
		n.capacity.mu.Lock()
		s.Proofs = append(s.Proofs, n.capacity.proofs...)
		n.capacity.mu.Unlock()
	}
	s.Clearing = n.clearing()
	return s
}

// clearing lists the prices this node's recent clusters (as requester) and
// accepted awards (as provider) cleared at, newest first.
func (n *Node) clearing() []api.Clearing {
	out := []api.Clearing{}
	if n.jobs == nil {
		return out
	}
	for _, j := range n.jobs.Jobs() {
		if j.FormedAt == nil {
			continue
		}
		for _, m := range j.Cluster {
			out = append(out, api.Clearing{At: *j.FormedAt, Job: j.ID, Role: api.RoleRequester, Peer: m.Peer, Class: m.Class, Devices: m.Devices, Price: m.Price})
		}
	}
	for _, r := range n.jobs.Reservations() {
		out = append(out, api.Clearing{At: r.Accepted, Job: r.Job, Role: api.RoleProvider, Peer: r.Requester, Class: n.deviceClass(r.Devices), Devices: len(r.Devices), Price: r.Price})
	}
	slices.SortStableFunc(out, func(a, b api.Clearing) int { return b.At.Compare(a.At) })
	if len(out) > maxClearing {
		out = out[:maxClearing]
	}
	return out
}

// deviceClass is the class of the first of the node's devices idx names.
func (n *Node) deviceClass(idx []int) string {
	if len(idx) == 0 || idx[0] < 0 || idx[0] >= len(n.hw.Devices) {
		return ""
	}
	return n.hw.Devices[idx[0]].Class
}

// Coordinate is the node's network coordinate and its nearest connected
// peers (api.ControlBackend).
func (n *Node) Coordinate() api.Coordinate {
	out := api.Coordinate{Nearest: []api.Nearby{}}
	if n.net == nil {
		return out
	}
	mine, ok := n.net.Latency().Coordinate()
	out.Known, out.Coordinate, out.Samples = ok, mine, n.net.Latency().Samples()
	h := n.net.Host()
	for _, p := range h.Network().Peers() {
		nb := api.Nearby{Peer: p.String(), MeasuredMS: float64(h.Peerstore().LatencyEWMA(p).Microseconds()) / 1000}
		if theirs, ok2 := coordSource(n.gossip.Presence(), &n.coords)(p); ok && ok2 {
			nb.EstimatedMS = float64(coord.EstimateRTT(mine, theirs).Microseconds()) / 1000
		}
		out.Nearest = append(out.Nearest, nb)
	}
	key := func(x api.Nearby) float64 {
		switch {
		case x.MeasuredMS > 0:
			return x.MeasuredMS
		case x.EstimatedMS > 0:
			return x.EstimatedMS
		}
		return 1e12
	}
	slices.SortFunc(out.Nearest, func(a, b api.Nearby) int { return cmp.Compare(key(a), key(b)) })
	if len(out.Nearest) > 10 {
		out.Nearest = out.Nearest[:10]
	}
	return out
}

// nonNil returns s, or an empty slice for nil (JSON [] rather than null).
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
