package merkle

import (
	"bytes"
	"crypto"
	_ "crypto/sha256"
	"errors"
	"fmt"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
)

var hasher = rfc6962.New(crypto.SHA256)

func leafData(i int) []byte { return []byte(fmt.Sprintf("receipt-%d", i)) }

// build returns our stored tree and transparency-dev's reference tree over
// the same n leaves.
func build(t testing.TB, n int) (*MemStore, *testonly.Tree) {
	t.Helper()
	var m MemStore
	ref := testonly.New(hasher)
	for i := 0; i < n; i++ {
		if _, err := m.Append(leafData(i)); err != nil {
			t.Fatal(err)
		}
		ref.AppendData(leafData(i))
	}
	return &m, ref
}

func toBytes(p []Hash) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = append([]byte(nil), p[i][:]...)
	}
	return out
}

func TestRFC6962Vectors(t *testing.T) {
	if got, want := EmptyRoot(), testonly.EmptyRootHash(); !bytes.Equal(got[:], want) {
		t.Fatalf("empty root %x, want %x", got[:], want)
	}
	var m MemStore
	for i, leaf := range testonly.LeafInputs() {
		if got, want := LeafHash(leaf), hasher.HashLeaf(leaf); !bytes.Equal(got[:], want) {
			t.Fatalf("leaf %d hash %x, want %x", i, got[:], want)
		}
		if _, err := m.Append(leaf); err != nil {
			t.Fatal(err)
		}
		root, err := Root(int64(i+1), &m)
		if err != nil {
			t.Fatal(err)
		}
		if want := testonly.RootHashes()[i+1]; !bytes.Equal(root[:], want) {
			t.Fatalf("root of size %d = %x, want %x (RFC 6962 test vector)", i+1, root[:], want)
		}
	}
}

func sizesToCheck() []int {
	s := []int{}
	for i := 0; i <= 70; i++ {
		s = append(s, i)
	}
	return append(s, 127, 128, 129, 255, 256, 257, 1000, 1023, 1024, 1025)
}

func TestRootsMatchReference(t *testing.T) {
	m, ref := build(t, 1025)
	for _, n := range sizesToCheck() {
		got, err := Root(int64(n), m)
		if err != nil {
			t.Fatal(err)
		}
		if want := ref.HashAt(uint64(n)); !bytes.Equal(got[:], want) {
			t.Fatalf("root of size %d = %x, want %x", n, got[:], want)
		}
	}
}

func TestInclusionMatchesReference(t *testing.T) {
	m, ref := build(t, 1025)
	for _, n := range sizesToCheck() {
		root, _ := Root(int64(n), m)
		step := 1
		if n > 130 {
			step = 7
		}
		for i := 0; i < n; i += step {
			p, err := InclusionProof(int64(i), int64(n), m)
			if err != nil {
				t.Fatalf("InclusionProof(%d, %d): %v", i, n, err)
			}
			want, err := ref.InclusionProof(uint64(i), uint64(n))
			if err != nil {
				t.Fatal(err)
			}
			if got := toBytes(p); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("proof(%d, %d) = %x, want %x", i, n, got, want)
			}
			if len(p) != InclusionProofSize(int64(i), int64(n)) {
				t.Fatalf("proof(%d, %d) has %d hashes, InclusionProofSize says %d", i, n, len(p), InclusionProofSize(int64(i), int64(n)))
			}
			leaf := LeafHash(leafData(i))
			if err := VerifyInclusion(leaf, int64(i), int64(n), p, root); err != nil {
				t.Fatalf("VerifyInclusion(%d, %d): %v", i, n, err)
			}
			if err := proof.VerifyInclusion(hasher, uint64(i), uint64(n), leaf[:], toBytes(p), root[:]); err != nil {
				t.Fatalf("reference rejects our proof(%d, %d): %v", i, n, err)
			}
		}
	}
}

func TestConsistencyMatchesReference(t *testing.T) {
	m, ref := build(t, 1025)
	for _, n := range sizesToCheck() {
		newRoot, _ := Root(int64(n), m)
		step := 1
		if n > 130 {
			step = 5
		}
		for o := 0; o <= n; o += step {
			oldRoot, _ := Root(int64(o), m)
			p, err := ConsistencyProof(int64(o), int64(n), m)
			if err != nil {
				t.Fatalf("ConsistencyProof(%d, %d): %v", o, n, err)
			}
			want, err := ref.ConsistencyProof(uint64(o), uint64(n))
			if err != nil {
				t.Fatal(err)
			}
			if got := toBytes(p); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("consistency(%d, %d) = %x, want %x", o, n, got, want)
			}
			if err := VerifyConsistency(int64(o), int64(n), oldRoot, newRoot, p); err != nil {
				t.Fatalf("VerifyConsistency(%d, %d): %v", o, n, err)
			}
			if err := proof.VerifyConsistency(hasher, uint64(o), uint64(n), toBytes(p), oldRoot[:], newRoot[:]); err != nil {
				t.Fatalf("reference rejects our consistency(%d, %d): %v", o, n, err)
			}
		}
	}
}

func TestProofsFailWhenWrong(t *testing.T) {
	m, _ := build(t, 300)
	const n = 300
	root, _ := Root(n, m)
	other, _ := Root(n-1, m)
	for _, i := range []int64{0, 1, 150, 255, 256, 299} {
		p, err := InclusionProof(i, n, m)
		if err != nil {
			t.Fatal(err)
		}
		leaf := LeafHash(leafData(int(i)))
		if err := VerifyInclusion(leaf, i, n, p, other); !errors.Is(err, ErrRootMismatch) {
			t.Errorf("leaf %d against another root: got %v, want ErrRootMismatch", i, err)
		}
		wrong := (i + 1) % n
		if err := VerifyInclusion(leaf, wrong, n, p, root); err == nil {
			t.Errorf("leaf %d proved at index %d", i, wrong)
		}
		if err := VerifyInclusion(LeafHash([]byte("forged")), i, n, p, root); !errors.Is(err, ErrRootMismatch) {
			t.Errorf("forged leaf at %d: got %v, want ErrRootMismatch", i, err)
		}
		bad := append([]Hash(nil), p...)
		bad[len(bad)/2][3] ^= 1
		if err := VerifyInclusion(leaf, i, n, bad, root); !errors.Is(err, ErrRootMismatch) {
			t.Errorf("flipped proof for %d: got %v, want ErrRootMismatch", i, err)
		}
		if err := VerifyInclusion(leaf, i, n, p[:len(p)-1], root); !errors.Is(err, ErrProofSize) {
			t.Errorf("short proof for %d: got %v, want ErrProofSize", i, err)
		}
	}
	if err := VerifyInclusion(LeafHash(nil), n, n, nil, root); !errors.Is(err, ErrRange) {
		t.Errorf("index == size: got %v, want ErrRange", err)
	}
	for _, o := range []int64{1, 7, 128, 200} {
		oldRoot, _ := Root(o, m)
		p, _ := ConsistencyProof(o, n, m)
		if err := VerifyConsistency(o, n, oldRoot, other, p); !errors.Is(err, ErrRootMismatch) {
			t.Errorf("consistency %d->%d against another new root: got %v", o, n, err)
		}
		if err := VerifyConsistency(o, n, other, root, p); !errors.Is(err, ErrRootMismatch) {
			t.Errorf("consistency %d->%d against another old root: got %v", o, n, err)
		}
		if len(p) > 0 {
			if err := VerifyConsistency(o, n, oldRoot, root, p[1:]); !errors.Is(err, ErrProofSize) {
				t.Errorf("short consistency %d->%d: got %v", o, n, err)
			}
		}
	}
	if err := VerifyConsistency(5, 4, root, root, nil); !errors.Is(err, ErrRange) {
		t.Errorf("shrinking tree: got %v, want ErrRange", err)
	}
	if err := VerifyConsistency(n, n, root, other, nil); !errors.Is(err, ErrRootMismatch) {
		t.Errorf("equal sizes, different roots: got %v", err)
	}
}

func TestStoreErrors(t *testing.T) {
	var m MemStore
	if _, err := Root(3, &m); err == nil {
		t.Fatal("root of 3 leaves from an empty store succeeded")
	}
	if _, err := InclusionProof(0, 0, &m); !errors.Is(err, ErrRange) {
		t.Fatalf("proof in empty tree: got %v", err)
	}
	if _, err := ConsistencyProof(3, 2, &m); !errors.Is(err, ErrRange) {
		t.Fatalf("consistency 3 -> 2: got %v", err)
	}
}

// FuzzVerify feeds arbitrary proofs and sizes to both verifiers: they must
// never panic, and must agree with transparency-dev's verifier.
func FuzzVerify(f *testing.F) {
	m, _ := build(f, 40)
	root, _ := Root(40, m)
	p, _ := InclusionProof(13, 40, m)
	var buf []byte
	for _, h := range p {
		buf = append(buf, h[:]...)
	}
	f.Add(int64(13), int64(40), int64(20), buf)
	f.Add(int64(0), int64(1), int64(0), []byte{})
	f.Fuzz(func(t *testing.T, index, size, old int64, raw []byte) {
		var proofHashes []Hash
		for len(raw) >= HashSize {
			var h Hash
			copy(h[:], raw)
			proofHashes = append(proofHashes, h)
			raw = raw[HashSize:]
		}
		leaf := LeafHash(leafData(int(index % 1000)))
		err := VerifyInclusion(leaf, index, size, proofHashes, root)
		if index >= 0 && size > index {
			ref := proof.VerifyInclusion(hasher, uint64(index), uint64(size), leaf[:], toBytes(proofHashes), root[:])
			if (err == nil) != (ref == nil) {
				t.Fatalf("inclusion(%d, %d): ours %v, reference %v", index, size, err, ref)
			}
		}
		oldRoot := root
		err = VerifyConsistency(old, size, oldRoot, root, proofHashes)
		if old >= 0 && size >= old {
			ref := proof.VerifyConsistency(hasher, uint64(old), uint64(size), toBytes(proofHashes), oldRoot[:], root[:])
			if (err == nil) != (ref == nil) {
				t.Fatalf("consistency(%d, %d): ours %v, reference %v", old, size, err, ref)
			}
		}
	})
}
