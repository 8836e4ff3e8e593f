package challenge

import (
	"bufio"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gpu/proof"
)

func newHost(t *testing.T) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// pair returns a verifier host connected to a prover host.
func pair(t *testing.T) (verifier, prover host.Host) {
	t.Helper()
	verifier, prover = newHost(t), newHost(t)
	if err := verifier.Connect(context.Background(), peer.AddrInfo{ID: prover.ID(), Addrs: prover.Addrs()}); err != nil {
		t.Fatal(err)
	}
	return verifier, prover
}

func service(t *testing.T, h host.Host, cfg Config) {
	t.Helper()
	s := NewService(h, proof.CPUProver{Workers: 2, Limits: cfg.Limits}, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.Start(context.Background())
	t.Cleanup(func() { s.Close() })
}

var small = Request{N: 128, Type: proof.Int8FP32, Deadline: 10 * time.Second}

func TestHonestProviderPassesAndALiarIsTooSlow(t *testing.T) {
	v, p := pair(t)
	service(t, p, Config{Limits: proof.Limits{MaxN: 512}})
	tests := []struct {
		name  string
		class string
		want  proof.Result
	}{
		{"no claim", "", proof.Pass},
		{"claims one x86 core", "CPU-x86", proof.Pass},
		{"claims an A100", "A100-80GB", proof.TooSlow},
	}
	for _, tc := range tests {
		if raceEnabled && tc.class == "CPU-x86" {
			// Instrumented, the prover runs far below one real core.
			t.Logf("%s: skipped under the race detector", tc.name)
			continue
		}
		// n = 512: enough work (0.27 GFLOP) that scheduling noise on a busy
		// machine cannot make an honest core look slow.
		req := small
		req.N, req.Class, req.Cores = 512, tc.class, 1
		got, err := Challenge(context.Background(), v, p.ID(), req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got.Result != tc.want {
			t.Errorf("%s: verdict %s (%s), want %s", tc.name, got.Result, got.Detail, tc.want)
		}
	}
}

// rogue installs a prover handler that reads the challenge and then does what answer says.
func rogue(h host.Host, answer func(st network.Stream)) {
	h.SetStreamHandler(ProtocolID, func(st network.Stream) {
		defer st.Reset()
		if _, err := readFrame(bufio.NewReader(st), proof.ChallengeSize); err != nil {
			return
		}
		answer(st)
	})
}

func TestBadProversGetClearVerdicts(t *testing.T) {
	tests := []struct {
		name   string
		answer func(st network.Stream)
		want   proof.Result
	}{
		{"garbage commitment", func(st network.Stream) {
			_ = writeFrame(st, []byte("not a commitment"))
			time.Sleep(time.Second)
		}, proof.Malformed},
		{"announces a gigabyte", func(st network.Stream) {
			_, _ = st.Write([]byte{0x80, 0x80, 0x80, 0x80, 0x04}) // uvarint 1 GiB, then nothing
			time.Sleep(time.Second)
		}, proof.Malformed},
		{"truncated commitment", func(st network.Stream) {
			_ = writeFrame(st, make([]byte, 10))
			time.Sleep(time.Second)
		}, proof.Malformed},
		{"never answers", func(st network.Stream) {
			time.Sleep(10 * time.Second)
		}, proof.Timeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, p := pair(t)
			rogue(p, tc.answer)
			req := small
			req.Deadline = 500 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			start := time.Now()
			got, err := Challenge(ctx, v, p.ID(), req)
			if err != nil {
				t.Fatal(err)
			}
			if got.Result != tc.want {
				t.Errorf("verdict %s (%s), want %s", got.Result, got.Detail, tc.want)
			}
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("verdict took %s", d)
			}
		})
	}
}

func TestServiceLimitsChallengers(t *testing.T) {
	v, p := pair(t)
	service(t, p, Config{Limits: proof.Limits{MaxN: 128}, MinInterval: time.Hour})
	got, err := Challenge(context.Background(), v, p.ID(), small)
	if err != nil || got.Result != proof.Pass {
		t.Fatalf("first challenge: %v %v", got.Result, err)
	}
	// Too soon after the first: refused, so no pass.
	got, err = Challenge(context.Background(), v, p.ID(), small)
	if err != nil || got.Result == proof.Pass {
		t.Errorf("second challenge within the interval: %v %v, want refused", got.Result, err)
	}
	// Over the service's largest n: refused by a peer that may ask.
	v2 := newHost(t)
	if err := v2.Connect(context.Background(), peer.AddrInfo{ID: p.ID(), Addrs: p.Addrs()}); err != nil {
		t.Fatal(err)
	}
	big := small
	big.N = 256
	got, err = Challenge(context.Background(), v2, p.ID(), big)
	if err != nil || got.Result == proof.Pass {
		t.Errorf("challenge over the limit: %v %v, want refused", got.Result, err)
	}
	// An absurd n is refused before anything is sent.
	huge := small
	huge.N = 1 << 20
	if _, err := Challenge(context.Background(), v2, p.ID(), huge); err == nil {
		t.Error("a challenge with n = 2^20 was put")
	}
}

// TestStallingChallengersHoldNoTurn: a peer that opens a challenge stream
// and sends nothing, and one that stops after the commitment, must not
// keep an honest challenger from its proof: the service would turn the
// honest one away, which the challenger records as a failed proof of an
// honest provider.
func TestStallingChallengersHoldNoTurn(t *testing.T) {
	v, p := pair(t)
	service(t, p, Config{Limits: proof.Limits{MaxN: 128}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stall := func(send bool) {
		t.Helper()
		h := newHost(t)
		if err := h.Connect(ctx, peer.AddrInfo{ID: p.ID(), Addrs: p.Addrs()}); err != nil {
			t.Fatal(err)
		}
		st, err := h.NewStream(ctx, p.ID(), ProtocolID)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Reset() })
		if !send {
			_, _ = st.Write(nil) // the stream opens; nothing more comes
			return
		}
		ch, err := proof.NewChallenge(rand.Reader, 128, proof.Int8FP32, 8, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := ch.Marshal()
		if err := writeFrame(st, data); err != nil {
			t.Fatal(err)
		}
		_ = st.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := readFrame(bufio.NewReader(st), proof.CommitmentSize); err != nil {
			t.Fatalf("the staller got no commitment: %v", err)
		}
		// ... and asks for no rows.
	}
	stall(true)
	stall(false)
	got, err := Challenge(context.Background(), v, p.ID(), small)
	if err != nil || got.Result != proof.Pass {
		t.Fatalf("honest challenge beside two stalled ones: %s (%s) %v, want pass", got.Result, got.Detail, err)
	}
}

// TestNoChallengeAfterClose: a challenge stream that reaches the handler
// once Close began (it was open as the service closed) is reset before
// anything is taken from it or counted on the wait group Close waits on.
func TestNoChallengeAfterClose(t *testing.T) {
	verifier, prover := pair(t)
	s := NewService(prover, proof.CPUProver{Workers: 1}, Config{Limits: proof.Limits{MaxN: 64}}, slog.New(slog.DiscardHandler))
	s.Start(context.Background())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The handler as a stream already negotiated before Close reaches it.
	const late = "/gpumesh/test/late-challenge"
	handled := make(chan struct{})
	prover.SetStreamHandler(late, func(st network.Stream) {
		defer close(handled)
		s.handle(context.Background(), st)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The reset may come before the stream's protocol is confirmed.
	if st, err := verifier.NewStream(ctx, prover.ID(), late); err == nil {
		_, _ = st.Write([]byte{0})
		_ = st.CloseWrite()
		_ = st.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadAll(st); err == nil {
			t.Error("the stream was answered after Close")
		}
	}
	select {
	case <-handled:
	case <-ctx.Done():
		t.Fatal("the handler did not return")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.last) != 0 {
		t.Errorf("a challenge after Close was admitted: %v", s.last)
	}
}

// TestCloseEndsAChallengeInProgress: Close does not wait out a challenger
// that opened a stream and sends nothing (ioMargin): it resets the stream
// and returns once the handler did.
func TestCloseEndsAChallengeInProgress(t *testing.T) {
	verifier, prover := pair(t)
	s := NewService(prover, proof.CPUProver{Workers: 1}, Config{Limits: proof.Limits{MaxN: 64}}, slog.New(slog.DiscardHandler))
	s.Start(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), ioMargin/2)
	defer cancel()
	st, err := verifier.NewStream(ctx, prover.ID(), ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Reset()
	_, _ = st.Write(nil) // the stream opens; nothing more comes
	for admitted := false; !admitted; {
		s.mu.Lock()
		admitted = len(s.last) == 1
		s.mu.Unlock()
		if ctx.Err() != nil {
			t.Fatal("the stalled challenge never reached the handler")
		}
		time.Sleep(10 * time.Millisecond)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatalf("Close still waits for a stalled challenger after %s", ioMargin/2)
	}
	_ = st.SetReadDeadline(time.Now().Add(ioMargin / 2))
	if _, err := io.ReadAll(st); err == nil {
		t.Error("the stalled challenge's stream ended cleanly, want reset")
	}
}
