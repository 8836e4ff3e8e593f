package protocoltest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/gpu/proof"
)

// This file checks the byte layouts of challenge-1.md: messages built and
// marshalled by gpu/proof are read back by wireReader, a decoder written
// from the page alone (it imports nothing of gpu/proof), and the page's
// byte examples decode with both.

// wireReader reads a message front to back as challenge-1.md lays it out;
// the first problem sticks.
type wireReader struct {
	b   []byte
	err error
}

func (r *wireReader) take(k int, what string) []byte {
	if r.err != nil {
		return make([]byte, max(k, 0))
	}
	if k < 0 || k > len(r.b) {
		r.err = fmt.Errorf("truncated %s: need %d bytes, %d left", what, k, len(r.b))
		return make([]byte, max(k, 0))
	}
	out := r.b[:k]
	r.b = r.b[k:]
	return out
}

func (r *wireReader) u8(what string) byte    { return r.take(1, what)[0] }
func (r *wireReader) u16(what string) uint16 { return binary.LittleEndian.Uint16(r.take(2, what)) }
func (r *wireReader) u32(what string) uint32 { return binary.LittleEndian.Uint32(r.take(4, what)) }
func (r *wireReader) u64(what string) uint64 { return binary.LittleEndian.Uint64(r.take(8, what)) }
func (r *wireReader) h32(what string) (h [32]byte) {
	copy(h[:], r.take(32, what))
	return h
}

// header reads the kind and wire version bytes and checks them.
func (r *wireReader) header(kind, version byte) {
	k, v := r.u8("kind"), r.u8("wire version")
	if r.err == nil && (k != kind || v != version) {
		r.err = fmt.Errorf("header %q %d, want %q %d", k, v, kind, version)
	}
}

// done is the first problem, or one for trailing bytes.
func (r *wireReader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d trailing bytes", len(r.b))
	}
	return r.err
}

type docChallenge struct {
	Version  byte
	Seed     [32]byte
	Nonce    [16]byte
	N        uint32
	Type     byte
	Rows     uint32
	Deadline uint64
	ID       [32]byte // SHA-256 of the ID domain and the body, as the page says
}

func readChallenge(b []byte) (docChallenge, error) {
	r := wireReader{b: b}
	r.header('C', 1)
	var c docChallenge
	c.Version = r.u8("challenge version")
	c.Seed = r.h32("seed")
	copy(c.Nonce[:], r.take(16, "nonce"))
	c.N = r.u32("n")
	c.Type = r.u8("number type")
	c.Rows = r.u32("rows")
	c.Deadline = r.u64("deadline")
	if err := r.done(); err != nil {
		return c, err
	}
	if len(b) != 68 {
		return c, fmt.Errorf("challenge of %d bytes, the page says 68", len(b))
	}
	c.ID = sha256.Sum256(append([]byte("gpumesh-proof-challenge-id\x00"), b[2:]...))
	return c, nil
}

type docCommitment struct {
	ID      [32]byte
	N       uint32
	Root    [32]byte
	Elapsed uint64
}

func readCommitment(b []byte) (docCommitment, error) {
	r := wireReader{b: b}
	r.header('M', 1)
	c := docCommitment{ID: r.h32("challenge id"), N: r.u32("n"), Root: r.h32("root"), Elapsed: r.u64("elapsed")}
	return c, r.done()
}

type docOpenRequest struct {
	ID   [32]byte
	Rows []uint32
}

func readOpenRequest(b []byte) (docOpenRequest, error) {
	r := wireReader{b: b}
	r.header('R', 1)
	q := docOpenRequest{ID: r.h32("challenge id")}
	count := r.u32("count")
	if r.err == nil && uint64(count)*4 != uint64(len(r.b)) {
		return q, fmt.Errorf("count %d, %d bytes of rows", count, len(r.b))
	}
	for range count {
		q.Rows = append(q.Rows, r.u32("row"))
	}
	return q, r.done()
}

type docOpening struct {
	Index  uint32
	Values []float32
	Proof  [][32]byte
}

type docOpenings struct {
	ID   [32]byte
	Rows []docOpening
}

func readOpenings(b []byte, n uint32) (docOpenings, error) {
	r := wireReader{b: b}
	r.header('O', 1)
	o := docOpenings{ID: r.h32("challenge id")}
	count := r.u32("count")
	for k := uint32(0); r.err == nil && k < count; k++ {
		var op docOpening
		op.Index = r.u32("index")
		if vc := r.u32("value count"); r.err == nil && vc != n {
			return o, fmt.Errorf("opening %d: %d values, want n = %d", k, vc, n)
		}
		for range n {
			op.Values = append(op.Values, math.Float32frombits(r.u32("value")))
		}
		pl := r.u8("proof length")
		for range pl {
			op.Proof = append(op.Proof, r.h32("proof hash"))
		}
		o.Rows = append(o.Rows, op)
	}
	return o, r.done()
}

type docVerdict struct {
	ID         [32]byte
	Result     byte
	Throughput float64
	Elapsed    uint64
	Detail     string
}

func readVerdict(b []byte) (docVerdict, error) {
	r := wireReader{b: b}
	r.header('V', 1)
	v := docVerdict{ID: r.h32("challenge id"), Result: r.u8("result")}
	v.Throughput = math.Float64frombits(r.u64("throughput"))
	v.Elapsed = r.u64("elapsed")
	v.Detail = string(r.take(int(r.u16("detail length")), "detail"))
	return v, r.done()
}

// rfc6962Leaf is the leaf hash of a row: SHA-256(0x00 || values as fp32 LE).
func rfc6962Leaf(values []float32) [32]byte {
	b := []byte{0}
	for _, v := range values {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return sha256.Sum256(b)
}

// rfc6962Verify checks an inclusion path (deepest sibling first) of leaf
// index in a tree of size leaves against root: RFC 9162, 2.1.3.2.
func rfc6962Verify(index, size uint64, leaf [32]byte, path [][32]byte, root [32]byte) bool {
	if index >= size {
		return false
	}
	node := func(l, r [32]byte) [32]byte { return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...)) }
	fn, sn, h := index, size-1, leaf
	for _, p := range path {
		if sn == 0 {
			return false
		}
		if fn&1 == 1 || fn == sn {
			h = node(p, h)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			h = node(h, p)
		}
		fn >>= 1
		sn >>= 1
	}
	return sn == 0 && h == root
}

// challengeExchange is one exchange as gpu/proof builds it.
type challengeExchange struct {
	ch      proof.Challenge
	cm      proof.Commitment
	req     proof.OpenRequest
	op      proof.Openings
	verdict proof.Verdict
}

// buildExchange plays a challenge with gpu/proof's CPU prover, from seed
// and nonce read off rnd; the commitment's elapsed time is set to elapsed
// so that the bytes are reproducible.
func buildExchange(t *testing.T, rnd *bytes.Reader, n, rows int, elapsed time.Duration) challengeExchange {
	t.Helper()
	var x challengeExchange
	var err error
	if x.ch, err = proof.NewChallenge(rnd, n, proof.Int8FP32, rows, time.Second); err != nil {
		t.Fatal(err)
	}
	work, err := proof.CPUProver{Workers: 1}.Prove(context.Background(), x.ch)
	if err != nil {
		t.Fatal(err)
	}
	x.cm = work.Commitment()
	x.cm.Elapsed = elapsed
	x.req = proof.OpenRequest{Challenge: x.ch.ID()}
	for i := range rows {
		x.req.Rows = append(x.req.Rows, i*n/rows)
	}
	if x.op, err = work.Open(x.req); err != nil {
		t.Fatal(err)
	}
	x.verdict = proof.Verdict{Challenge: x.ch.ID(), Result: proof.Pass, Throughput: x.ch.Flops() / elapsed.Seconds(), Elapsed: elapsed, Detail: "ok"}
	return x
}

func mustMarshal(t *testing.T, m interface{ Marshal() ([]byte, error) }) []byte {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkExchange decodes each message of x, marshalled by Go, with the
// page's decoder and compares every field.
func checkExchange(t *testing.T, x challengeExchange) {
	t.Helper()
	c, err := readChallenge(mustMarshal(t, x.ch))
	if err != nil {
		t.Fatalf("challenge: %v", err)
	}
	if c.Version != x.ch.Version || c.Seed != x.ch.Seed || c.Nonce != x.ch.Nonce || int(c.N) != x.ch.N || c.Type != 1 ||
		int(c.Rows) != x.ch.Rows || time.Duration(c.Deadline) != x.ch.Deadline || c.ID != x.ch.ID() {
		t.Errorf("challenge read as %+v from %+v", c, x.ch)
	}
	cm, err := readCommitment(mustMarshal(t, x.cm))
	if err != nil {
		t.Fatalf("commitment: %v", err)
	}
	if cm.ID != c.ID || int(cm.N) != x.ch.N || cm.Root != [32]byte(x.cm.Root) || time.Duration(cm.Elapsed) != x.cm.Elapsed {
		t.Errorf("commitment read as %+v from %+v", cm, x.cm)
	}
	req, err := readOpenRequest(mustMarshal(t, x.req))
	if err != nil {
		t.Fatalf("open request: %v", err)
	}
	if req.ID != c.ID || fmt.Sprint(req.Rows) != fmt.Sprint(x.req.Rows) {
		t.Errorf("open request read as %+v from %+v", req, x.req)
	}
	op, err := readOpenings(mustMarshal(t, x.op), c.N)
	if err != nil {
		t.Fatalf("openings: %v", err)
	}
	if op.ID != c.ID || len(op.Rows) != len(x.op.Rows) {
		t.Fatalf("openings read as %+v from %+v", op, x.op)
	}
	for k, row := range op.Rows {
		want := x.op.Rows[k]
		if int(row.Index) != want.Index || fmt.Sprint(row.Values) != fmt.Sprint(want.Values) || len(row.Proof) != len(want.Proof) {
			t.Errorf("opening %d read as %+v from %+v", k, row, want)
		}
		if !rfc6962Verify(uint64(row.Index), uint64(c.N), rfc6962Leaf(row.Values), row.Proof, cm.Root) {
			t.Errorf("opening %d: the row's path does not lead to the root as RFC 6962 says", k)
		}
	}
	v, err := readVerdict(mustMarshal(t, x.verdict))
	if err != nil {
		t.Fatalf("verdict: %v", err)
	}
	if v.ID != c.ID || v.Result != 1 || v.Throughput != x.verdict.Throughput || time.Duration(v.Elapsed) != x.verdict.Elapsed || v.Detail != x.verdict.Detail {
		t.Errorf("verdict read as %+v from %+v", v, x.verdict)
	}
}

// TestChallengeLayoutsAsDocumented: messages gpu/proof builds, at two
// sizes and random seeds, read field by field with the page's layouts;
// every opened row's path leads to the committed root by RFC 6962.
func TestChallengeLayoutsAsDocumented(t *testing.T) {
	for _, size := range []struct{ n, rows int }{{2, 2}, {5, 3}, {64, 12}} {
		secrets := make([]byte, 48)
		if _, err := rand.Read(secrets); err != nil {
			t.Fatal(err)
		}
		checkExchange(t, buildExchange(t, bytes.NewReader(secrets), size.n, size.rows, 1500*time.Microsecond))
	}
}

var bytesTag = regexp.MustCompile(`^<!-- bytes: ([a-z0-9-]+) -->$`)

// byteExamples finds each block tagged <!-- bytes: NAME --> followed by a
// ``` fence in challenge-1.md, and returns its bytes: on each line, the hex
// digits before a '#', spaces ignored.
func byteExamples(t *testing.T) map[string][]byte {
	t.Helper()
	page, err := os.ReadFile(filepath.Join(Dir(), "challenge-1.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	sc := bufio.NewScanner(bytes.NewReader(page))
	name, inBlock := "", false
	var hexText strings.Builder
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case name == "":
			if m := bytesTag.FindStringSubmatch(line); m != nil {
				name = m[1]
			}
		case !inBlock:
			if !strings.HasPrefix(line, "```") {
				t.Fatalf("bytes example %s is not followed by a ``` block", name)
			}
			inBlock = true
		case line == "```":
			b, err := hex.DecodeString(hexText.String())
			if err != nil {
				t.Fatalf("bytes example %s: %v", name, err)
			}
			out[name] = b
			name, inBlock = "", false
			hexText.Reset()
		default:
			digits, _, _ := strings.Cut(line, "#")
			hexText.WriteString(strings.ReplaceAll(digits, " ", ""))
		}
	}
	return out
}

// docSecrets are the seed and nonce of the page's example: bytes 0 to 47.
func docSecrets() *bytes.Reader {
	b := make([]byte, 48)
	for i := range b {
		b[i] = byte(i)
	}
	return bytes.NewReader(b)
}

// TestChallengeDocExamplesDecode: the page's example exchange decodes with
// the page's layouts and with gpu/proof's decoders, and is byte for byte
// what gpu/proof builds from the same inputs (seed and nonce 0..47, n = 2,
// int8-fp32, r = 2, deadline 1 s, elapsed 1.5 ms, rows 0 and 1).
func TestChallengeDocExamplesDecode(t *testing.T) {
	ex := byteExamples(t)
	x := buildExchange(t, docSecrets(), 2, 2, 1500*time.Microsecond)
	want := map[string][]byte{
		"challenge": mustMarshal(t, x.ch), "commitment": mustMarshal(t, x.cm), "open-request": mustMarshal(t, x.req),
		"openings": mustMarshal(t, x.op), "verdict": mustMarshal(t, x.verdict),
	}
	for name, b := range want {
		if !bytes.Equal(ex[name], b) {
			t.Errorf("bytes example %s is\n%x\nthe Go code builds\n%x", name, ex[name], b)
		}
	}
	if len(ex) != len(want) {
		t.Errorf("challenge-1.md has %d bytes examples, want %d", len(ex), len(want))
	}
	ch, err := proof.UnmarshalChallenge(ex["challenge"], proof.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := proof.UnmarshalCommitment(ex["commitment"], ch); err != nil {
		t.Error(err)
	}
	if _, err := proof.UnmarshalOpenRequest(ex["open-request"], ch); err != nil {
		t.Error(err)
	}
	if _, err := proof.UnmarshalOpenings(ex["openings"], ch); err != nil {
		t.Error(err)
	}
	if _, err := proof.UnmarshalVerdict(ex["verdict"]); err != nil {
		t.Error(err)
	}
	checkExchange(t, x)
}

// TestChallengeDocRefusals: what the page says a decoder refuses, the Go
// decoders refuse: another kind or version, trailing bytes, a count that
// disagrees with the bytes, an unknown number type or result code.
func TestChallengeDocRefusals(t *testing.T) {
	x := buildExchange(t, docSecrets(), 2, 2, 1500*time.Microsecond)
	ch, cm, req, op, v := mustMarshal(t, x.ch), mustMarshal(t, x.cm), mustMarshal(t, x.req), mustMarshal(t, x.op), mustMarshal(t, x.verdict)
	with := func(b []byte, at int, val byte) []byte {
		out := bytes.Clone(b)
		out[at] = val
		return out
	}
	challenge := func(b []byte) error { _, err := proof.UnmarshalChallenge(b, proof.Limits{}); return err }
	commitment := func(b []byte) error { _, err := proof.UnmarshalCommitment(b, x.ch); return err }
	request := func(b []byte) error { _, err := proof.UnmarshalOpenRequest(b, x.ch); return err }
	openings := func(b []byte) error { _, err := proof.UnmarshalOpenings(b, x.ch); return err }
	verdict := func(b []byte) error { _, err := proof.UnmarshalVerdict(b); return err }
	for _, c := range []struct {
		name   string
		decode func([]byte) error
		b      []byte
		want   error
	}{
		{"challenge of another kind", challenge, with(ch, 0, 'X'), proof.ErrMalformed},
		{"challenge of wire version 3", challenge, with(ch, 1, 3), proof.ErrMalformed},
		{"challenge with number type 0", challenge, with(ch, 55, 0), proof.ErrMalformed},
		{"challenge with r > n", challenge, with(ch, 56, 3), proof.ErrInvalid},
		{"challenge one byte short", challenge, ch[:len(ch)-1], proof.ErrMalformed},
		{"challenge one byte long", challenge, append(bytes.Clone(ch), 0), proof.ErrTooLarge},
		{"commitment of wire version 2", commitment, with(cm, 1, 2), proof.ErrMalformed},
		{"commitment to another challenge", commitment, with(cm, 2, cm[2]^1), proof.ErrWrongChallenge},
		{"commitment to another n", commitment, with(cm, 34, 3), proof.ErrWrongChallenge},
		{"commitment with elapsed 0", commitment, append(bytes.Clone(cm[:70]), 0, 0, 0, 0, 0, 0, 0, 0), proof.ErrInvalid},
		{"open request counting 3 rows", request, with(req, 34, 3), proof.ErrMalformed},
		{"open request counting 1 row of 2", request, with(req, 34, 1), proof.ErrMalformed},
		{"open request rows not increasing", request, with(req, 38, 1), proof.ErrInvalid},
		{"openings with a row of 3 values", openings, with(op, 42, 3), proof.ErrMalformed},
		{"openings with trailing bytes", openings, append(bytes.Clone(op), 0), proof.ErrTooLarge},
		{"verdict with result 7", verdict, with(v, 34, 7), proof.ErrMalformed},
		{"verdict with a detail longer than said", verdict, with(v, len(v)-4, 3), proof.ErrMalformed},
	} {
		if err := c.decode(c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// TestChallenge2LayoutsAsDocumented: the version 2 messages as
// challenge-1.md's "Version 2" list lays them out, read at the offsets it
// names from what gpu/proof builds.
func TestChallenge2LayoutsAsDocumented(t *testing.T) {
	ch, err := proof.NewChallenge2(rand.Reader, proof.Params2{N: 64, Type: proof.FP16FP32, Pool: 3, Products: 7, Samples: 2, Deadline: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	u32 := func(b []byte, at int) int { return int(binary.LittleEndian.Uint32(b[at:])) }
	u64 := func(b []byte, at int) time.Duration { return time.Duration(binary.LittleEndian.Uint64(b[at:])) }
	c := mustMarshal(t, ch)
	if len(c) != 76 || string(c[:3]) != "C\x02\x02" || !bytes.Equal(c[3:35], ch.Seed[:]) || !bytes.Equal(c[35:51], ch.Nonce[:]) ||
		u32(c, 51) != 64 || c[55] != 3 || u32(c, 56) != 3 || u32(c, 60) != 7 || u32(c, 64) != 2 || u64(c, 68) != 3*time.Second {
		t.Errorf("challenge %x does not lay out %+v as documented", c, ch)
	}
	if id := sha256.Sum256(append([]byte("gpumesh-proof-challenge-id\x00"), c[2:]...)); id != ch.ID() {
		t.Errorf("challenge ID %x, the page gives %x", ch.ID(), id)
	}
	p := mustMarshal(t, proof.PrepareFor(ch))
	if len(p) != 27 || string(p[:2]) != "P\x02" || u32(p, 2) != 64 || p[6] != 3 || u32(p, 7) != 3 || u32(p, 11) != 7 || u32(p, 15) != 2 || u64(p, 19) != 3*time.Second {
		t.Errorf("prepare %x does not lay out %+v as documented", p, ch)
	}
	if r := proof.Ready2(); string(r) != "Y\x02" {
		t.Errorf("ready %x, want 59 02", r)
	}
	id := ch.ID()
	cm := mustMarshal(t, proof.Commitment2{Challenge: id, Products: 7, Root: [32]byte{9}, Elapsed: time.Second})
	if len(cm) != 78 || string(cm[:2]) != "M\x02" || !bytes.Equal(cm[2:34], id[:]) || u32(cm, 34) != 7 || cm[38] != 9 || u64(cm, 70) != time.Second {
		t.Errorf("commitment %x not as documented", cm)
	}
	req := mustMarshal(t, proof.OpenRequest2{Challenge: id, Products: []int{1, 5}})
	if len(req) != 46 || string(req[:2]) != "R\x02" || !bytes.Equal(req[2:34], id[:]) || u32(req, 34) != 2 || u32(req, 38) != 1 || u32(req, 42) != 5 {
		t.Errorf("open request %x not as documented", req)
	}
}
