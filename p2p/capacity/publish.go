package capacity

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/routing"

	"github.com/gpumesh/gpumesh/p2p/coord"
)

// Routing is the part of the Kademlia DHT that capacity needs;
// *dht.IpfsDHT implements it.
type Routing interface {
	PutValue(ctx context.Context, key string, value []byte, opts ...routing.Option) error
	GetValue(ctx context.Context, key string, opts ...routing.Option) ([]byte, error)
	Provide(ctx context.Context, key cid.Cid, announce bool) error
	FindProvidersAsync(ctx context.Context, key cid.Cid, count int) <-chan peer.AddrInfo
}

// Timing says how long records live and how often they are refreshed.
type Timing struct {
	// TTL is how long a published record is valid.
	TTL time.Duration
	// Republish is how often an unchanged record is put again (kad-dht
	// does not republish values by itself); at most TTL/2.
	Republish time.Duration
	// Reprovide is how often the capability keys are announced again
	// (kad-dht v0.42's Provide does not re-announce by itself).
	Reprovide time.Duration
	// MinInterval is the least time between two publications caused by
	// changes, so that a flapping value cannot flood the DHT.
	MinInterval time.Duration
}

// Publisher keeps this node's capacity record and capability keys in the
// DHT: it publishes on change and on schedule.
type Publisher struct {
	dht    Routing
	key    crypto.PrivKey
	timing Timing
	log    *slog.Logger
	now    func() time.Time

	mu       sync.Mutex
	latest   *Record
	signed   []byte
	provided map[CapKey]time.Time
	lastSeq  uint64
	lastPut  time.Time
	lastErr  error
	settled  bool // Run has finished a publication
}

// NewPublisher returns a publisher that signs with key and writes to dht.
func NewPublisher(dht Routing, key crypto.PrivKey, timing Timing, log *slog.Logger) *Publisher {
	if log == nil {
		log = slog.Default()
	}
	return &Publisher{dht: dht, key: key, timing: timing, log: log, now: time.Now, provided: map[CapKey]time.Time{}}
}

// Latest returns the last record published and its signed bytes; nil if
// none yet.
func (p *Publisher) Latest() (*Record, []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.latest, p.signed
}

// Published reports whether the latest record reached the DHT with all its
// capability keys (false before the first publication and after a failed
// one, until the retry succeeds).
func (p *Publisher) Published() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.settled && p.lastErr == nil
}

// Publish dates, numbers and signs r, puts it under this node's key, and
// announces every capability key that is new or due for reannouncement. A
// failure to reach the DHT is returned but the record is kept as the
// latest, served to peers that ask directly.
func (p *Publisher) Publish(ctx context.Context, r Record) (*Record, error) {
	now := p.now()
	p.mu.Lock()
	r.Seq = max(uint64(now.UnixNano()), p.lastSeq+1) // grows across restarts without stored state
	p.lastSeq = r.Seq
	r.Issued = now.UTC().Truncate(time.Millisecond)
	r.Expires = r.Issued.Add(p.timing.TTL)
	p.mu.Unlock()
	if err := r.Validate(now, MaxSkew); err != nil {
		return nil, fmt.Errorf("own capacity record: %w", err)
	}
	data, err := Seal(&r, p.key)
	if err != nil {
		return nil, err
	}
	id, err := peer.IDFromPrivateKey(p.key)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.latest, p.signed, p.lastPut = &r, data, now
	var due []CapKey
	for _, k := range Keys(&r) {
		if at, ok := p.provided[k]; !ok || now.Sub(at) >= p.timing.Reprovide {
			due = append(due, k)
		}
	}
	p.mu.Unlock()

	var errs []error
	if err := p.dht.PutValue(ctx, Key(id), data); err != nil {
		errs = append(errs, fmt.Errorf("put capacity record: %w", err))
	}
	var wg sync.WaitGroup
	var emu sync.Mutex
	for _, k := range due {
		wg.Go(func() {
			if err := p.dht.Provide(ctx, k.Shard(ShardOf(id, k.Dim)), true); err != nil {
				emu.Lock()
				errs = append(errs, fmt.Errorf("announce %s: %w", k, err))
				emu.Unlock()
				return
			}
			p.mu.Lock()
			p.provided[k] = now
			p.mu.Unlock()
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return &r, fmt.Errorf("%v (and %d more)", errs[0], len(errs)-1)
	}
	return &r, nil
}

// Run publishes what build returns now, again whenever changed fires (no
// more often than MinInterval) and build's result differs from the last
// record in more than its coordinate, and at least every Republish. It
// returns when ctx ends.
func (p *Publisher) Run(ctx context.Context, build func() (Record, error), changed <-chan struct{}) {
	// A publication that fails (typically at start, before the routing
	// table has peers) is retried with backoff rather than at the next
	// scheduled republication.
	var retry <-chan time.Time
	backoff := time.Second
	publish := func(force bool) {
		r, err := build()
		if err != nil {
			p.log.Warn("capacity record not built", "err", err)
			return
		}
		prev, _ := p.Latest()
		if !force && prev != nil && sameOffer(prev, &r) {
			return
		}
		pctx, cancel := context.WithTimeout(ctx, max(p.timing.Republish/2, 10*time.Second))
		defer cancel()
		rec, err := p.Publish(pctx, r)
		p.mu.Lock()
		p.lastErr, p.settled = err, true
		p.mu.Unlock()
		if err != nil {
			p.log.Debug("capacity record published partly; retrying", "err", err, "in", backoff)
			retry = time.After(backoff)
			backoff = min(2*backoff, p.timing.Republish)
			return
		}
		retry, backoff = nil, time.Second
		p.log.Debug("capacity record published", "seq", rec.Seq, "devices", len(rec.Devices), "keys", len(Keys(rec)))
	}
	publish(true)
	tick := time.NewTicker(p.timing.Republish)
	defer tick.Stop()
	var pending <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-retry:
			publish(true)
		case <-tick.C:
			publish(true)
		case <-changed:
			p.mu.Lock()
			wait := p.timing.MinInterval - p.now().Sub(p.lastPut)
			p.mu.Unlock()
			if pending == nil {
				pending = time.After(max(wait, 0))
			}
		case <-pending:
			pending = nil
			publish(false)
		}
	}
}

// coordMove is how far a coordinate must move (in predicted RTT) before
// the record is published again for it alone: coordinates drift a little
// all the time and the scheduled republication carries small drifts.
const coordMove = 10 * time.Millisecond

// sameOffer reports whether two records offer the same thing: all but the
// numbering, the dates and small moves of the coordinate. A first
// coordinate, or one that moved by coordMove or more, is a change.
func sameOffer(a, b *Record) bool {
	if (a.Coord == nil) != (b.Coord == nil) {
		return false
	}
	if a.Coord != nil && coord.EstimateRTT(*a.Coord, *b.Coord) >= coordMove {
		return false
	}
	x, y := *a, *b
	x.Seq, y.Seq = 0, 0
	x.Issued, y.Issued = time.Time{}, time.Time{}
	x.Expires, y.Expires = time.Time{}, time.Time{}
	x.Coord, y.Coord = nil, nil
	return reflect.DeepEqual(x, y)
}
