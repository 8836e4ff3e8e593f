package challenge

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gpu/proof"
)

// TestHostileChallengersGetResets: what challenge-1.md says a prover does
// with a message it does not take, that does not decode, or that arrives
// out of order: it resets the stream, sending nothing more. Each case
// comes from a challenger of its own, so that no rate limit answers for
// the decoder.
func TestHostileChallengersGetResets(t *testing.T) {
	p := newHost(t)
	service(t, p, Config{Limits: proof.Limits{MaxN: 128}})
	ch, err := proof.NewChallenge(rand.Reader, 16, proof.Int8FP32, 2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	good, err := ch.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	with := func(at int, b byte) []byte {
		out := append([]byte(nil), good...)
		out[at] = b
		return out
	}
	id := ch.ID()
	request := func(rows ...byte) []byte {
		b := append([]byte{'R', 1}, id[:]...)
		b = append(b, byte(len(rows)), 0, 0, 0)
		for _, r := range rows {
			b = append(b, r, 0, 0, 0)
		}
		return b
	}
	cases := []struct {
		name       string
		first      []byte // the first frame, or nil to write raw
		raw        []byte
		commitment bool   // the prover commits before the bad frame
		then       []byte // the frame after the commitment
	}{
		{name: "an open request first", first: request(0)},
		{name: "a commitment first", first: append([]byte{'M', 1}, make([]byte, 76)...)},
		{name: "a frame announcing 1 GiB", raw: []byte{0x80, 0x80, 0x80, 0x80, 0x04}},
		{name: "a challenge of wire version 3", first: with(1, 3)},
		{name: "a challenge with number type 0", first: with(55, 0)},
		{name: "a challenge with r > n", first: with(56, 17)},
		{name: "a challenge one byte long", first: append(append([]byte(nil), good...), 0)},
		{name: "openings instead of an open request", first: good, commitment: true, then: append([]byte{'O', 1}, make([]byte, 40)...)},
		{name: "a row out of range", first: good, commitment: true, then: request(16)},
		{name: "rows out of order", first: good, commitment: true, then: request(3, 1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := newHost(t)
			if err := v.Connect(context.Background(), peer.AddrInfo{ID: p.ID(), Addrs: p.Addrs()}); err != nil {
				t.Fatal(err)
			}
			st, err := v.NewStream(context.Background(), p.ID(), ProtocolID)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			_ = st.SetDeadline(time.Now().Add(20 * time.Second))
			r := bufio.NewReader(st)
			if c.raw != nil {
				_, err = st.Write(c.raw)
			} else {
				err = writeFrame(st, c.first)
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.commitment {
				data, err := readFrame(r, proof.CommitmentSize)
				if err != nil {
					t.Fatalf("no commitment: %v", err)
				}
				if _, err := proof.UnmarshalCommitment(data, ch); err != nil {
					t.Fatal(err)
				}
				if err := writeFrame(st, c.then); err != nil {
					t.Fatal(err)
				}
			}
			data, err := readFrame(r, proof.MaxOpeningsSize(ch.N, ch.Rows))
			if err == nil {
				t.Fatalf("answered %d bytes, want the stream reset", len(data))
			}
			if !errors.Is(err, network.ErrReset) {
				t.Errorf("read %v, want the stream reset", err)
			}
		})
	}
}
