package run

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/scheduler/executor"
)

// validRequest is a valid wasm request for rank 0 of a world of one, run
// by the peer of key.
func validRequest(t testing.TB, key crypto.PrivKey, now time.Time) *RunRequest {
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	d := sha([]byte("module"))
	return &RunRequest{Job: strings.Repeat("ab", 16), Seq: 1, Sent: now, Ranks: []int{0}, WorldSize: 1, Peers: []string{id.String()},
		Spec:  executor.Spec{Version: executor.SpecVersion, Executor: "wasm", Wasm: &executor.WasmSpec{Digest: d}},
		Files: []File{{Name: ModuleFile, Digest: d, Size: 6}, {Name: "inputs/in.txt", Digest: sha(nil), Size: 0}},
		Env:   map[string]string{"MODE": "fast"}}
}

func TestRequestValidate(t *testing.T) {
	key, _, _ := crypto.GenerateEd25519Key(nil)
	now := time.Now()
	if err := validRequest(t, key, now).Validate(now, time.Minute); err != nil {
		t.Fatalf("valid request: %v", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(r *RunRequest)
		want   string
	}{
		{"job id", func(r *RunRequest) { r.Job = "xyz" }, "32 hex"},
		{"seq", func(r *RunRequest) { r.Seq = 0 }, "seq"},
		{"rank out of world", func(r *RunRequest) { r.Ranks = []int{1} }, "rank 1 not in [0, 1)"},
		{"negative rank", func(r *RunRequest) { r.Ranks = []int{-1} }, "rank -1"},
		{"rank twice", func(r *RunRequest) { r.WorldSize, r.Peers, r.Ranks = 2, append(r.Peers, r.Peers[0]), []int{1, 1} }, "rank 1 twice"},
		{"no ranks", func(r *RunRequest) { r.Ranks = nil }, "0 ranks"},
		{"world too big", func(r *RunRequest) { r.WorldSize = MaxWorldSize + 1 }, "world size"},
		{"peers", func(r *RunRequest) { r.Peers = []string{"not a peer"} }, "not a peer ID"},
		{"spec", func(r *RunRequest) { r.Spec.Version = 9 }, "version 9"},
		{"module in spec", func(r *RunRequest) { r.Spec.Wasm.Module = []byte("x") }, "travels as the file"},
		{"no module file", func(r *RunRequest) { r.Files = r.Files[1:] }, "without a \"module\" file"},
		{"digest differs", func(r *RunRequest) { r.Spec.Wasm.Digest = sha([]byte("other")) }, "is not the module file's"},
		{"dotdot", func(r *RunRequest) { r.Files[1].Name = "inputs/../x" }, "inputs/../x"},
		{"nested", func(r *RunRequest) { r.Files[1].Name = "inputs/a/b" }, "separator"},
		{"nul", func(r *RunRequest) { r.Files[1].Name = "inputs/a\x00b" }, "control"},
		{"no prefix", func(r *RunRequest) { r.Files[1].Name = "etc/passwd" }, "neither"},
		{"empty base", func(r *RunRequest) { r.Files[1].Name = "inputs/" }, "empty"},
		{"dup", func(r *RunRequest) { r.Files[1].Name = ModuleFile }, "twice"},
		{"negative size", func(r *RunRequest) { r.Files[1].Size = -1 }, "size -1"},
		{"digest form", func(r *RunRequest) { r.Files[1].Digest = "md5:00" }, "sha256:<hex>"},
		{"too many files", func(r *RunRequest) {
			for range MaxFiles {
				r.Files = append(r.Files, r.Files[1])
			}
		}, "at most 64"},
		{"total", func(r *RunRequest) { r.Files[1].Size = MaxInputBytes }, "in all"},
		{"reserved env", func(r *RunRequest) { r.Env = map[string]string{"GPUMESH_RANK": "7"} }, "reserved"},
		{"env name", func(r *RunRequest) { r.Env = map[string]string{"A=B": "x"} }, "environment name"},
		{"env value", func(r *RunRequest) { r.Env = map[string]string{"A": strings.Repeat("x", MaxEnvValBytes+1)} }, "environment value"},
		{"future", func(r *RunRequest) { r.Sent = now.Add(time.Hour) }, "ahead"},
		{"old", func(r *RunRequest) { r.Sent = now.Add(-RequestLife - time.Second) }, "expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := validRequest(t, key, now)
			tc.mutate(r)
			err := r.Validate(now, time.Minute)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestRequestRoundTrip(t *testing.T) {
	key, _, _ := crypto.GenerateEd25519Key(nil)
	now := time.Now()
	data, err := gossip.Encode(validRequest(t, key, now), key)
	if err != nil {
		t.Fatal(err)
	}
	msg, signer, err := gossip.Decode(data, []gossip.Type{RequestType}, now, MaxRequestBytes, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := peer.IDFromPrivateKey(key); signer != id {
		t.Errorf("signer %s, want %s", signer, id)
	}
	if r := msg.(*RunRequest); r.Job != strings.Repeat("ab", 16) || len(r.Files) != 2 || r.Env["MODE"] != "fast" {
		t.Errorf("decoded %+v", r)
	}
	// A tampered byte fails the signature or the parse.
	data[len(data)/2] ^= 1
	if _, _, err := gossip.Decode(data, []gossip.Type{RequestType}, now, MaxRequestBytes, time.Minute); err == nil {
		t.Error("a tampered request decoded")
	}
}

func TestEventValidate(t *testing.T) {
	res := &executor.Result{Status: executor.StatusSucceeded}
	line := &executor.Line{Stream: "stdout", Text: "hi"}
	for _, tc := range []struct {
		ev Event
		ok bool
	}{
		{Event{Kind: KindHeartbeat, At: time.Now()}, true},
		{Event{Kind: KindEnd}, true},
		{Event{Kind: KindState, Rank: 3, State: StateRunning}, true},
		{Event{Kind: KindLog, Rank: 1, Line: line}, true},
		{Event{Kind: KindResult, Result: res, Outputs: []File{{Name: "a/b.txt", Digest: sha(nil)}}}, true},
		{Event{Kind: "mystery"}, false},
		{Event{Kind: KindState, State: "flying"}, false},
		{Event{Kind: KindLog}, false},
		{Event{Kind: KindLog, Line: &executor.Line{Stream: "stdin"}}, false},
		{Event{Kind: KindResult}, false},
		{Event{Kind: KindResult, Result: &executor.Result{Status: "great"}}, false},
		{Event{Kind: KindResult, Result: res, Outputs: []File{{Name: "../etc/passwd", Digest: sha(nil)}}}, false},
		{Event{Kind: KindResult, Result: res, Outputs: []File{{Name: "/abs", Digest: sha(nil)}}}, false},
		{Event{Kind: KindResult, Result: res, Outputs: []File{{Name: "a", Digest: sha(nil)}, {Name: "a", Digest: sha(nil)}}}, false},
		{Event{Kind: KindResult, Result: res, Outputs: []File{{Name: "a", Digest: sha(nil), Size: -1}}}, false},
		{Event{Kind: KindHeartbeat, Rank: -1}, false},
	} {
		err := tc.ev.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%+v: got %v, want ok %t", tc.ev, err, tc.ok)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	key, _, _ := crypto.GenerateEd25519Key(nil)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	data, err := gossip.Encode(validRequest(f, key, now), key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte{})
	f.Add([]byte("\x0a\x03abc"))
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, _, err := gossip.Decode(b, []gossip.Type{RequestType}, now, MaxRequestBytes, time.Minute)
		if err != nil {
			if !errors.Is(err, gossip.ErrMalformed) && !errors.Is(err, gossip.ErrNonCanonical) && !errors.Is(err, gossip.ErrInvalid) && !errors.Is(err, gossip.ErrExpired) &&
				!errors.Is(err, gossip.ErrBadSignature) && !errors.Is(err, gossip.ErrUnknownType) && !errors.Is(err, gossip.ErrTooLarge) {
				t.Fatalf("error wraps no gossip error: %v", err)
			}
			return
		}
		r := msg.(*RunRequest)
		if err := r.Validate(now, time.Minute); err != nil {
			t.Fatalf("decoded but invalid: %v", err)
		}
		for _, f := range r.Files {
			if validInputName(f.Name) != nil {
				t.Fatalf("unsafe name %q decoded", f.Name)
			}
		}
	})
}

func FuzzDecodeEvent(f *testing.F) {
	for _, ev := range []Event{
		{Kind: KindHeartbeat, At: time.Now()},
		{Kind: KindLog, Rank: 2, Line: &executor.Line{Stream: "stderr", Text: "x"}},
		{Kind: KindResult, Rank: 1, Result: &executor.Result{Status: executor.StatusFailed, ExitCode: 3}, Outputs: []File{{Name: "out/a.txt", Digest: sha(nil)}}},
		{Kind: KindEnd, Error: "file inputs/x: bytes do not match"},
	} {
		b, _ := json.Marshal(ev)
		f.Add(b)
	}
	f.Add([]byte(`{"kind":"result","result":{"status":"succeeded"},"outputs":[{"name":"..","digest":"x"}]}`))
	f.Add([]byte(`{"kind":"result","result":{"status":"succeeded"},"gpu":{"devices":2,"samples":9,"busy_millis":8000,"peak_memory_bytes":8589934592,"mean_util_percent":97.5}}`))
	f.Add([]byte(`{"kind":"heartbeat","gpu":{"devices":1,"mean_util_percent":101}}`))
	f.Add([]byte(`{"kind":"heartbeat","net":{"bytes_in":10,"packets_in":1,"drops":{"not_member":2,"spoofed_source":1}}}`))
	f.Add([]byte(`{"kind":"end","net":{"drops":{"../x":1}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := decodeEvent(b)
		if err != nil {
			if !errors.Is(err, gossip.ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if ev.GPU != nil && (ev.Kind != KindResult || len(ev.GPU.Check()) != 0) {
			t.Fatalf("decoded GPU figures %+v on a %s event", ev.GPU, ev.Kind)
		}
		if ev.Net != nil && ev.Net.validate() != nil {
			t.Fatalf("decoded net counters %+v", ev.Net)
		}
		for _, o := range ev.Outputs {
			if validOutputName(o.Name) != nil || strings.HasPrefix(o.Name, "/") {
				t.Fatalf("unsafe output name %q decoded", o.Name)
			}
		}
		again, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeEvent(again); err != nil {
			t.Fatalf("re-encoded event does not decode: %v", err)
		}
	})
}

// TestResultDigest: the digest ignores the outputs' order and changes with
// anything a receipt states (status, exit code, an output's name, digest,
// size or truncation).
func TestResultDigest(t *testing.T) {
	res := executor.Result{Status: executor.StatusSucceeded}
	outs := []File{{Name: "a.txt", Digest: "sha256:aa", Size: 2}, {Name: "b.txt", Digest: "sha256:bb", Size: 3}}
	base := ResultDigest(res, outs)
	if got := ResultDigest(res, []File{outs[1], outs[0]}); got != base {
		t.Errorf("order changed the digest: %s vs %s", got, base)
	}
	variants := map[string]func() (executor.Result, []File){
		"status":    func() (executor.Result, []File) { r := res; r.Status = executor.StatusFailed; return r, outs },
		"exit code": func() (executor.Result, []File) { r := res; r.ExitCode = 1; return r, outs },
		"name":      func() (executor.Result, []File) { o := slices.Clone(outs); o[0].Name = "c.txt"; return res, o },
		"digest":    func() (executor.Result, []File) { o := slices.Clone(outs); o[0].Digest = "sha256:ab"; return res, o },
		"size":      func() (executor.Result, []File) { o := slices.Clone(outs); o[0].Size = 4; return res, o },
		"truncated": func() (executor.Result, []File) { o := slices.Clone(outs); o[0].Truncated = true; return res, o },
		"missing":   func() (executor.Result, []File) { return res, outs[:1] },
	}
	for name, f := range variants {
		if got := ResultDigest(f()); got == base {
			t.Errorf("%s: digest unchanged", name)
		}
	}
}
