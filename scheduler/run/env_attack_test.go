package run

import (
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TestHijackEnvRefusedOnTheWire is issue 16 item 1 through the run
// protocol: a requester that skips Run's own checks and sends a signed
// request setting LD_PRELOAD to one of its inputs is refused by the
// provider, naming the variable, before anything is staged or begun.
func TestHijackEnvRefusedOnTheWire(t *testing.T) {
	module := wasmModule(t, "copy")
	prov := newProvider(t, ServerConfig{})
	req := newNode(t)
	connect(req, prov.node)
	r := wasmRequest(jobID(t), []int{0}, []peer.ID{prov.ID()})
	signed, _, err := prepare(r, map[string]string{ModuleFile: module}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	signed.Env = map[string]string{"LD_PRELOAD": "inputs/evil.so"}
	ack := rawRequest(t, req, prov.ID(), signed)
	if ack.OK || !strings.Contains(ack.Reason, "LD_PRELOAD is never allowed") {
		t.Fatalf("ack %+v, want a refusal naming LD_PRELOAD", ack)
	}
	if begins, _ := prov.auth.calls(); len(begins) != 0 {
		t.Errorf("BeginRun called: %q", begins)
	}
}
