package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/merkle"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// benchLedger is B6: receipts signed with real Ed25519 libp2p keys (the
// provider signs, the requester countersigns, on all cores:
// sign_both_per_s) are appended by concurrent writers, one receipt per
// call, to a real Log in a temp dir with fsync on every group commit. The
// headline, receipts_per_s, is the target's "durable signed receipts": all
// of them through Append, which verifies both signatures of each receipt
// on the writers' cores before the committer writes it. Beside it, on a
// second log: the same receipts verified beforehand on all cores
// (verify_both_per_s) and appended with AppendVerified
// (unverified_receipts_per_s, the durable write rate alone). Signing is
// timed apart: on 2 cores it caps an end-to-end sign, verify and append
// rate. Then a Merkle tree over treeSize receipt-sized leaves is built in
// memory, and inclusion proofs are made from the first log and verified.
// Every log is closed before its dir is removed.
func benchLedger(receipts, writers, treeSize int) Result {
	res := Result{ID: "B6", Name: "ledger: durable signed receipts, Merkle tree, inclusion proofs", Unit: "see names",
		Params: map[string]any{"receipts": receipts, "writers": writers, "tree_leaves": treeSize, "cores": runtime.GOMAXPROCS(0), "sync": "fsync per group commit",
			"measures": "receipts_per_s (headline): durable Append of receipts signed with real keys, both signatures verified on the way in, one per call from concurrent writers; unverified_receipts_per_s: the same receipts verified beforehand and appended with AppendVerified, which does not verify; sign_both_per_s and verify_both_per_s: signing and verifying alone, on all cores"},
		Target: ">= 40,000 verified, durable signed receipts/s on 2 cores; proof verify <= 50 us", Figures: map[string]float64{}}
	fail := func(err error) Result { res.Skipped = err.Error(); return res }
	tb := &benchTB{}
	defer tb.close() // closes every log, then removes the dirs
	prov, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return fail(err)
	}
	reqk, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	pid, _ := peer.IDFromPrivateKey(prov)
	rid, _ := peer.IDFromPrivateKey(reqk)

	// Sign on all cores.
	signed := make([]ledger.Signed, receipts)
	start := time.Now()
	var wg sync.WaitGroup
	var signErr error
	var mu sync.Mutex
	cores := runtime.GOMAXPROCS(0)
	for w := 0; w < cores; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < receipts; i += cores {
				s, err := signReceipt(prov, reqk, pid, rid, i)
				if err != nil {
					mu.Lock()
					signErr = err
					mu.Unlock()
					return
				}
				signed[i] = s
			}
		}()
	}
	wg.Wait()
	if signErr != nil {
		return fail(signErr)
	}
	res.Figures["sign_both_per_s"] = float64(receipts) / time.Since(start).Seconds()

	// The headline: Append verifies both signatures of every receipt.
	elapsed, l, err := appendAll(tb, pid, writers, receipts, func(l *ledger.Log, i int) error {
		_, err := l.Append(context.Background(), signed[i])
		return err
	})
	if err != nil {
		return fail(err)
	}
	res.Figures["receipts_per_s"] = float64(receipts) / elapsed.Seconds()

	// Beside it: verify once on all cores, then append durably without
	// verifying again.
	verified := make([]ledger.Verified, receipts)
	var verifyErr error
	start = time.Now()
	for w := 0; w < cores; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < receipts; i += cores {
				v, err := ledger.Prepare(signed[i])
				if err != nil {
					mu.Lock()
					verifyErr = err
					mu.Unlock()
					return
				}
				verified[i] = v
			}
		}()
	}
	wg.Wait()
	if verifyErr != nil {
		return fail(fmt.Errorf("verify: %w", verifyErr))
	}
	res.Figures["verify_both_per_s"] = float64(receipts) / time.Since(start).Seconds()
	elapsed, unverified, err := appendAll(tb, pid, writers, receipts, func(l *ledger.Log, i int) error {
		_, err := l.AppendVerified(context.Background(), verified[i])
		return err
	})
	if err != nil {
		return fail(err)
	}
	if err := unverified.Close(); err != nil {
		return fail(err)
	}
	res.Figures["unverified_receipts_per_s"] = float64(receipts) / elapsed.Seconds()

	// Inclusion proofs from the Badger log, verified against its root.
	size, root, err := l.Head()
	if err != nil {
		return fail(err)
	}
	var makeUS, verifyUS []float64
	const proofs = 2000
	var proofLen int
	for k := 0; k < proofs; k++ {
		i := int64(k) * size / proofs
		e, err := l.Get(i)
		if err != nil {
			return fail(err)
		}
		t := time.Now()
		p, err := l.InclusionProof(i, size)
		makeUS = append(makeUS, float64(time.Since(t))/1e3)
		if err != nil {
			return fail(err)
		}
		t = time.Now()
		err = merkle.VerifyInclusion(e.Hash, i, size, p, root)
		verifyUS = append(verifyUS, float64(time.Since(t))/1e3)
		if err != nil {
			return fail(fmt.Errorf("proof of %d does not verify: %w", i, err))
		}
		proofLen = max(proofLen, len(p))
	}
	res.Figures["log_proof_make_p50_us"] = quantile(makeUS, 0.5)
	res.Figures["log_proof_verify_p50_us"] = quantile(verifyUS, 0.5)

	// A tree over treeSize receipt-sized leaves, in memory.
	leaf, _ := signed[0].Marshal()
	var m merkle.MemStore
	start = time.Now()
	for i := 0; i < treeSize; i++ {
		binary.BigEndian.PutUint64(leaf, uint64(i))
		if _, err := m.Append(leaf); err != nil {
			return fail(err)
		}
	}
	bigRoot, err := merkle.Root(int64(treeSize), &m)
	if err != nil {
		return fail(err)
	}
	res.Figures["tree_build_s"] = time.Since(start).Seconds()
	verifyUS = verifyUS[:0]
	for k := 0; k < proofs; k++ {
		i := int64(k) * int64(treeSize) / proofs
		p, err := merkle.InclusionProof(i, int64(treeSize), &m)
		if err != nil {
			return fail(err)
		}
		binary.BigEndian.PutUint64(leaf, uint64(i))
		h := merkle.LeafHash(leaf)
		t := time.Now()
		err = merkle.VerifyInclusion(h, i, int64(treeSize), p, bigRoot)
		verifyUS = append(verifyUS, float64(time.Since(t))/1e3)
		if err != nil {
			return fail(fmt.Errorf("proof of %d in the big tree does not verify: %w", i, err))
		}
		proofLen = max(proofLen, len(p))
	}
	res.Figures["proof_hashes"] = float64(merkle.InclusionProofSize(int64(treeSize)/2, int64(treeSize)))
	res.Figures["proof_bytes"] = res.Figures["proof_hashes"] * merkle.HashSize
	res.Figures["proof_verify_p50_us"] = quantile(verifyUS, 0.5)
	res.Figures["proof_verify_p99_us"] = quantile(verifyUS, 0.99)
	met := res.Figures["receipts_per_s"] >= 40_000 && res.Figures["proof_verify_p50_us"] <= 50
	res.Verdict = map[bool]string{true: "met", false: "missed"}[met]
	return res
}

// signReceipt makes receipt i: ten minutes on two GPUs, provider-signed
// and requester-countersigned.
func signReceipt(prov, req crypto.PrivKey, pid, rid peer.ID, i int) (ledger.Signed, error) {
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	digest := sha256.Sum256([]byte(fmt.Sprint(i)))
	r := ledger.Receipt{Job: fmt.Sprintf("bench-job-%d", i), Provider: pid.String(), Requester: rid.String(),
		Devices: 2, Class: "A100-80GB", Executor: "docker", Start: start, End: start.Add(10 * time.Minute),
		Issued: start.Add(10 * time.Minute), UnitPrice: 2_500_000, ResultDigest: hex.EncodeToString(digest[:]),
		Status: ledger.StatusSucceeded, Seq: 1}
	r.Finalize()
	s, err := ledger.Sign(prov, r)
	if err != nil {
		return s, err
	}
	return ledger.Countersign(req, s)
}

// b6DirPrefix names B6's temp dirs.
const b6DirPrefix = "gpumesh-b6-"

// appendAll opens a fresh log in a temp dir of tb and appends receipts
// 0..n-1 from writers goroutines; it returns the time taken and the open
// log, which tb closes before it removes the dir (closing it earlier is
// fine: a second Close only says ErrClosed).
func appendAll(tb *benchTB, self peer.ID, writers, n int, add func(*ledger.Log, int) error) (time.Duration, *ledger.Log, error) {
	dir, err := os.MkdirTemp("", b6DirPrefix)
	if err != nil {
		return 0, nil, err
	}
	tb.dirs = append(tb.dirs, dir)
	l, err := ledger.Open(dir, ledger.Options{Self: self})
	if err != nil {
		return 0, nil, err
	}
	tb.Cleanup(func() { _ = l.Close() })
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += writers {
				if err := add(l, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return 0, nil, fmt.Errorf("append: %w", err)
	}
	if l.Size() != int64(n) {
		return 0, nil, fmt.Errorf("log holds %d receipts, want %d", l.Size(), n)
	}
	return elapsed, l, nil
}
