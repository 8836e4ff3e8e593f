package capacity

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// directTimeout bounds asking a provider itself before the DHT is asked.
const directTimeout = 2 * time.Second

// Found is one provider's verified capacity record.
type Found struct {
	// Peer is the provider.
	Peer peer.ID
	// Record is its latest valid record that the search could get.
	Record *Record
	// Via says where the record came from: "direct" (the provider itself,
	// over ProtocolID) or "dht".
	Via string
}

// Stats describe one search.
type Stats struct {
	// Keys is the number of capability-key shards looked up.
	Keys int `json:"keys"`
	// Candidates is the number of distinct providers the lookups returned.
	Candidates int `json:"candidates"`
	// Records is the number of valid records fetched.
	Records int `json:"records"`
	// Direct and DHT count records by where they came from.
	Direct int `json:"direct"`
	DHT    int `json:"dht"`
	// Missing is the number of candidates with no valid record (gone,
	// expired, forged).
	Missing int `json:"missing"`
	// LAN is true when the DHT had no servers and the connected peers were
	// asked instead.
	LAN bool `json:"lan,omitempty"`
	// Elapsed is the search's duration.
	Elapsed time.Duration `json:"elapsed_ns"`
	// FirstCandidate and FirstRecord are when the first provider was found
	// and when the first valid record arrived, from the start.
	FirstCandidate time.Duration `json:"first_candidate_ns"`
	FirstRecord    time.Duration `json:"first_record_ns"`
}

// FinderOptions tune a Finder.
type FinderOptions struct {
	// Quorum is how many DHT answers a record fetch waits for, keeping the
	// newest (1 is fastest, more resists stale copies).
	Quorum int
	// Parallel is the most record fetches in flight.
	Parallel int
	// RoutingTableSize returns the number of DHT servers this node knows;
	// with none, Find asks connected peers directly.
	RoutingTableSize func() int
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// Log receives debug details of failed fetches.
	Log *slog.Logger
	// ObserveRTT, if set, receives the round trip of each record fetched
	// over an existing connection (stream open to first byte back): a free
	// sample for the network coordinate.
	ObserveRTT func(peer.ID, time.Duration)
}

// Finder finds providers through capability keys and fetches their
// capacity records.
type Finder struct {
	dht  Routing
	host host.Host
	opts FinderOptions
}

// NewFinder returns a finder over the DHT and host.
func NewFinder(r Routing, h host.Host, opts FinderOptions) *Finder {
	if opts.Quorum <= 0 {
		opts.Quorum = 2
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 32
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	return &Finder{dht: r, host: h, opts: opts}
}

// Find looks up every shard of every key in parallel and calls found, from
// one goroutine at a time, for each distinct provider (this node excluded)
// whose valid record it gets. It returns when the lookups and fetches are
// done, or as soon as ctx ends (found is not called after Find returns);
// the lookups run to completion, so a search finds every provider the DHT
// holds under the keys.
//
// want, if positive, is how many providers the caller needs: each shard's
// lookup stops once it has returned that many, and at most
// max(want, 8) records are fetched at once, so that a caller who will stop
// at want does not pay for lookups and fetches it will not use.
func (f *Finder) Find(ctx context.Context, keys []CapKey, want int, found func(Found)) (Stats, error) {
	start := time.Now()
	var st Stats
	if len(keys) == 0 {
		return st, errors.New("no capability keys to search")
	}
	candidates := make(chan peer.ID)
	var lookups sync.WaitGroup
	seen := map[peer.ID]bool{f.host.ID(): true}
	var seenMu sync.Mutex
	offer := func(p peer.ID) {
		seenMu.Lock()
		dup := seen[p]
		seen[p] = true
		seenMu.Unlock()
		if !dup {
			select {
			case candidates <- p:
			case <-ctx.Done():
			}
		}
	}
	if f.opts.RoutingTableSize != nil && f.opts.RoutingTableSize() == 0 {
		st.LAN = true
		lookups.Go(func() {
			for _, p := range f.host.Network().Peers() {
				if ok, _ := f.host.Peerstore().SupportsProtocols(p, ProtocolID); len(ok) > 0 {
					offer(p)
				}
			}
		})
	} else {
		for _, k := range keys {
			for i := range Shards(k.Dim) {
				st.Keys++
				ch := f.dht.FindProvidersAsync(ctx, k.Shard(i), max(want, 0))
				lookups.Go(func() {
					for ai := range ch {
						offer(ai.ID)
					}
				})
			}
		}
	}
	go func() {
		lookups.Wait()
		close(candidates)
	}()

	var mu sync.Mutex // serialises found and st
	ended := false    // under mu: Find has returned, found must not be called again
	parallel := f.opts.Parallel
	if want > 0 {
		parallel = min(parallel, max(want, 8))
	}
	sem := make(chan struct{}, parallel)
	var fetches sync.WaitGroup
	allFetched := make(chan struct{})
	go func() {
		defer close(allFetched)
		for p := range candidates {
			mu.Lock()
			st.Candidates++
			if st.Candidates == 1 {
				st.FirstCandidate = time.Since(start)
			}
			mu.Unlock()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				continue // drain: the lookups end with ctx
			}
			fetches.Go(func() {
				defer func() { <-sem }()
				rec, via := f.fetch(ctx, p)
				mu.Lock()
				defer mu.Unlock()
				if ended {
					return
				}
				if rec == nil {
					st.Missing++
					return
				}
				st.Records++
				if st.Records == 1 {
					st.FirstRecord = time.Since(start)
				}
				if via == "direct" {
					st.Direct++
				} else {
					st.DHT++
				}
				found(Found{Peer: p, Record: rec, Via: via})
			})
		}
		fetches.Wait()
	}()
	// Return as soon as every fetch is done, or at once when ctx ends (a
	// caller that has enough cancels it): lookups and fetches still in
	// flight wind down in the background and report nothing more.
	select {
	case <-allFetched:
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	ended = true
	st.Elapsed = time.Since(start)
	return st, ctx.Err()
}

// Get fetches one provider's record: from the provider itself when its
// addresses are known, else (or when that fails) from the DHT.
func (f *Finder) Get(ctx context.Context, p peer.ID) (*Record, error) {
	rec, _ := f.fetch(ctx, p)
	if rec == nil {
		return nil, errors.New("no valid capacity record")
	}
	return rec, nil
}

func (f *Finder) fetch(ctx context.Context, p peer.ID) (*Record, string) {
	direct := func() *Record {
		ctx, cancel := context.WithTimeout(ctx, directTimeout)
		defer cancel()
		connected := f.host.Network().Connectedness(p) == network.Connected
		start := time.Now()
		r, err := Fetch(ctx, f.host, p, f.opts.Now())
		if err != nil {
			f.opts.Log.Debug("capacity record not fetched directly", "peer", p, "err", err)
			return nil
		}
		if connected && f.opts.ObserveRTT != nil {
			f.opts.ObserveRTT(p, time.Since(start))
		}
		return r
	}
	fromDHT := func() *Record {
		data, err := f.dht.GetValue(ctx, Key(p), dht.Quorum(f.opts.Quorum))
		if err != nil {
			f.opts.Log.Debug("capacity record not in the DHT", "peer", p, "err", err)
			return nil
		}
		r, _, err := Verify(Key(p), data, f.opts.Now())
		if err != nil {
			f.opts.Log.Debug("capacity record from the DHT refused", "peer", p, "err", err)
			return nil
		}
		return r
	}
	// The provider itself first: one round trip (plus a handshake when not
	// yet connected, to the addresses its provider record carried) and the
	// freshest record. The DHT answers for providers that cannot be dialled
	// (behind NAT without a relay address) or are gone.
	if f.host.Network().Connectedness(p) == network.Connected || len(f.host.Peerstore().Addrs(p)) > 0 {
		if r := direct(); r != nil {
			return r, "direct"
		}
	}
	if r := fromDHT(); r != nil {
		return r, "dht"
	}
	return nil, ""
}
