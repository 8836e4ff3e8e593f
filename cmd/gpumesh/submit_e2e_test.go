package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// heardPeers lists the peers whose heartbeats the node of dir has heard.
func heardPeers(t *testing.T, dir string) []string {
	t.Helper()
	out, errOut, code := gpumesh(t, "peers", "--json", "--data-dir", dir)
	if code != 0 {
		t.Fatalf("gpumesh peers: exit %d: %s", code, errOut)
	}
	var ps []struct {
		ID            string  `json:"id"`
		LastHeartbeat *string `json:"last_heartbeat"`
	}
	if err := json.Unmarshal([]byte(out), &ps); err != nil {
		t.Fatalf("peers --json is not JSON: %v\n%s", err, out)
	}
	var ids []string
	for _, p := range ps {
		if p.LastHeartbeat != nil {
			ids = append(ids, p.ID)
		}
	}
	return ids
}

var submittedLine = regexp.MustCompile(`(?m)^job ([0-9a-f]{32}) submitted`)

// clusterPeers reads the PEER column of the cluster table submit prints.
func clusterPeers(out string) []string {
	var peers []string
	in := false
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		switch {
		case len(f) > 0 && f[0] == "PEER":
			in = true
		case in && (len(f) == 0 || f[0] == "max"):
			return peers
		case in:
			peers = append(peers, f[0])
		}
	}
	return peers
}

// startMarket starts a requester that offers nothing and n CPU providers
// bootstrapped to it, each its own process, and waits until the requester
// has heard every provider. It returns the requester's data dir and each
// provider's, by peer ID, in start order.
func startMarket(t *testing.T, n int) (reqDir string, providers []string, providerDir map[string]string, procs map[string]*proc) {
	t.Helper()
	reqDir = t.TempDir()
	cfg := "profile = \"test\"\n[offer]\nenabled = false\n"
	if err := os.WriteFile(filepath.Join(reqDir, "config.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	startNode(t, nil, "run", "--data-dir", reqDir)
	out, _, _ := gpumesh(t, "id", "--data-dir", reqDir)
	boot := strings.Fields(out)[1]
	providerDir, procs = map[string]string{}, map[string]*proc{}
	for range n {
		dir := t.TempDir()
		p := startNode(t, nil, "run", "--profile", "test", "--data-dir", dir, "--bootstrap", boot)
		providers = append(providers, p.peer)
		providerDir[p.peer] = dir
		procs[p.peer] = p
	}
	waitFor(t, "the requester hearing every provider", func() bool {
		heard := heardPeers(t, reqDir)
		for _, p := range providers {
			if !contains(heard, p) {
				return false
			}
		}
		return true
	})
	return reqDir, providers, providerDir, procs
}

// TestSubmitFormsACluster: a requester that offers nothing and three CPU
// providers, as separate processes; `gpumesh submit --workers 2` follows the
// job to a formed cluster of two of them, and the failures exit 1 or 2 with
// a reason.
func TestSubmitFormsACluster(t *testing.T) {
	reqDir, providers, providerDir, _ := startMarket(t, 3)

	// --max-rtt as a bare number is milliseconds; the winners then ping each other.
	out, errOut, code := gpumesh(t, "submit", "--workers", "2", "--max-rtt", "500", "--data-dir", reqDir)
	t.Logf("gpumesh submit --workers 2 --max-rtt 500:\n%s%s", out, errOut)
	if code != 0 {
		t.Fatalf("submit --workers 2 --max-rtt 500 = exit %d, want 0", code)
	}
	m := submittedLine.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "formed") {
		t.Fatalf("submit output lacks the job line or 'formed'")
	}
	id := m[1]
	cluster := clusterPeers(out)
	if len(cluster) != 2 || cluster[0] == cluster[1] {
		t.Fatalf("cluster table lists %v, want 2 distinct peers", cluster)
	}
	for _, p := range cluster {
		if !contains(providers, p) {
			t.Errorf("cluster member %s is not one of the providers %v", p, providers)
		}
	}
	if !strings.Contains(out, "requester fee") || !strings.Contains(out, "bound 500 ms") {
		t.Errorf("submit summary lacks the cost or the RTT line")
	}

	out, _, code = gpumesh(t, "jobs", "--json", "--data-dir", reqDir)
	var jobs struct {
		Requested []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"requested"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &jobs) != nil || len(jobs.Requested) != 1 ||
		jobs.Requested[0].ID != id || jobs.Requested[0].State != "formed" {
		t.Errorf("jobs --json = exit %d, want job %s formed\n%s", code, id, out)
	}
	out, _, code = gpumesh(t, "jobs", "--data-dir", reqDir)
	t.Logf("gpumesh jobs:\n%s", out)
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "formed") {
		t.Errorf("jobs = exit %d, want job %s formed\n%s", code, id, out)
	}
	out, _, code = gpumesh(t, "jobs", id, "--data-dir", reqDir)
	t.Logf("gpumesh jobs %s:\n%s", id, out)
	if code != 0 || !strings.Contains(out, "request ") || len(clusterPeers(out)) != 2 {
		t.Errorf("jobs %s = exit %d, want its events and cluster\n%s", id, code, out)
	}
	// The winners hold the award.
	out, _, code = gpumesh(t, "jobs", "--data-dir", providerDir[cluster[0]])
	t.Logf("gpumesh jobs on a provider:\n%s", out)
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "holding") {
		t.Errorf("jobs on provider %s = exit %d, want job %s holding\n%s", cluster[0], code, id, out)
	}
	_, errOut, code = gpumesh(t, "jobs", "0123456789abcdef0123456789abcdef", "--data-dir", reqDir)
	if code != 1 || !strings.Contains(errOut, "no job") {
		t.Errorf("jobs of an unknown job = exit %d, %q; want 1 and 'no job'", code, errOut)
	}

	// No provider has the class: the job fails and says why.
	out, errOut, code = gpumesh(t, "submit", "--class", "H100-80GB", "--bid-window", "1s", "--data-dir", reqDir)
	t.Logf("gpumesh submit --class H100-80GB:\n%s%s", out, errOut)
	if code != 1 || !strings.Contains(out, "0 bids") || !strings.Contains(errOut, "failed: no provider bid") {
		t.Errorf("submit --class H100-80GB = exit %d, want 1, 0 bids and why", code)
	}

	// The third provider is free: a detached job prints its ID at once.
	out, _, code = gpumesh(t, "submit", "--detach", "--data-dir", reqDir)
	if code != 0 || !regexp.MustCompile(`^[0-9a-f]{32}\n$`).MatchString(out) {
		t.Errorf("submit --detach = exit %d, %q; want 0 and the job ID", code, out)
	}

	unknownKey := filepath.Join(t.TempDir(), "job.yaml")
	if err := os.WriteFile(unknownKey, []byte("workers: 2\ngpu_count: 4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--workers", "10000"}, "workers"},
		{[]string{unknownKey}, "gpu_count"},
		{[]string{"--max-rtt", "soon"}, "max-rtt"},
		{[]string{"--wasm", filepath.Join(t.TempDir(), "missing.wasm")}, "--wasm"},
		{[]string{"--executor", "vm"}, "executor"},
		{[]string{"--urgency", "asap"}, "urgency"},
	} {
		args := append([]string{"submit", "--data-dir", reqDir}, tc.args...)
		out, errOut, code := gpumesh(t, args...)
		t.Logf("gpumesh %v: exit %d: %s", tc.args, code, errOut)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("gpumesh %v = exit %d, %q; want 2 mentioning %q", args, code, out+errOut, tc.want)
		}
	}
}

// TestSubmitRunsWasmWork: as a new user would, a requester and two CPU
// providers as processes; `gpumesh submit --wasm` runs a module that reads
// its input on both workers, prints the logs live, and `gpumesh results`
// copies every rank's output.
func TestSubmitRunsWasmWork(t *testing.T) {
	module := executortest.WasmModule(t, "copy")
	reqDir, _, _, _ := startMarket(t, 2)
	in := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte("hello gpumesh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := gpumesh(t, "submit", "--workers", "2", "--wasm", module, "--input", in, "--data-dir", reqDir, "--", "--lr", "0.1")
	t.Logf("gpumesh submit --wasm:\n%s%s", out, errOut)
	if code != 0 || !strings.Contains(out, "succeeded") {
		t.Fatalf("submit --wasm = exit %d, want 0 and succeeded", code)
	}
	for _, want := range []string{"[0] rank=0", "[1] rank=1", `[1] args=["--lr" "0.1"]`, "out.txt"} {
		if !strings.Contains(out, want) {
			t.Errorf("submit output lacks %q", want)
		}
	}
	id := submittedLine.FindStringSubmatch(out)[1]
	dest := t.TempDir()
	if out, errOut, code = gpumesh(t, "results", id, "-o", dest, "--data-dir", reqDir); code != 0 {
		t.Fatalf("results = exit %d: %s%s", code, out, errOut)
	}
	for r := range 2 {
		b, err := os.ReadFile(filepath.Join(dest, "rank-"+strconv.Itoa(r), "out.txt"))
		if err != nil || string(b) != "HELLO GPUMESH\n" {
			t.Errorf("rank %d output %q, %v", r, b, err)
		}
	}
	if out, _, code = gpumesh(t, "logs", id, "--data-dir", reqDir); code != 0 || !strings.Contains(out, "[0] copied 14 bytes") {
		t.Errorf("logs = exit %d:\n%s", code, out)
	}
	if _, errOut, code = gpumesh(t, "cancel", "0123456789abcdef0123456789abcdef", "--data-dir", reqDir); code != 1 || !strings.Contains(errOut, "no job") {
		t.Errorf("cancel of an unknown job = exit %d, %q", code, errOut)
	}
	if _, errOut, code = gpumesh(t, "results", id, "--data-dir", reqDir); code != 2 {
		t.Errorf("results without -o = exit %d, %q; want 2", code, errOut)
	}
}

// TestSubmitSurvivesAKilledProvider: a provider process of a running
// 2-worker job is killed with SIGKILL; the job finishes on the runner-up,
// `gpumesh jobs` shows the loss, the replacement and each provider's time
// served, and the results are all there.
func TestSubmitSurvivesAKilledProvider(t *testing.T) {
	if testing.Short() {
		t.Skip("four node processes and a killed one; runs without -short")
	}
	module := executortest.WasmModule(t, "ticks")
	reqDir, _, _, procs := startMarket(t, 3)
	in := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte("hello gpumesh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := gpumesh(t, "submit", "--workers", "2", "--wasm", module, "--input", in, "--detach", "--data-dir", reqDir, "--", "-n", "60", "-every", "100ms")
	if code != 0 {
		t.Fatalf("submit --detach = exit %d: %s%s", code, out, errOut)
	}
	id := strings.TrimSpace(out) // --detach prints the job ID alone
	var v market.JobView
	view := func() market.JobView {
		out, errOut, code := gpumesh(t, "jobs", id, "--json", "--data-dir", reqDir)
		if code != 0 {
			t.Fatalf("jobs %s --json = exit %d: %s", id, code, errOut)
		}
		var v market.JobView
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("jobs --json: %v\n%s", err, out)
		}
		return v
	}
	waitFor(t, "both workers ticking", func() bool {
		v = view()
		out, _, _ := gpumesh(t, "logs", id, "--data-dir", reqDir)
		return strings.Count(out, " tick 1 ") == 2 // "[r] tick 1 ..." of each rank
	})
	victim := v.Cluster[0].Peer
	t.Logf("killing %s (ranks %v) with SIGKILL", victim, v.Cluster[0].Ranks)
	if err := procs[victim].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// logs -f follows the job to its end.
	if out, errOut, code = gpumesh(t, "logs", id, "-f", "--data-dir", reqDir); code != 0 {
		t.Fatalf("logs -f = exit %d: %s%s", code, out, errOut)
	}
	out, _, _ = gpumesh(t, "jobs", id, "--data-dir", reqDir)
	t.Logf("gpumesh jobs %s:\n%s", id, out)
	v = view()
	if v.State != market.StateSucceeded || v.Failovers != 1 {
		t.Fatalf("job %s with %d failovers: %s", v.State, v.Failovers, v.Error)
	}
	for _, want := range []string{"lost mid-job", "replaced", "charged for time served", "(1 lost provider replaced)"} {
		if !strings.Contains(out, want) {
			t.Errorf("jobs output lacks %q", want)
		}
	}
	statuses := map[string]string{}
	for _, u := range v.Usage {
		statuses[u.Peer] = u.Status
		if !u.End.After(u.Start) {
			t.Errorf("usage of %s: %s to %s", u.Peer, u.Start, u.End)
		}
	}
	if len(v.Usage) != 3 || statuses[victim] != market.UsageLost {
		t.Errorf("usage %+v: want 3 records, the killed provider's lost", v.Usage)
	}
	dest := t.TempDir()
	if out, errOut, code = gpumesh(t, "results", id, "-o", dest, "--data-dir", reqDir); code != 0 {
		t.Fatalf("results = exit %d: %s%s", code, out, errOut)
	}
	for r := range 2 {
		b, err := os.ReadFile(filepath.Join(dest, "rank-"+strconv.Itoa(r), "out.txt"))
		if err != nil || string(b) != "HELLO GPUMESH\n" {
			t.Errorf("rank %d output %q, %v", r, b, err)
		}
	}
}
