package market

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gpu/proof"
)

// The policies of market.verify_class: which claimed device classes a
// requester checks with a proof-of-compute challenge before an award.
const (
	// VerifyCPU checks CPU classes only (every node answers version 1
	// challenges with its CPU prover) and takes GPU classes on the
	// provider's word.
	VerifyCPU = "cpu"
	// VerifyAll checks every class: CPU classes with version 1, GPU classes
	// with version 2 through the provider's proof helper. A GPU class whose
	// provider runs no helper is unverified and not awarded (no penalty:
	// it could not be checked, not failed).
	VerifyAll = "all"
	// VerifyOff checks no class.
	VerifyOff = "off"
)

// ErrUnverifiable is wrapped by Deps.Challenge's error when the provider
// does not answer challenges for the class (a GPU class without a proof
// helper): the claim cannot be checked.
var ErrUnverifiable = errors.New("class unverified")

// classChecks remembers, per provider and class, when a challenge last
// passed, and runs at most one challenge per provider and class at a time:
// concurrent jobs share its verdict (a provider limits how often one peer
// may challenge it, so a second challenge would fail an honest provider).
type classChecks struct {
	mu       sync.Mutex
	passed   map[classKey]time.Time
	inflight map[classKey]*classCheck
}

type classKey struct {
	peer  peer.ID
	class string
}

// classCheck is one challenge under way; done closes when v and err are set.
type classCheck struct {
	done chan struct{}
	v    proof.Verdict
	err  error
}

// mustVerify reports whether class is checked under market.verify_class.
func (r *requester) mustVerify(class string) bool {
	if r.d.Challenge == nil {
		return false
	}
	switch r.cfg.VerifyClass {
	case VerifyAll:
		return true
	case VerifyCPU:
		return proof.PerCoreClass(class)
	}
	return false
}

// verifyClass checks that p delivers class by a proof-of-compute challenge,
// unless one passed within market.verify_ttl; it returns nil when p may be
// awarded and otherwise why not. A verdict other than pass counts against
// p's reputation (Deps.Challenge records it); a challenge that could not be
// put at all (no stream) only keeps p out of this award.
func (r *requester) verifyClass(ctx context.Context, p peer.ID, class string) (why *exclusion, challenged bool, v proof.Verdict) {
	if !r.mustVerify(class) {
		return nil, false, v
	}
	k := classKey{p, class}
	c := &r.checks
	c.mu.Lock()
	if at, ok := c.passed[k]; ok && time.Since(at) < time.Duration(r.cfg.VerifyTTL) {
		c.mu.Unlock()
		return nil, false, v
	}
	call, running := c.inflight[k]
	if !running {
		call = &classCheck{done: make(chan struct{})}
		if c.inflight == nil {
			c.inflight = map[classKey]*classCheck{}
			c.passed = map[classKey]time.Time{}
		}
		c.inflight[k] = call
	}
	c.mu.Unlock()
	if !running {
		call.v, call.err = r.d.Challenge(ctx, p, class)
		c.mu.Lock()
		delete(c.inflight, k)
		if call.err == nil && call.v.Result == proof.Pass {
			c.passed[k] = time.Now()
		}
		c.mu.Unlock()
		close(call.done)
	}
	select {
	case <-call.done:
	case <-ctx.Done():
		return &exclusion{code: reasonChallengeStopped, class: class}, true, v
	}
	switch {
	case errors.Is(call.err, ErrUnverifiable):
		return &exclusion{code: reasonUnchallenged, class: class, detail: call.err.Error()}, false, v
	case call.err != nil:
		return &exclusion{code: reasonUnchallenged, class: class, detail: call.err.Error()}, true, v
	case call.v.Result != proof.Pass:
		return &exclusion{code: reasonChallengeFailed, class: class, detail: fmt.Sprintf("%s (%s)", call.v.Result, call.v.Detail)}, true, call.v
	}
	return nil, true, call.v
}

// verifyMembers challenges, in parallel, each member of cluster that does
// not yet hold an accepted award and claims a class market.verify_class
// checks; those that fail are excluded with the reason. It returns how
// many failed.
func (d *driver) verifyMembers(ctx context.Context, cluster []*member, st *rounds) int {
	var wg sync.WaitGroup
	var mu sync.Mutex // guards st.excluded and failed
	failed := 0
	for _, mb := range cluster {
		if st.held[mb.bid] == mb || !d.mustVerify(mb.class) {
			continue
		}
		wg.Go(func() {
			why, challenged, v := d.verifyClass(ctx, mb.peer, mb.class)
			switch {
			case why != nil:
				kind := "challenge_failed"
				if !challenged {
					kind = "unverified"
				}
				d.j.note(kind, mb.peer, "%s %s; choosing again without it", short(mb.peer), why)
				mu.Lock()
				st.excluded[mb.bid] = why
				failed++
				mu.Unlock()
			case challenged:
				d.j.note("verified", mb.peer, "%s", verifiedText(mb.peer, mb.class, v))
			}
		})
	}
	wg.Wait()
	return failed
}

// verifiedText says that p passed its challenge for class.
func verifiedText(p peer.ID, class string, v proof.Verdict) string {
	return fmt.Sprintf("%s passed a proof-of-compute for %s: %.1f GFLOP/s in %s", short(p), class, v.Throughput/1e9, v.Elapsed.Round(time.Millisecond))
}
