package reputation

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/peer"
)

const (
	// MaxEvents is how many recent events a Book keeps per peer.
	MaxEvents = 5
	// MaxDetail is the longest event detail kept, in bytes; longer ones are cut.
	MaxDetail = 200
)

// Config tunes a Book. A zero field takes its default.
type Config struct {
	// HalfLife is how long an event takes to lose half its weight, except
	// challenge verdicts. Default 7 days.
	HalfLife time.Duration
	// ChallengeHalfLife is the half-life of challenge verdicts. Default 30 days.
	ChallengeHalfLife time.Duration
	// MaxPeers is how many peers the book remembers. Default 10000.
	MaxPeers int
	// SaveInterval is how often Run saves a changed book. Default 1 minute.
	SaveInterval time.Duration
	// Log receives Run's failed saves; slog.Default() if nil.
	Log *slog.Logger `toml:"-" json:"-"`
}

// DefaultConfig returns the defaults that Open gives zero fields.
func DefaultConfig() Config {
	return Config{
		HalfLife:          7 * 24 * time.Hour,
		ChallengeHalfLife: 30 * 24 * time.Hour,
		MaxPeers:          10000,
		SaveInterval:      time.Minute,
	}
}

// Validate returns every problem with c; zero fields are fine.
func (c Config) Validate() error {
	var errs []error
	if c.HalfLife < 0 {
		errs = append(errs, fmt.Errorf("half life %s is negative", c.HalfLife))
	}
	if c.ChallengeHalfLife < 0 {
		errs = append(errs, fmt.Errorf("challenge half life %s is negative", c.ChallengeHalfLife))
	}
	if c.MaxPeers < 0 {
		errs = append(errs, fmt.Errorf("max peers %d is negative", c.MaxPeers))
	}
	if c.SaveInterval < 0 {
		errs = append(errs, fmt.Errorf("save interval %s is negative", c.SaveInterval))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	c.HalfLife = cmp.Or(c.HalfLife, d.HalfLife)
	c.ChallengeHalfLife = cmp.Or(c.ChallengeHalfLife, d.ChallengeHalfLife)
	c.MaxPeers = cmp.Or(c.MaxPeers, d.MaxPeers)
	c.SaveInterval = cmp.Or(c.SaveInterval, d.SaveInterval)
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// Event is one thing a peer did.
type Event struct {
	// Kind is what happened.
	Kind Kind `json:"kind"`
	// At is when it was recorded.
	At time.Time `json:"at"`
	// Detail is the short reason given, at most MaxDetail bytes.
	Detail string `json:"detail,omitempty"`
}

// View is what a Book knows of one peer, as of the moment it was taken.
type View struct {
	// Peer is the peer viewed.
	Peer peer.ID `json:"peer"`
	// Score is the peer's score in [0, 1], 1 best.
	Score float64 `json:"score"`
	// Factors are the parts Score is the product of.
	Factors Factors `json:"factors"`
	// Counts are the decayed event counts by kind; kinds near zero are left out.
	Counts map[Kind]float64 `json:"counts"`
	// FirstSeen is the time of the peer's first event; it starts its age.
	FirstSeen time.Time `json:"first_seen"`
	// LastSeen is the time of the peer's latest event.
	LastSeen time.Time `json:"last_seen"`
	// Events are the last MaxEvents events, oldest first.
	Events []Event `json:"events"`
}

// entry is one peer's record, in memory and in the file.
type entry struct {
	Counts    map[Kind]float64 `json:"counts"`
	Updated   time.Time        `json:"updated"` // when Counts were last decayed
	FirstSeen time.Time        `json:"first_seen"`
	LastSeen  time.Time        `json:"last_seen"`
	Events    []Event          `json:"events,omitempty"`
}

// Book is this node's reputation of its peers. It is safe for concurrent use.
type Book struct {
	path string
	cfg  Config
	now  func() time.Time

	saveMu sync.Mutex // one Save at a time, so an older snapshot never lands last
	mu     sync.Mutex
	peers  map[peer.ID]*entry
	dirty  bool
}

// Record notes that p did k now; detail is a short reason kept with the
// last few events. An empty peer ID or an unknown kind is ignored.
func (b *Book) Record(p peer.ID, k Kind, detail string) {
	if p == "" || !k.Valid() {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	e := b.peers[p]
	if e == nil {
		for len(b.peers) >= b.cfg.MaxPeers {
			b.evictLocked()
		}
		e = &entry{Counts: map[Kind]float64{}, Updated: now, FirstSeen: now}
		b.peers[p] = e
	}
	if now.After(e.Updated) {
		e.Counts, e.Updated = decayed(e.Counts, e.Updated, now, b.cfg), now
	}
	e.Counts[k]++
	if now.After(e.LastSeen) {
		e.LastSeen = now
	}
	e.Events = append(e.Events, Event{Kind: k, At: now, Detail: clip(detail)})
	if len(e.Events) > MaxEvents {
		e.Events = slices.Clone(e.Events[len(e.Events)-MaxEvents:])
	}
	b.dirty = true
}

// evictLocked forgets the peer seen least recently (the smallest ID among
// equals). A bad peer evicted comes back as a newcomer.
func (b *Book) evictLocked() {
	var oldest peer.ID
	var at time.Time
	for p, e := range b.peers {
		if oldest == "" || e.LastSeen.Before(at) || e.LastSeen.Equal(at) && p < oldest {
			oldest, at = p, e.LastSeen
		}
	}
	delete(b.peers, oldest)
}

// Score returns p's score in [0, 1] now, 1 best; a peer never seen scores
// 0.5.
func (b *Book) Score(p peer.ID) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.peers[p]
	if e == nil {
		s, _ := Compute(nil, 0)
		return s
	}
	return b.viewLocked(p, e, b.now()).Score
}

// View returns what the book knows of p, and false if p was never seen (or
// was evicted).
func (b *Book) View(p peer.ID) (View, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.peers[p]
	if e == nil {
		return View{}, false
	}
	return b.viewLocked(p, e, b.now()), true
}

// All returns every peer's view, by score descending, then by peer ID.
func (b *Book) All() []View {
	b.mu.Lock()
	now := b.now()
	out := make([]View, 0, len(b.peers))
	for p, e := range b.peers {
		out = append(out, b.viewLocked(p, e, now))
	}
	b.mu.Unlock()
	slices.SortFunc(out, func(x, y View) int {
		return cmp.Or(cmp.Compare(y.Score, x.Score), cmp.Compare(x.Peer, y.Peer))
	})
	return out
}

func (b *Book) viewLocked(p peer.ID, e *entry, now time.Time) View {
	n := decayed(e.Counts, e.Updated, now, b.cfg)
	s, f := Compute(n, now.Sub(e.FirstSeen))
	return View{
		Peer: p, Score: s, Factors: f, Counts: n,
		FirstSeen: e.FirstSeen, LastSeen: e.LastSeen,
		Events: slices.Clone(e.Events),
	}
}

// Run saves the book every SaveInterval if it changed, and once more when
// ctx ends; then it returns. Failed saves are logged and retried next time.
func (b *Book) Run(ctx context.Context) {
	t := time.NewTicker(b.cfg.SaveInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			b.logSave()
			return
		case <-t.C:
			b.logSave()
		}
	}
}

func (b *Book) logSave() {
	if err := b.saveIfDirty(); err != nil {
		b.cfg.Log.Warn("save reputation", "path", b.path, "err", err)
	}
}

// Close saves the book if it changed since the last save. It does not stop
// Run (its ctx does), and the book stays usable.
func (b *Book) Close() error { return b.saveIfDirty() }

func (b *Book) saveIfDirty() error {
	b.mu.Lock()
	dirty := b.dirty
	b.mu.Unlock()
	if !dirty {
		return nil
	}
	return b.Save()
}

// clip cuts s to at most MaxDetail bytes without splitting a character.
func clip(s string) string {
	if len(s) <= MaxDetail {
		return s
	}
	i := MaxDetail
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return strings.Clone(s[:i]) // do not pin the caller's long string
}
