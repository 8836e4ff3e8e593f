package offers

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/p2p/capacity"
	"github.com/gpumesh/gpumesh/p2p/coord"
)

// Finder is what a search needs from the capacity layer; *capacity.Finder
// implements it.
type Finder interface {
	Find(ctx context.Context, keys []capacity.CapKey, want int, found func(capacity.Found)) (capacity.Stats, error)
}

// Query is one search.
type Query struct {
	// Filter selects offers; nil matches all.
	Filter *Filter
	// Order sorts the result; the zero Order is the default order.
	Order Order
	// Limit caps the number of offers returned; 0 means all.
	Limit int
	// Enough, if positive, ends the search as soon as that many offers
	// match (the fastest answer, not the cheapest: they are sorted among
	// themselves); 0 searches to completion.
	Enough int
	// Mine is the searching node's coordinate, for rtt_ms; nil if unknown.
	Mine *coord.Coordinate
	// Now is the time offers are judged at (availability hours); time.Now if zero.
	Now time.Time
	// Stake, if set, checks the payout wallet of every offer that names
	// one on chain, for Offer.Staked and the staked field; a filter
	// that tests staked without it is refused (ErrNoStakeChecker).
	Stake StakeChecker
}

// ErrNoStakeChecker says a filter tests staked on a node without a
// settlement chain to check stakes on.
var ErrNoStakeChecker = errors.New("staked: this node has no settlement chain client to check stakes on (settlement.contract and anchor.rpc_url)")

// Result is what a search found.
type Result struct {
	// Offers are the matching offers, sorted, at most Limit.
	Offers []Offer `json:"offers"`
	// Matched is the number of matching offers before Limit.
	Matched int `json:"matched"`
	// Keys are the capability keys searched.
	Keys []string `json:"keys"`
	// Stats describe the DHT side of the search.
	Stats capacity.Stats `json:"stats"`
	// Partial is set when the search ran out of time: what was found so
	// far is returned.
	Partial bool `json:"partial,omitempty"`
	// StakeError, when set, is why the stake of some payout wallets could
	// not be read on chain: their offers count as not staked.
	StakeError string `json:"stake_error,omitempty"`
}

// Search finds the offers matching q through f: it chooses the capability
// keys the filter allows (Keys), looks them up, splits every record found
// into offers and keeps those the filter matches.
func Search(ctx context.Context, f Finder, q Query) (Result, error) {
	if q.Now.IsZero() {
		q.Now = time.Now()
	}
	var hints Hints
	if q.Filter != nil {
		hints = q.Filter.Hints()
	}
	var res Result
	if q.Stake == nil && q.Filter.Uses("staked") {
		return res, ErrNoStakeChecker
	}
	var st *stakes
	if q.Stake != nil {
		st = &stakes{chain: q.Stake, seen: map[common.Address]bool{}}
	}
	if hints.None { // the filter contradicts itself: nothing can match
		res.Offers = []Offer{}
		return res, nil
	}
	keys := Keys(hints)
	for _, k := range keys {
		res.Keys = append(res.Keys, k.String())
	}
	var all []Offer
	findCtx, enough := context.WithCancel(ctx)
	defer enough()
	stats, err := f.Find(findCtx, keys, q.Enough, func(found capacity.Found) {
		for _, o := range FromRecord(found.Peer, found.Record, q.Mine, q.Now) {
			if st != nil && o.Wallet != "" {
				o.Staked = st.eligible(ctx, common.HexToAddress(o.Wallet))
			}
			if q.Filter == nil || q.Filter.Match(o) {
				all = append(all, o)
			}
		}
		if q.Enough > 0 && len(all) >= q.Enough {
			enough()
		}
	})
	res.Stats = stats
	if st != nil && st.err != nil {
		res.StakeError = st.err.Error()
	}
	switch {
	case err == nil:
	case ctx.Err() == nil && errors.Is(err, context.Canceled): // enough found
	case errors.Is(err, context.DeadlineExceeded):
		res.Partial = true
	default:
		return res, err
	}
	q.Order.Sort(all)
	res.Matched = len(all)
	if q.Limit > 0 && len(all) > q.Limit {
		all = all[:q.Limit]
	}
	res.Offers = all
	if res.Offers == nil {
		res.Offers = []Offer{}
	}
	return res, nil
}

// Keys chooses the capability keys to search for a filter's hints: the
// most selective dimension the filter pins (class, then country, then a
// VRAM bucket, region, executor, pool), one key per listed value; "any"
// when it pins none. Every offer the filter can match is announced under
// the chosen keys, so the search misses nothing: the hints narrow only what
// is fetched, and Match still decides.
func Keys(h Hints) []capacity.CapKey {
	many := func(dim string, values []string) []capacity.CapKey {
		var out []capacity.CapKey
		for _, v := range values {
			out = append(out, capacity.CapKey{Dim: dim, Value: strings.ToLower(v)})
		}
		return out
	}
	switch {
	case len(h.Classes) > 0:
		return many(capacity.DimClass, h.Classes)
	case len(h.Countries) > 0:
		return many(capacity.DimCountry, h.Countries)
	}
	if k, ok := capacity.VRAMKey(h.MinVRAMGB); ok {
		return []capacity.CapKey{k}
	}
	switch {
	case len(h.Regions) > 0:
		// region matches a record's region or its country, so both are searched
		return append(many(capacity.DimRegion, h.Regions), many(capacity.DimCountry, h.Regions)...)
	case len(h.Executors) > 0:
		return many(capacity.DimExecutor, h.Executors)
	case len(h.Pools) > 0:
		return many(capacity.DimPool, h.Pools)
	}
	return []capacity.CapKey{{Dim: capacity.DimAny, Value: "all"}}
}

// Self lists this node's own offers (a node does not find itself in a search).
func Self(id peer.ID, r *capacity.Record, now time.Time) []Offer {
	if r == nil {
		return nil
	}
	return FromRecord(id, r, r.Coord, now)
}
