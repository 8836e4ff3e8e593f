package main_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/gpumesh/gpumesh/ledger/anchor/evm/evmtest"
	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// jobReceipts returns the IDs of the receipts the requester of dir logged
// for job id.
func jobReceipts(t *testing.T, dir, id string) []string {
	t.Helper()
	out, errOut, code := gpumesh(t, "jobs", id, "--json", "--data-dir", dir)
	if code != 0 {
		t.Fatalf("jobs %s --json = exit %d: %s", id, code, errOut)
	}
	var v market.JobView
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("jobs --json: %v\n%s", err, out)
	}
	var ids []string
	for _, u := range v.Usage {
		ids = append(ids, u.Receipts...)
	}
	return ids
}

// listedReceipts runs `gpumesh receipts list --json` on dir and returns the
// receipt IDs and each one's role there.
func listedReceipts(t *testing.T, dir string) map[string]string {
	t.Helper()
	out, errOut, code := gpumesh(t, "receipts", "list", "--json", "--data-dir", dir)
	if code != 0 {
		t.Fatalf("receipts list --json = exit %d: %s", code, errOut)
	}
	var rs struct {
		Receipts []struct {
			Role    string `json:"role"`
			Receipt struct {
				ID string `json:"id"`
			} `json:"receipt"`
		} `json:"receipts"`
	}
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("receipts list --json: %v\n%s", err, out)
	}
	m := map[string]string{}
	for _, r := range rs.Receipts {
		m[r.Receipt.ID] = r.Role
	}
	return m
}

// runWasmJob submits the copy module to the requester of dir and returns
// the job's ID once it succeeded and its receipts are logged.
func runWasmJob(t *testing.T, dir string) (job string, receipts []string) {
	t.Helper()
	module := executortest.WasmModule(t, "copy")
	in := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte("receipt me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := gpumesh(t, "submit", "--wasm", module, "--input", in, "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "succeeded") {
		t.Fatalf("submit --wasm = exit %d:\n%s%s", code, out, errOut)
	}
	job = submittedLine.FindStringSubmatch(out)[1]
	waitFor(t, "the job's receipts", func() bool {
		receipts = jobReceipts(t, dir, job)
		return len(receipts) > 0
	})
	return job, receipts
}

// TestReceiptsVerifyAsANewUser does what the "tried as a new user"
// says: after a wasm job between two local nodes, `gpumesh receipts verify`
// passes on the requester's side and both sides list the same receipt;
// then, with the provider stopped, one byte of its ledger is edited and
// `gpumesh receipts verify --all` (offline) fails and says where.
func TestReceiptsVerifyAsANewUser(t *testing.T) {
	reqDir, providers, providerDir, procs := startMarket(t, 1)
	prov := providers[0]
	provDir := providerDir[prov]
	job, ids := runWasmJob(t, reqDir)
	if len(ids) != 1 {
		t.Fatalf("job %s has receipts %v, want one (one worker)", job, ids)
	}
	id := ids[0]

	out, errOut, code := gpumesh(t, "receipts", "verify", id, "--data-dir", reqDir)
	t.Logf("gpumesh receipts verify %s (requester):\n%s%s", id, out, errOut)
	if code != 0 {
		t.Fatalf("verify on the requester = exit %d, want 0", code)
	}
	for _, want := range []string{"PASS  signatures", "PASS  entry", "PASS  inclusion", "not anchored yet (anchoring off / pending)", "verified"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q", want)
		}
	}
	if _, _, code := gpumesh(t, "receipts", "verify", id, "--require-anchor", "--data-dir", reqDir); code != 1 {
		t.Errorf("verify --require-anchor of an unanchored receipt = exit %d, want 1", code)
	}

	// Both sides list the same receipt, each in its own role.
	waitFor(t, "the provider listing the receipt", func() bool { return listedReceipts(t, provDir)[id] != "" })
	if got := listedReceipts(t, reqDir); got[id] != "requester" || len(got) != 1 {
		t.Errorf("requester lists %v, want %s as requester", got, id)
	}
	if got := listedReceipts(t, provDir); got[id] != "provider" || len(got) != 1 {
		t.Errorf("provider lists %v, want %s as provider", got, id)
	}
	out, _, code = gpumesh(t, "receipts", "--data-dir", reqDir)
	t.Logf("gpumesh receipts (requester):\n%s", out)
	if code != 0 || !strings.Contains(out, id[:12]) || !strings.Contains(out, "requester") || !strings.Contains(out, "succeeded") {
		t.Errorf("receipts table = exit %d", code)
	}
	out, _, code = gpumesh(t, "receipts", "list", "--job", job, "--data-dir", provDir)
	if code != 0 || !strings.Contains(out, id[:12]) || !strings.Contains(out, "provider") {
		t.Errorf("receipts list --job on the provider = exit %d:\n%s", code, out)
	}
	out, _, code = gpumesh(t, "receipts", "show", id[:10], "--data-dir", provDir)
	t.Logf("gpumesh receipts show %s (provider, by prefix):\n%s", id[:10], out)
	for _, want := range []string{id, "provider receives", "requester pays", "fees", "(this node)", "not yet"} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q", want)
		}
	}
	var proof struct {
		Signed  []byte `json:"signed"`
		Receipt struct {
			Amount int64 `json:"amount"`
		} `json:"receipt"`
	}
	out, _, code = gpumesh(t, "receipts", "show", id, "--json", "--data-dir", provDir)
	if code != 0 || json.Unmarshal([]byte(out), &proof) != nil || len(proof.Signed) == 0 {
		t.Fatalf("show --json = exit %d:\n%s", code, out)
	}
	if out, errOut, code = gpumesh(t, "receipts", "verify", id, "--data-dir", provDir); code != 0 {
		t.Errorf("verify on the provider = exit %d:\n%s%s", code, out, errOut)
	}
	out, _, code = gpumesh(t, "receipts", "verify", "--all", "--data-dir", reqDir)
	if code != 0 || !strings.Contains(out, "PASS  hash chain") {
		t.Errorf("verify --all on the requester = exit %d:\n%s", code, out)
	}
	balance := func(dir string) (earned, spent int64) {
		out, _, code := gpumesh(t, "receipts", "balances", "--json", "--data-dir", dir)
		var b struct {
			Pools []struct {
				Earned int64 `json:"earned"`
				Spent  int64 `json:"spent"`
			} `json:"pools"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &b) != nil || len(b.Pools) != 1 {
			t.Fatalf("balances --json = exit %d:\n%s", code, out)
		}
		return b.Pools[0].Earned, b.Pools[0].Spent
	}
	if e, s := balance(provDir); e != proof.Receipt.Amount || s != 0 {
		t.Errorf("provider earned %d spent %d, want %d and 0", e, s, proof.Receipt.Amount)
	}
	if e, s := balance(reqDir); e != 0 || s != proof.Receipt.Amount {
		t.Errorf("requester earned %d spent %d, want 0 and %d", e, s, proof.Receipt.Amount)
	}

	// A node that lies: its API, seen through a proxy that edits the
	// receipt on the way, fails the check the edit breaks, and says so.
	for _, tc := range []struct {
		name  string
		edit  func(p map[string]any)
		wants []string
	}{
		{"a flipped signed byte", func(p map[string]any) {
			b, _ := base64.StdEncoding.DecodeString(p["signed"].(string))
			b[len(b)/2] ^= 1
			p["signed"] = base64.StdEncoding.EncodeToString(b)
		}, []string{"FAIL  signatures", "FAIL  entry", "does not hold these signed bytes"}},
		{"another root", func(p map[string]any) {
			p["inclusion"].(map[string]any)["root"] = strings.Repeat("ab", 32)
		}, []string{"PASS  signatures", "FAIL  inclusion", "not in the tree of size"}},
	} {
		out, errOut, code := gpumesh(t, "receipts", "verify", id, "--data-dir", tamperingProxy(t, reqDir, tc.edit))
		t.Logf("verify through a node that serves %s:\n%s%s", tc.name, out, errOut)
		if code != 1 || !strings.Contains(errOut, "failed verification") {
			t.Errorf("%s: exit %d, want 1 and 'failed verification'", tc.name, code)
		}
		for _, want := range tc.wants {
			if !strings.Contains(out, want) {
				t.Errorf("%s: output lacks %q", tc.name, want)
			}
		}
	}

	// Bad usage exits 2; an unknown receipt 1.
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"receipts", "verify"}, 2, "receipt ID"},
		{[]string{"receipts", "verify", id, "--all"}, 2, "not both"},
		{[]string{"receipts", "show"}, 2, "one receipt ID"},
		{[]string{"receipts", "list", "--peer", "bob"}, 2, "not a peer ID"},
		{[]string{"receipts", "list", "--limit", "-3"}, 2, "--limit"},
		{[]string{"receipts", "verify", "--rpc", "ftp://chain", id}, 2, "rpc_url"},
		{[]string{"receipts", "show", "0123456789abcdef"}, 1, "no receipt"},
		{[]string{"receipts", "verify", strings.Repeat("0", 64)}, 1, "no receipt"},
	} {
		out, errOut, code := gpumesh(t, append(tc.args, "--data-dir", reqDir)...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("gpumesh %v = exit %d, %q; want %d mentioning %q", tc.args, code, out+errOut, tc.code, tc.want)
		}
	}

	for range 3 {
		runWasmJob(t, reqDir)
	}
	waitFor(t, "the provider logging 4 receipts", func() bool { return len(listedReceipts(t, provDir)) == 4 })

	// The provider stops cleanly (Badger flushes its tables); its ledger
	// is then read directly, and verifies.
	procs[prov].stop(t, syscall.SIGTERM)
	out, errOut, code = gpumesh(t, "receipts", "verify", "--all", "--data-dir", provDir)
	t.Logf("gpumesh receipts verify --all (provider, offline):\n%s%s", out, errOut)
	if code != 0 || !strings.Contains(errOut, "(offline: read "+filepath.Join(provDir, "ledger")+" directly)") {
		t.Fatalf("offline verify --all of the intact ledger = exit %d, want 0 and the offline note", code)
	}
	if out, errOut, code = gpumesh(t, "receipts", "verify", id, "--data-dir", provDir); code != 0 || !strings.Contains(out, "PASS  inclusion") {
		t.Errorf("offline verify %s = exit %d:\n%s%s", id, code, out, errOut)
	}
	if got := listedReceipts(t, provDir); got[id] != "provider" || len(got) != 4 {
		t.Errorf("offline list: %v", got)
	}

	// Edit one byte of the provider's ledger: inside the first receipt's
	// signed bytes, in whichever Badger file holds them. A few more jobs
	// first, so that the entry does not share its table block with the
	// table's last key (Badger reads that block at open and would refuse
	// the whole table).
	file, at := findBytes(t, filepath.Join(provDir, "ledger"), proof.Signed[len(proof.Signed)/2-24:len(proof.Signed)/2+24])
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	data[at+24] ^= 0x01
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("flipped byte %d of %s", at+24, filepath.Base(file))
	out, errOut, code = gpumesh(t, "receipts", "verify", "--all", "--data-dir", provDir)
	t.Logf("gpumesh receipts verify --all after the edit (provider, offline):\n%s%s", out, errOut)
	if code != 1 || !regexp.MustCompile(`entry \d+: `).MatchString(out) || !strings.Contains(out, "FAIL") || !strings.Contains(errOut, "failed verification") {
		t.Errorf("verify --all of the edited ledger = exit %d; want 1, a FAIL line naming the entry", code)
	}
	if _, _, code = gpumesh(t, "receipts", "verify", "--all", "--json", "--data-dir", provDir); code != 1 {
		t.Errorf("verify --all --json of the edited ledger = exit %d, want 1", code)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tamperingProxy serves the API of the node of nodeDir through a proxy
// that passes each GET /api/v1/receipts/{id} answer through edit, and
// returns a data dir whose api file points at it.
func tamperingProxy(t *testing.T, nodeDir string, edit func(map[string]any)) string {
	t.Helper()
	u, err := url.Parse(strings.TrimSpace(readFile(t, filepath.Join(nodeDir, "api"))))
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		if !strings.HasPrefix(resp.Request.URL.Path, "/api/v1/receipts/") || resp.StatusCode != http.StatusOK {
			return nil
		}
		var p map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
			return err
		}
		resp.Body.Close()
		edit(p)
		b, _ := json.Marshal(p)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Del("Content-Length")
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	// The proxy's data dir has the node's top-level files (an API token,
	// if the node writes one) but its own api file.
	dir := t.TempDir()
	files, _ := os.ReadDir(nodeDir)
	for _, f := range files {
		if f.Type().IsRegular() && f.Name() != "api" && f.Name() != "lock" {
			if err := os.WriteFile(filepath.Join(dir, f.Name()), []byte(readFile(t, filepath.Join(nodeDir, f.Name()))), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "api"), []byte(srv.URL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// findBytes returns the file under dir holding b and where.
func findBytes(t *testing.T, dir string, b []byte) (string, int) {
	t.Helper()
	files, _ := os.ReadDir(dir)
	var names []string
	for _, f := range files {
		names = append(names, f.Name())
		data, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil || f.IsDir() {
			continue
		}
		if i := bytes.Index(data, b); i >= 0 {
			return filepath.Join(dir, f.Name()), i
		}
	}
	t.Fatalf("no file of %v holds the receipt's bytes", names)
	return "", 0
}

// TestReceiptsVerifyAnchoredOnChain: a requester and a provider, each
// anchoring its ledger on the dev chain after every entry (keys from
// GPUMESH_ANCHOR_KEY); after a job, `gpumesh receipts verify` passes every
// check on both sides, the on-chain one through the node and through
// --rpc, and with --require-anchor.
func TestReceiptsVerifyAnchoredOnChain(t *testing.T) {
	rpc := evmtest.RPC(t)
	anchorCfg := fmt.Sprintf("[anchor]\nrpc_url = %q\nevery = 1\ninterval = \"2s\"\n", rpc)
	reqDir, provDir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(reqDir, "config.toml"), []byte("profile = \"test\"\n[offer]\nenabled = false\n"+anchorCfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(provDir, "config.toml"), []byte("profile = \"test\"\n"+anchorCfg), 0o600); err != nil {
		t.Fatal(err)
	}
	req := startNode(t, []string{"GPUMESH_ANCHOR_KEY=" + evmtest.FundedKey(t, rpc)}, "run", "--data-dir", reqDir)
	out, _, _ := gpumesh(t, "id", "--data-dir", reqDir)
	prov := startNode(t, []string{"GPUMESH_ANCHOR_KEY=" + evmtest.FundedKey(t, rpc)}, "run", "--data-dir", provDir, "--bootstrap", strings.Fields(out)[1])
	waitFor(t, "the requester hearing the provider", func() bool { return contains(heardPeers(t, reqDir), prov.peer) })
	_, ids := runWasmJob(t, reqDir)
	id := ids[0]
	waitFor(t, "the provider logging the receipt", func() bool { return listedReceipts(t, provDir)[id] != "" })

	anchored := func(dir string, peerAnchor bool) bool {
		out, _, code := gpumesh(t, "receipts", "show", id, "--json", "--data-dir", dir)
		var p struct {
			Anchor     *json.RawMessage `json:"anchor"`
			PeerAnchor *json.RawMessage `json:"peer_anchor"`
		}
		return code == 0 && json.Unmarshal([]byte(out), &p) == nil && p.Anchor != nil && (!peerAnchor || p.PeerAnchor != nil)
	}
	waitFor(t, "both sides anchoring the receipt and hearing the other's anchor", func() bool {
		return anchored(reqDir, true) && anchored(provDir, true)
	})
	for _, dir := range []string{reqDir, provDir} {
		for _, extra := range [][]string{nil, {"--rpc", rpc, "--require-anchor"}} {
			args := append([]string{"receipts", "verify", id, "--data-dir", dir}, extra...)
			out, errOut, code := gpumesh(t, args...)
			t.Logf("gpumesh %v:\n%s%s", args[:3], out, errOut)
			if code != 0 || strings.Contains(out, "WARN") || strings.Contains(out, "FAIL") {
				t.Errorf("gpumesh %v = exit %d, want every check passed", args, code)
			}
			for _, want := range []string{"PASS  checkpoint", "PASS  inclusion", "PASS  on chain", "PASS  counterparty anchor", "anchored tree"} {
				if !strings.Contains(out, want) {
					t.Errorf("gpumesh %v lacks %q", args, want)
				}
			}
		}
	}
	out, _, code := gpumesh(t, "receipts", "verify", "--all", "--data-dir", provDir)
	if code != 0 || !strings.Contains(out, "PASS  anchor") {
		t.Errorf("verify --all with anchors = exit %d:\n%s", code, out)
	}
	out, _, _ = gpumesh(t, "receipts", "--data-dir", provDir)
	t.Logf("gpumesh receipts (provider):\n%s", out)

	// A forged anchor record: the same checkpoint claimed in another
	// transaction; the chain does not hold it there.
	out, _, _ = gpumesh(t, "receipts", "show", id, "--json", "--data-dir", provDir)
	var p map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	var a map[string]any
	if err := json.Unmarshal(p["anchor"], &a); err != nil {
		t.Fatal(err)
	}
	a["tx"] = "0x" + strings.Repeat("ab", 32)
	body, _ := json.Marshal(a)
	resp, err := http.Post(prov.api+"/api/v1/anchors/verify", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var ac struct {
		Checked, OK bool
		Reason      string
	}
	_ = json.NewDecoder(resp.Body).Decode(&ac)
	resp.Body.Close()
	if resp.StatusCode != 200 || !ac.Checked || ac.OK || !strings.Contains(ac.Reason, "not found") {
		t.Errorf("verify a forged anchor: %d %+v, want checked and refused", resp.StatusCode, ac)
	}
	req.stop(t, syscall.SIGTERM)
	prov.stop(t, syscall.SIGTERM)
}
