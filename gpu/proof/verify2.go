package proof

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// OpenRequest2 is the verifier's choice of products to open, made only
// after the commitment arrived (PickProducts).
type OpenRequest2 struct {
	// Challenge is the ID of the challenge.
	Challenge ID
	// Products are the product indexes to open: 1 to s of them, in
	// [0, K), strictly increasing.
	Products []int
}

// Validate returns every problem with r as a request for ch, joined.
func (r OpenRequest2) Validate(ch Challenge2) error {
	return checkPicks(r.Challenge, ch.ID(), r.Products, ch.Samples, ch.Products, "product")
}

// PickProducts draws the products to open for a commitment to ch: s
// indexes independently and uniformly in [0, K), sorted, duplicates
// dropped, so a prover with a fraction f of its products wrong escapes
// with probability exactly (1-f)^s.
func PickProducts(rnd io.Reader, ch Challenge2, c Commitment2) (OpenRequest2, error) {
	if err := ch.Validate(widest2); err != nil {
		return OpenRequest2{}, fmt.Errorf("pick products: %w", err)
	}
	if err := c.Validate(ch); err != nil {
		return OpenRequest2{}, fmt.Errorf("pick products: %w", err)
	}
	products, err := drawPicks(rnd, ch.Samples, ch.Products)
	if err != nil {
		return OpenRequest2{}, fmt.Errorf("pick products: %w", err)
	}
	return OpenRequest2{Challenge: ch.ID(), Products: products}, nil
}

// Opening2 is one product's row digests with their inclusion proof.
type Opening2 struct {
	// Index is the product's index j.
	Index int
	// Digests are its n row digests.
	Digests []float32
	// Proof is the RFC 6962 inclusion proof of the leaf under the root.
	Proof tlog.RecordProof
}

// Openings2 is the prover's answer to an OpenRequest2.
type Openings2 struct {
	// Challenge is the ID of the challenge.
	Challenge ID
	// Products are the opened products, in the order requested.
	Products []Opening2
}

// Validate returns every problem with o as openings for ch, joined.
func (o Openings2) Validate(ch Challenge2) error {
	return checkOpenings(o.Challenge, ch.ID(), productLeavesOf(o.Products), ch.Samples, ch.Products, ch.N, productWords)
}

// productWords names version 2's opened leaves, products' digest rows.
var productWords = leafWords{
	leaf: "product", values: "digests", count: "digest count", raw: "digests",
	wrongCount: func(k, _ int, got uint64, n int) error {
		return fmt.Errorf("%w: opening %d: %d digests, want n = %d", ErrMalformed, k, got, n)
	},
}

// productLeavesOf returns version 2's opened products as leaves.
func productLeavesOf(products []Opening2) []leaf {
	leaves := make([]leaf, len(products))
	for k, p := range products {
		leaves[k] = leaf{index: p.Index, values: p.Digests, proof: p.Proof}
	}
	return leaves
}

// Exchange2 is everything the verifier saw of one version 2 challenge.
type Exchange2 struct {
	// Challenge is the challenge sent.
	Challenge Challenge2
	// Commitment is the prover's; nil if it never came.
	Commitment *Commitment2
	// Request is what the verifier asked to open.
	Request OpenRequest2
	// Openings are the prover's; nil if they never came.
	Openings *Openings2
	// Observed is the verifier's measure from sending the challenge to
	// receiving the commitment; RTT is subtracted from it.
	Observed, RTT time.Duration
	// Expected is the claimed class's FLOP/s; 0 means no speed check.
	Expected float64
	// Tolerance is the fraction of Expected required; 0 means DefaultTolerance2.
	Tolerance float64
	// Rows is r, the rows of each opened product recomputed; 0 means
	// DefaultCheckRows2.
	Rows int
	// Rand draws the rows to check, after the openings arrived; required
	// (crypto/rand in production, a seeded source in tests).
	Rand io.Reader
}

// Failed2 is Failed for a version 2 challenge.
func Failed2(ch Challenge2, err error) Verdict {
	v := Failed(Challenge{}, err)
	v.Challenge = ch.ID()
	return v
}

// Verify2 judges a version 2 exchange: the opened products must be those
// requested, each must match the root, r rows of each, drawn now, must
// have digests within Tolerance2 of the verifier's recomputation, the
// commitment must come within the deadline, and 2 K n^3 / elapsed must
// reach Tolerance x Expected. The first failure decides. Its work is
// s (n^2 + r n + r n^2) multiply-adds or generated elements (Cost2).
func Verify2(x Exchange2) (Verdict, error) {
	ch := x.Challenge
	if err := ch.Validate(widest2); err != nil {
		return Verdict{}, fmt.Errorf("verify: %w", err)
	}
	if math.IsNaN(x.Expected) || math.IsInf(x.Expected, 0) || x.Expected < 0 || !(x.Tolerance >= 0 && x.Tolerance <= 1) || x.Observed < 0 || x.RTT < 0 || x.Rows < 0 || x.Rows > ch.N || x.Rand == nil {
		return Verdict{}, fmt.Errorf("verify: %w: expected %v, tolerance %v, observed %s, rtt %s, rows %d", ErrInvalid, x.Expected, x.Tolerance, x.Observed, x.RTT, x.Rows)
	}
	tolerance := x.Tolerance
	if tolerance == 0 {
		tolerance = DefaultTolerance2
	}
	rows := x.Rows
	if rows == 0 {
		rows = min(DefaultCheckRows2, ch.N)
	}
	v, done, sp, err := judged2Of(x).judge()
	if err != nil {
		return Verdict{}, fmt.Errorf("verify: %w", err)
	}
	if done {
		return v, nil
	}
	products := x.Openings.Products
	picked := make([][]int, len(products))
	for k := range picked {
		picked[k] = make([]int, rows)
		for q := range picked[k] {
			i, err := uniform(x.Rand, ch.N)
			if err != nil {
				return Verdict{}, fmt.Errorf("verify: %w", err)
			}
			picked[k][q] = i
		}
	}
	if detail := checkProducts(ch, products, picked); detail != "" {
		return sp.stamp(verdictFor(ch.ID(), WrongRows, detail)), nil
	}
	v = sp.stamp(verdictFor(ch.ID(), Pass, fmt.Sprintf("%d products x %d rows right; %.3g FLOP/s", len(products), rows, sp.throughput())))
	return speedCheck(v, x.Expected, tolerance), nil
}

// judged2Of reduces x to the steps Verify2 shares with Verify.
func judged2Of(x Exchange2) judged {
	ch := x.Challenge
	j := judged{id: ch.ID(), flops: ch.Flops(), deadline: ch.Deadline, measured: x.Observed - x.RTT, noun: "product", size: ch.Products, requested: x.Request.Products}
	if cm := x.Commitment; cm != nil {
		j.committed, j.commitErr, j.claimed, j.root = true, cm.Validate(ch), cm.Elapsed, cm.Root
	}
	if op := x.Openings; op != nil {
		j.requestErr = x.Request.Validate(ch)
		j.opened, j.openErr = true, op.Validate(ch)
		j.leaves = productLeavesOf(op.Products)
	}
	return j
}

// checkProducts checks every opened product, picked[k] the rows of
// products[k], on up to GOMAXPROCS goroutines (all returned when it
// returns); it returns the first problem in product order, or "".
func checkProducts(ch Challenge2, products []Opening2, picked [][]int) string {
	details := make([]string, len(products))
	var next atomic.Int64
	parallel(min(runtime.GOMAXPROCS(0), len(products)), func() {
		for k := int(next.Add(1) - 1); k < len(products); k = int(next.Add(1) - 1) {
			details[k] = checkProduct(ch, products[k], picked[k])
		}
	})
	for _, d := range details {
		if d != "" {
			return d
		}
	}
	return ""
}

// checkProduct recomputes the picked rows of product p in float64 and
// compares their digests; "" if right, else what is wrong.
func checkProduct(ch Challenge2, p Opening2, picked []int) string {
	n, rows := ch.N, len(picked)
	g := newGen2(ch.Seed, n, ch.Type)
	x, y := Pair(p.Index, ch.Pool)
	a := make([][]float32, rows)
	for k, i := range picked {
		a[k] = make([]float32, n)
		g.row(x, i, a[k])
	}
	c := make([][]float64, rows)
	for k := range c {
		c[k] = make([]float64, n)
	}
	bk := make([]float32, n)
	for kk := range n {
		g.row(ch.Pool+y, kk, bk)
		for k := range rows {
			addRow64(c[k], float64(a[k][kk]), bk)
		}
	}
	for k, i := range picked {
		d, norm := 0.0, 0.0
		for _, v := range c[k] {
			d += math.Abs(v)
			norm += v * v
		}
		got := float64(p.Digests[i])
		bound := ch.Type.Tolerance2() * math.Sqrt(norm)
		if diff := math.Abs(got - d); !(diff <= bound) {
			return fmt.Sprintf("product %d, row %d: digest %v, want %.6g within %.3g", p.Index, i, got, d, bound)
		}
	}
	return ""
}
