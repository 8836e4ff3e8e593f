package ledger

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

type party struct {
	key crypto.PrivKey
	id  peer.ID
}

func newParty(t testing.TB) party {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return party{k, id}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// receipt is a valid receipt for seconds of work on devices at $2.50/GPU-hour.
func receipt(prov, req party, job string, rank int, seq uint64, seconds int) Receipt {
	digest := sha256.Sum256([]byte(job))
	r := Receipt{
		Job: job, Provider: prov.id.String(), Requester: req.id.String(), Rank: rank,
		Devices: 2, Class: "A100-80GB", Pool: "eu-west", Executor: "wasm",
		Start: t0, End: t0.Add(time.Duration(seconds) * time.Second), Issued: t0.Add(time.Duration(seconds)*time.Second + time.Millisecond),
		UnitPrice: 2_500_000, ResultDigest: hex.EncodeToString(digest[:]), Status: StatusSucceeded, Seq: seq,
	}
	r.Finalize()
	return r
}

func signBoth(t testing.TB, prov, req party, r Receipt) Signed {
	t.Helper()
	s, err := Sign(prov.key, r)
	if err != nil {
		t.Fatal(err)
	}
	s, err = Countersign(req.key, s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
