package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
	"github.com/gpumesh/gpumesh/scheduler/protocoltest"
)

// jsStep is one line of interop/js/conformance.mjs's report.
type jsStep struct {
	Step   string          `json:"step"`
	Pass   bool            `json:"pass"`
	Detail json.RawMessage `json:"detail"`
}

// jsClientSteps are the steps of the researcher's whole path, in order.
var jsClientSteps = []string{"start", "connect", "dht-providers", "capacity-records", "heartbeats",
	"publish-job-request", "bids", "award", "run", "receipts", "messages"}

// jsHostileSteps are the careless or hostile messages the client sends
// after the path, each of which must be refused as docs/protocol says.
var jsHostileSteps = []string{"hostile-gossip", "hostile-invite", "hostile-award-unknown-job",
	"hostile-run-out-of-order", "hostile-receipt-out-of-order"}

// nodeVersion matches `node --version`.
var nodeVersion = regexp.MustCompile(`^v(\d+)\.`)

// jsClient returns the node command and the conformance client's folder,
// or skips (or fails, with GPUMESH_REQUIRE_NODE=1 as scripts/test.sh sets
// it once `npm ci` ran) saying what is missing.
func jsClient(t *testing.T) (nodeBin, dir string) {
	t.Helper()
	missing := func(why string) {
		if os.Getenv("GPUMESH_REQUIRE_NODE") == "1" {
			t.Fatalf("GPUMESH_REQUIRE_NODE=1 but %s", why)
		}
		t.Skipf("%s: the js-libp2p conformance client needs Node 20 or newer and `npm ci` in interop/js (make test does both)", why)
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "interop", "js"))
	if err != nil {
		t.Fatal(err)
	}
	nodeBin, err = exec.LookPath("node")
	if err != nil {
		missing("no node on PATH")
	}
	out, err := exec.Command(nodeBin, "--version").Output()
	m := nodeVersion.FindSubmatch(out)
	if err != nil || m == nil {
		missing("node --version failed")
	}
	if v, _ := strconv.Atoi(string(m[1])); v < 20 {
		missing("node " + strings.TrimSpace(string(out)) + " is older than v20")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "libp2p", "package.json")); err != nil {
		missing("interop/js/node_modules is not installed")
	}
	return nodeBin, dir
}

// TestJSWireDecoders runs the conformance client's own tests of its
// decoders of network bytes (interop/js/wire.test.mjs: round trips, the
// refusals the spec names, random and mutated input), quick enough for
// -short.
func TestJSWireDecoders(t *testing.T) {
	nodeBin, dir := jsClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBin, "--test", "wire.test.mjs")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test wire.test.mjs: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("# fail 0")) {
		t.Fatalf("node --test wire.test.mjs did not report its tests:\n%s", out)
	}
}

// TestJSConformanceClient runs the js-libp2p researcher client of
// interop/js, written from docs/protocol/ alone, against a requester node
// and two wasm providers, each its own process: it must pass the whole
// path (DHT capability keys, capacity records, heartbeats, a signed job
// request, bids, awards, a wasm run over /gpumesh/run/1, outputs and
// countersigned receipts it verifies) and see each hostile message
// refused as the spec says. The Go side then checks what it can: every
// receipt the client verified is in its provider's ledger, and verifies
// with the Go verifier byte for byte.
func TestJSConformanceClient(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: three nodes and a Node.js client")
	}
	nodeBin, dir := jsClient(t)
	module := executortest.WasmModule(t, "copy")
	reqDir, providers, providerDir, _ := startMarket(t, 2)
	in := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte("hello from javascript\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code := gpumesh(t, "id", "--data-dir", reqDir)
	if code != 0 {
		t.Fatalf("gpumesh id = exit %d", code)
	}
	boot := strings.Fields(out)[1]

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBin, "conformance.mjs", "--bootstrap", boot, "--wasm", module,
		"--input", in, "--workers", "2", "--timeout-ms", "180000")
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("conformance.mjs report:\n%s", stdout.String())
	if stderr.Len() > 0 {
		t.Logf("conformance.mjs stderr:\n%s", stderr.String())
	}
	steps := map[string]jsStep{}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		var s jsStep
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("report line is not JSON: %v: %s", err, sc.Text())
		}
		steps[s.Step] = s
		if !s.Pass {
			t.Errorf("step %s failed: %s", s.Step, s.Detail)
		}
	}
	if err != nil {
		t.Errorf("conformance.mjs: %v", err)
	}
	for _, name := range append(append([]string{}, jsClientSteps...), jsHostileSteps...) {
		if _, ok := steps[name]; !ok {
			t.Errorf("step %s missing from the report", name)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	var found struct {
		Providers []string `json:"providers"`
	}
	if err := json.Unmarshal(steps["dht-providers"].Detail, &found); err != nil {
		t.Fatal(err)
	}
	for _, p := range providers {
		if !contains(found.Providers, p) {
			t.Errorf("provider %s not found through the DHT's capability keys: %v", p, found.Providers)
		}
	}
	// Every message of the path, both ways, validates against its schema:
	// what the client wrote from the docs, and what the nodes answered it.
	var wire struct {
		Messages []struct {
			Schema string `json:"schema"`
			Dir    string `json:"dir"`
			JSON   string `json:"json"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(steps["messages"].Detail, &wire); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range wire.Messages {
		seen[m.Dir+" "+m.Schema] = true
		if err := protocoltest.Validate(m.Schema, []byte(m.JSON)); err != nil {
			t.Errorf("%s %s does not match its schema: %v\n%s", m.Dir, m.Schema, err, m.JSON)
		}
	}
	for _, want := range []string{"sent job-request", "sent award", "sent run-request", "sent settle-request",
		"sent settle-answer", "sent receipt-countersign", "sent market-ack", "received capacity-record",
		"received heartbeat", "received bid", "received accept", "received run-ack", "received run-event",
		"received settle-offer", "received receipt", "received market-ack"} {
		if !seen[want] {
			t.Errorf("no %s among the messages the client logged", want)
		}
	}

	// The refused gossip is counted by the provider it was sent to under
	// the labels of gossip-2.md's validation table; the author-fields
	// message is refused by GossipSub itself, before those checks.
	var hostileGossip struct {
		Target string `json:"target"`
	}
	if err := json.Unmarshal(steps["hostile-gossip"].Detail, &hostileGossip); err != nil {
		t.Fatal(err)
	}
	rejected := gossipRejected(t, providerDir[hostileGossip.Target])
	for label, want := range map[string]int{"unknown_type": 1, "malformed": 2, "invalid": 1, "non_canonical": 1} {
		if rejected[label] < want {
			t.Errorf("%s counted %d gossip messages rejected as %s, want at least %d: %v", hostileGossip.Target, rejected[label], label, want, rejected)
		}
	}
	var runs map[string]struct {
		Outputs map[string]string `json:"outputs"`
	}
	if err := json.Unmarshal(steps["run"].Detail, &runs); err != nil {
		t.Fatal(err)
	}
	for p, r := range runs {
		if r.Outputs["out.txt"] != "HELLO FROM JAVASCRIPT\n" {
			t.Errorf("output of %s = %q", p, r.Outputs["out.txt"])
		}
	}
	var receipts map[string][]struct {
		ID     string `json:"id"`
		Signed string `json:"signed"`
	}
	if err := json.Unmarshal(steps["receipts"].Detail, &receipts); err != nil {
		t.Fatal(err)
	}
	var client struct {
		Peer string `json:"peer"`
	}
	_ = json.Unmarshal(steps["start"].Detail, &client)
	for p, rs := range receipts {
		d, ok := providerDir[p]
		if !ok {
			t.Errorf("receipts from %s, not one of the providers", p)
			continue
		}
		logged := listedReceipts(t, d)
		for _, r := range rs {
			b, err := base64.StdEncoding.DecodeString(r.Signed)
			if err != nil {
				t.Fatal(err)
			}
			sg, err := ledger.UnmarshalSigned(b)
			if err != nil {
				t.Fatalf("the client's Signed bytes of %s: %v", r.ID, err)
			}
			rc, err := ledger.Verify(sg)
			if err != nil || rc.ID != r.ID || rc.Requester != client.Peer || rc.Provider != p {
				t.Errorf("Go verifier on the receipt the client verified: %+v, %v", rc, err)
			}
			if logged[r.ID] != "provider" {
				t.Errorf("receipt %s the client verified is not in %s's ledger as provider: %v", r.ID, p, logged)
			}
		}
	}
}

// gossipRejected is the count of rejected gossip messages by label of the
// node of dir (`gpumesh status --json`).
func gossipRejected(t *testing.T, dir string) map[string]int {
	t.Helper()
	out, errOut, code := gpumesh(t, "status", "--json", "--data-dir", dir)
	if code != 0 {
		t.Fatalf("gpumesh status --json = exit %d: %s", code, errOut)
	}
	var st struct {
		Gossip struct {
			Rejected map[string]int `json:"rejected"`
		} `json:"gossip"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	return st.Gossip.Rejected
}
