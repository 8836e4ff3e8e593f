package anchor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/ledger/merkle"
)

// Source is the log being anchored; *ledger.Log implements it.
type Source interface {
	// Head returns the log's size and root now.
	Head() (int64, merkle.Hash, error)
	// RootAt returns the root of the log's first n entries.
	RootAt(n int64) (merkle.Hash, error)
	// ConsistencyProof proves that the tree of newSize entries extends the
	// tree of oldSize entries.
	ConsistencyProof(oldSize, newSize int64) ([]merkle.Hash, error)
}

// finalDepth is the confirmation count after which an anchor is no longer
// re-checked for reorgs (two Ethereum epochs: past finality on mainnet).
const finalDepth = 64

// recheckEvery is how often confirmed anchors that are not final yet are
// looked up again (pending ones are looked up every Step), so that a public
// RPC endpoint is not polled hard.
const recheckEvery = time.Minute

// Backoff bounds of a failed send: 1s doubling to 5 minutes.
const (
	minBackoff = time.Second
	maxBackoff = 5 * time.Minute
)

// ErrRewritten means the log no longer extends a checkpoint that was already
// anchored: something anchored was rewritten. Nothing is sent.
var ErrRewritten = errors.New("log rewritten since its last anchor")

// Options are the anchorer's collaborators; all but Dir are optional.
type Options struct {
	// Dir is the folder anchors.json is kept in (it must exist).
	Dir string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// OnAnchored is called, from the goroutine running Run or Step, each
	// time an anchor becomes confirmed (a re-sent one too). It must not
	// block for long.
	OnAnchored func(Anchor)
	// Log receives the anchorer's events; slog.Default when nil.
	Log *slog.Logger
	// Poll is how often Run checks the log and pending anchors; default
	// 5s, or Interval when shorter.
	Poll time.Duration
}

// Anchorer closes epochs of a log and anchors a signed checkpoint of each on
// a chain, one transaction per epoch: when Interval passed since the last
// anchor or Every entries were appended, whichever comes first, and only
// when the log grew. It records each anchor in Dir/anchors.json with the
// consistency proof from the previous one, retries sends that failed with a
// backoff, and keeps re-checking recent anchors until they are final,
// re-sending one a reorg dropped.
type Anchorer struct {
	cfg   Config
	src   Source
	chain Backend
	key   crypto.PrivKey
	id    peer.ID
	opts  Options
	log   *slog.Logger
	off   string

	wake   chan struct{}
	stepMu sync.Mutex // one Step at a time: only a step changes anchors
	mu     sync.Mutex // guards the fields below; never held during I/O
	// anchors is the history, oldest first; pending ones are the tail's.
	anchors   []*Anchor
	lastClose time.Time
	head      int64
	chainID   uint64
	lastErr   string
	lastErrAt time.Time
	loadErr   string
	rechecked time.Time // when confirmed anchors were last re-checked
}

// New returns an anchorer of src on chain, signing checkpoints with key (the
// node's identity). A nil chain means anchoring is off: Status says why
// (cfg.OffReason) and Run returns at once. New reads Dir/anchors.json; a
// corrupt file is moved aside and reported in Status, not returned. It
// starts nothing.
func New(cfg Config, src Source, chain Backend, key crypto.PrivKey, opts Options) (*Anchorer, error) {
	if err := cfg.Validate("anchor"); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Poll <= 0 {
		opts.Poll = min(5*time.Second, time.Duration(cfg.Interval))
	}
	a := &Anchorer{cfg: cfg, src: src, chain: chain, key: key, opts: opts, log: opts.Log, wake: make(chan struct{}, 1)}
	if chain == nil {
		a.off = cfg.OffReason()
		if a.off == "" {
			a.off = "anchoring off: no chain connected"
		}
		return a, nil
	}
	if src == nil || key == nil || opts.Dir == "" {
		return nil, errors.New("anchorer: a source, a key and a dir are required")
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("anchorer: %w", err)
	}
	a.id = id
	anchors, err := LoadAnchors(opts.Dir)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		a.loadErr = err.Error()
		a.log.Warn("anchors file unusable: starting without it", "err", err)
	}
	a.anchors = anchors
	a.lastClose = opts.Now()
	if last := a.lastAnchored(); last != nil && !last.Sent.IsZero() {
		a.lastClose = last.Sent
	}
	return a, nil
}

// Poke tells Run that the log grew, so that an epoch that became due by
// size closes without waiting for the next poll. It never blocks.
func (a *Anchorer) Poke() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Run anchors until ctx ends, then returns nil. With anchoring off it
// returns at once. Errors are recorded in Status and logged, never fatal.
func (a *Anchorer) Run(ctx context.Context) error {
	if a.chain == nil {
		return nil
	}
	t := time.NewTicker(a.opts.Poll)
	defer t.Stop()
	for {
		_ = a.Step(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-a.wake:
		}
	}
}

// Step does one round now: re-checks recent anchors (confirming, or
// re-sending one a reorg dropped), retries sends that are due, and closes an
// epoch if one is due. It returns the round's errors, also kept in Status.
func (a *Anchorer) Step(ctx context.Context) error { return a.step(ctx, false) }

// Flush is Step, closing an epoch now if the log grew since the last anchor,
// due or not (for the demo, and before a planned shutdown).
func (a *Anchorer) Flush(ctx context.Context) error { return a.step(ctx, true) }

func (a *Anchorer) step(ctx context.Context, force bool) error {
	if a.chain == nil {
		return errors.New(a.off)
	}
	a.stepMu.Lock()
	defer a.stepMu.Unlock()
	var errs []error
	if err := a.recheck(ctx); err != nil {
		errs = append(errs, err)
	}
	for _, p := range a.due() {
		if err := a.send(ctx, p); err != nil {
			errs = append(errs, err)
		}
	}
	if err := a.maybeClose(ctx, force); err != nil {
		errs = append(errs, err)
	}
	err := errors.Join(errs...)
	a.mu.Lock()
	if err != nil {
		a.lastErr, a.lastErrAt = err.Error(), a.opts.Now()
	} else {
		a.lastErr = ""
	}
	a.mu.Unlock()
	return err
}

// lastAnchored is the non-dropped anchor of the largest checkpoint: the one
// the next epoch's consistency proof starts from.
func (a *Anchorer) lastAnchored() *Anchor {
	var best *Anchor
	var size int64
	for _, x := range a.anchors {
		if x.State == StateDropped {
			continue
		}
		if cp, err := x.Checkpoint(); err == nil && cp.Size >= size {
			best, size = x, cp.Size
		}
	}
	return best
}

func (a *Anchorer) pendingLocked() int {
	n := 0
	for _, x := range a.anchors {
		if x.State == StatePending {
			n++
		}
	}
	return n
}

// due returns the pending anchors to send now: never sent, or failed and
// past their backoff.
func (a *Anchorer) due() []*Anchor {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.opts.Now()
	var out []*Anchor
	for _, x := range a.anchors {
		if x.State == StatePending && (x.Attempts == 0 || (x.Error != "" && !now.Before(x.Sent.Add(backoff(x.Attempts))))) {
			out = append(out, x)
		}
	}
	return out
}

// backoff is the wait after the n-th failed send.
func backoff(n int) time.Duration {
	d := minBackoff
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// maybeClose closes an epoch when one is due and nothing is pending.
func (a *Anchorer) maybeClose(ctx context.Context, force bool) error {
	size, root, err := a.src.Head()
	if err != nil {
		return fmt.Errorf("read log head: %w", err)
	}
	a.mu.Lock()
	a.head = size
	now := a.opts.Now()
	prev := a.lastAnchored()
	var prevSize int64
	var prevRoot merkle.Hash
	if prev != nil {
		cp, _ := prev.Checkpoint()
		prevSize, prevRoot = cp.Size, cp.Root
	}
	due := size > prevSize && (force || size-prevSize >= a.cfg.Every || !now.Before(a.lastClose.Add(time.Duration(a.cfg.Interval))))
	busy := a.pendingLocked() > 0
	a.mu.Unlock()
	if size < prevSize {
		return fmt.Errorf("%w: the log has %d entries, %d were anchored", ErrRewritten, size, prevSize)
	}
	if !due || busy {
		return nil
	}
	rec := &Anchor{PrevSize: prevSize, PrevRoot: prevRoot, State: StatePending, Updated: now}
	if prevSize > 0 {
		if got, err := a.src.RootAt(prevSize); err != nil {
			return fmt.Errorf("read root at anchored size %d: %w", prevSize, err)
		} else if got != prevRoot {
			return fmt.Errorf("%w: root at size %d is %s, anchored %s", ErrRewritten, prevSize, short(got), short(prevRoot))
		}
		proof, err := a.src.ConsistencyProof(prevSize, size)
		if err != nil {
			return fmt.Errorf("consistency proof %d..%d: %w", prevSize, size, err)
		}
		if err := merkle.VerifyConsistency(prevSize, size, prevRoot, root, proof); err != nil {
			return fmt.Errorf("%w: head size %d root %s does not extend anchored size %d: %w", ErrRewritten, size, short(root), prevSize, err)
		}
		rec.Consistency = proof
	}
	cp := &Checkpoint{Log: a.id, Size: size, Root: root, Time: now.UTC()}
	env, err := cp.Sign(a.key)
	if err != nil {
		return err
	}
	rec.Envelope, rec.cp = env, cp
	a.mu.Lock()
	a.anchors = append(a.anchors, rec)
	a.lastClose = now
	a.mu.Unlock()
	a.log.Info("epoch closed", "size", size, "root", short(root), "prev_size", prevSize)
	return a.send(ctx, rec)
}

// send sends rec's commitment (again), records the outcome durably, and
// waits up to the timeout for it to be mined.
func (a *Anchorer) send(ctx context.Context, rec *Anchor) error {
	cp, err := rec.Checkpoint()
	if err != nil {
		return err
	}
	// A tx sent earlier whose submission failed may have landed after all;
	// one the chain cannot be asked about now is not signed again yet.
	if !rec.Tx.IsZero() {
		tx, err := a.chain.Lookup(ctx, rec.Tx)
		if err == nil {
			a.mu.Lock()
			rec.Error = ""
			a.mu.Unlock()
			return a.observe(rec, tx)
		}
		if !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("look up anchor tx %s before sending again: %w", rec.Tx, err)
		}
	}
	chainID, err := a.chainIDOf(ctx)
	if p, ok := a.chain.(Preparer); ok && err == nil {
		var hash TxHash
		var submit func(context.Context) error
		if hash, submit, err = p.Prepare(ctx, CommitmentOf(cp).Encode()); err == nil {
			// Write ahead: the hash is on disk before the transaction can
			// land. A restart finds a record that was never submitted as
			// one with no attempts, which is due: send looks its hash up
			// first, and signs anew only when the chain does not know it.
			a.mu.Lock()
			rec.Tx, rec.ChainID = hash, chainID
			a.mu.Unlock()
			serr := a.save()
			err = submit(ctx)
			if serr != nil {
				a.log.Warn("anchor about to be sent not saved", "size", cp.Size, "err", serr)
			}
		}
	} else if err == nil {
		var hash TxHash
		hash, err = a.chain.Send(ctx, CommitmentOf(cp).Encode())
		a.mu.Lock()
		if !hash.IsZero() {
			rec.Tx = hash
		}
		a.mu.Unlock()
	}
	a.mu.Lock()
	now := a.opts.Now()
	rec.Attempts++
	rec.Sent, rec.Updated, rec.ChainID = now, now, chainID
	if err != nil {
		rec.Error = err.Error()
		rec.Note = fmt.Sprintf("send failed %d times; retrying at %s", rec.Attempts, now.Add(backoff(rec.Attempts)).Format(time.RFC3339))
	} else {
		rec.Error = ""
		rec.Note = ""
		if !rec.Replaces.IsZero() {
			rec.Note = fmt.Sprintf("re-sends %s, which was dropped", rec.Replaces)
		}
	}
	a.mu.Unlock()
	if serr := a.save(); serr != nil {
		err = errors.Join(err, serr)
	}
	if err != nil {
		a.log.Warn("anchor not sent; will retry", "size", cp.Size, "attempt", rec.Attempts, "retry_in", backoff(rec.Attempts), "err", err)
		return fmt.Errorf("send anchor of size %d: %w", cp.Size, err)
	}
	a.log.Info("anchor sent", "size", cp.Size, "tx", rec.Tx.String(), "chain_id", chainID)
	return a.await(ctx, rec)
}

// chainIDOf asks the chain its ID once.
func (a *Anchorer) chainIDOf(ctx context.Context) (uint64, error) {
	a.mu.Lock()
	id := a.chainID
	a.mu.Unlock()
	if id != 0 {
		return id, nil
	}
	id, err := a.chain.ChainID(ctx)
	if err != nil {
		return 0, fmt.Errorf("chain id: %w", err)
	}
	a.mu.Lock()
	a.chainID = id
	a.mu.Unlock()
	return id, nil
}

// await polls rec's transaction until it is confirmed or the timeout ends;
// one still pending then is left to the next recheck.
func (a *Anchorer) await(ctx context.Context, rec *Anchor) error {
	wait := time.Duration(a.cfg.Timeout)
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	poll := min(200*time.Millisecond, wait/10)
	for {
		tx, err := a.chain.Lookup(ctx, rec.Tx)
		if err == nil {
			if err := a.observe(rec, tx); err != nil || rec.State != StatePending {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil // still pending: recheck takes over
		case <-time.After(poll):
			poll = min(2*poll, 2*time.Second)
		}
	}
}

// recheck looks up every pending anchor that was sent and, every
// recheckEvery, every confirmed one not yet final.
func (a *Anchorer) recheck(ctx context.Context) error {
	a.mu.Lock()
	now := a.opts.Now()
	confirmedToo := !now.Before(a.rechecked.Add(recheckEvery))
	if confirmedToo {
		a.rechecked = now
	}
	var live []*Anchor
	for _, x := range a.anchors {
		// A pending record with no attempts was saved before it was
		// submitted (see send): due sends it, looking its hash up first.
		if !x.Tx.IsZero() && (x.State == StatePending && x.Error == "" && x.Attempts > 0 || confirmedToo && x.State == StateConfirmed && x.Confirmations < finalDepth) {
			live = append(live, x)
		}
	}
	a.mu.Unlock()
	var errs []error
	for _, x := range live {
		tx, err := a.chain.Lookup(ctx, x.Tx)
		switch {
		case errors.Is(err, ErrNotFound):
			err = a.notFound(x)
		case err == nil:
			err = a.observe(x, tx)
		default:
			err = fmt.Errorf("check anchor tx %s: %w", x.Tx, err)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// observe updates rec from what the chain holds for its transaction, saves
// it when it changed, and announces it when it just became confirmed.
func (a *Anchorer) observe(rec *Anchor, tx Tx) error {
	a.mu.Lock()
	before := *rec
	if tx.Pending {
		if rec.Block != 0 {
			rec.Note = fmt.Sprintf("back in the pool: a reorg removed block %d", rec.Block)
		}
		rec.State, rec.Block, rec.BlockHash, rec.Confirmations = StatePending, 0, TxHash{}, 0
	} else {
		if rec.Block != 0 && rec.BlockHash != tx.BlockHash {
			rec.Note = fmt.Sprintf("moved by a reorg from block %d (%s) to block %d (%s)", rec.Block, rec.BlockHash, tx.Block, tx.BlockHash)
		}
		rec.From, rec.Block, rec.BlockHash, rec.GasUsed, rec.Confirmations = tx.From, tx.Block, tx.BlockHash, tx.GasUsed, tx.Confirmations
		if tx.Confirmations >= a.cfg.Confirmations && rec.State == StatePending {
			rec.State = StateConfirmed
		}
	}
	changed := before.State != rec.State || before.BlockHash != rec.BlockHash || before.Confirmations != rec.Confirmations || before.Note != rec.Note
	confirmed := before.State != StateConfirmed && rec.State == StateConfirmed
	if changed {
		rec.Updated = a.opts.Now()
	}
	failed := tx.Failed
	snap := *rec
	a.mu.Unlock()
	if failed {
		return a.drop(rec, fmt.Sprintf("reverted in block %d", tx.Block))
	}
	if changed {
		if err := a.save(); err != nil {
			return err
		}
	}
	if confirmed {
		cp, _ := snap.Checkpoint()
		a.log.Info("anchor confirmed", "size", cp.Size, "tx", snap.Tx.String(), "block", snap.Block, "gas_used", snap.GasUsed)
		if a.opts.OnAnchored != nil {
			a.opts.OnAnchored(snap)
		}
	}
	return nil
}

// notFound handles a sent transaction the chain does not know: one that was
// mined before, or was sent longer than the timeout ago, was dropped.
func (a *Anchorer) notFound(rec *Anchor) error {
	a.mu.Lock()
	wasMined := rec.Block != 0
	block := rec.Block
	lost := wasMined || a.opts.Now().Sub(rec.Sent) > time.Duration(a.cfg.Timeout)
	a.mu.Unlock()
	if !lost {
		return nil
	}
	why := "never landed: not in the pool or any block"
	if wasMined {
		why = fmt.Sprintf("dropped by a reorg: block %d no longer holds it", block)
	}
	return a.drop(rec, why)
}

// drop marks rec dropped and appends a pending anchor that re-sends its
// checkpoint; the same Step sends it.
func (a *Anchorer) drop(rec *Anchor, why string) error {
	a.mu.Lock()
	now := a.opts.Now()
	re := &Anchor{
		Envelope: rec.Envelope, cp: rec.cp, PrevSize: rec.PrevSize, PrevRoot: rec.PrevRoot,
		Consistency: rec.Consistency, State: StatePending, Replaces: rec.Tx, Updated: now,
	}
	rec.State, rec.Updated, rec.Confirmations = StateDropped, now, 0
	rec.Note = why + "; re-sent"
	a.anchors = append(a.anchors, re)
	a.mu.Unlock()
	a.log.Warn("anchor dropped; re-sending", "tx", rec.Tx.String(), "why", why)
	return a.save()
}

// save writes the history to anchors.json.
func (a *Anchorer) save() error {
	a.mu.Lock()
	anchors := make([]*Anchor, len(a.anchors))
	for i, x := range a.anchors {
		c := *x
		anchors[i] = &c
	}
	a.mu.Unlock()
	return saveAnchors(a.opts.Dir, anchors)
}

// Anchors returns a copy of the history, oldest first.
func (a *Anchorer) Anchors() []Anchor {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Anchor, len(a.anchors))
	for i, x := range a.anchors {
		out[i] = *x
	}
	return out
}
