package run

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"go.uber.org/goleak"
)

// TestNoGoroutineOutlivesClose: a server that served a run to its end,
// then closed with its hosts, leaves no goroutine behind: neither its
// stream handlers nor anything a run started.
func TestNoGoroutineOutlivesClose(t *testing.T) {
	module := wasmModule(t, "copy")
	testWasm(t) // shared by the tests, compiled once: not this test's
	before := goleak.IgnoreCurrent()

	prov := newProvider(t, ServerConfig{})
	req := newNode(t)
	connect(req, prov.node)
	files := map[string]string{ModuleFile: module, "inputs/in.txt": writeFile(t, "in.txt", "hello\n")}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := Run(ctx, req, req.key, prov.ID(), wasmRequest(jobID(t), []int{0}, []peer.ID{prov.ID()}), files, t.TempDir(), func(Event) {})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(out.Results) != 1 {
		t.Fatalf("got %d results, want 1", len(out.Results))
	}
	if reason := prov.auth.waitEnd(t); reason != "completed" {
		t.Fatalf("the provider's run ended %q, want completed", reason)
	}

	if err := prov.srv.Close(); err != nil {
		t.Fatal(err)
	}
	for _, h := range []node{prov.node, req} {
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
	}
	goleak.VerifyNone(t, before)
}
