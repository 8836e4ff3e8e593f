package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// jobsServer serves jobs as GET /api/v1/jobs, and 404 for every
// GET /api/v1/jobs/{id} (no job requested here), for a data dir it returns.
func jobsServer(t *testing.T, jobs api.Jobs) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/jobs", func(w http.ResponseWriter, r *http.Request) { _ = json.NewEncoder(w).Encode(jobs) })
	mux.HandleFunc("GET /api/v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "no job \"" + r.PathValue("id") + "\" requested by this node"})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	if err := api.WriteAddrFile(dir, srv.URL); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestJobsShowProvidedNetworks: on a provider, `gpumesh jobs` writes the
// job network's counters of each run it serves under the table, `gpumesh
// jobs JOB` of a job it only serves shows that award with them, and
// --json carries them as "network"; a job neither requested nor served
// is an error that says so.
func TestJobsShowProvidedNetworks(t *testing.T) {
	now := time.Now()
	counters := &run.NetCounters{BytesIn: 3 << 20, PacketsIn: 2400, BytesOut: 512, PacketsOut: 8,
		Drops: map[string]uint64{"spoofed_source": 1, "not_member": 2}}
	jobs := api.Jobs{Provided: []market.Reservation{
		{Job: "jobnet", Requester: "12D3KooWRequester", Ranks: []int{1}, WorldSize: 2, Price: 0.05, Accepted: now, Until: now.Add(time.Hour),
			Running: true, Network: counters},
		{Job: "jobplain", Requester: "12D3KooWRequester", Ranks: []int{0}, WorldSize: 1, Price: 0.05, Accepted: now, Until: now.Add(time.Hour),
			Ended: "finished"},
	}}
	dir := jobsServer(t, jobs)
	line := "3.0 MiB in (2400 packets), 512 B out (8 packets); 3 dropped: 2 not_member, 1 spoofed_source"
	run := func(args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), append(args, "--data-dir", dir), &out, &errOut)
		return out.String(), errOut.String(), code
	}

	out, errOut, code := run("jobs")
	if code != ExitOK || !strings.Contains(out, "provided (2)") || !strings.Contains(out, "job network of jobnet here: "+line+"\n") ||
		strings.Contains(out, "job network of jobplain") {
		t.Errorf("jobs: exit %d %s\n%s", code, errOut, out)
	}
	out, errOut, code = run("jobs", "jobnet")
	if code != ExitOK || !strings.Contains(out, "job jobnet, served here for 12D3KooWRequester: ranks 1 of 2") ||
		!strings.Contains(out, "; running\n") || !strings.Contains(out, "job network here: "+line+"\n") {
		t.Errorf("jobs jobnet: exit %d %s\n%s", code, errOut, out)
	}
	out, errOut, code = run("jobs", "jobnet", "--json")
	var back api.Jobs
	if err := json.Unmarshal([]byte(out), &back); code != ExitOK || err != nil {
		t.Fatalf("jobs jobnet --json: exit %d %s %v\n%s", code, errOut, err, out)
	}
	if len(back.Provided) != 1 || back.Provided[0].Network == nil || back.Provided[0].Network.BytesIn != 3<<20 ||
		back.Provided[0].Network.Drops["not_member"] != 2 || back.Requested == nil {
		t.Errorf("jobs jobnet --json: %+v", back)
	}
	if !strings.Contains(out, `"network": {`) || !strings.Contains(out, `"packets_out": 8`) {
		t.Errorf("jobs jobnet --json lacks the network's counters:\n%s", out)
	}
	out, errOut, code = run("jobs", "jobplain")
	if code != ExitOK || !strings.Contains(out, "ended: finished") || strings.Contains(out, "job network") {
		t.Errorf("jobs jobplain: exit %d %s\n%s", code, errOut, out)
	}
	_, errOut, code = run("jobs", "nosuchjob")
	if code != ExitFailure || !strings.Contains(errOut, "no job \"nosuchjob\" requested by this node, nor served by it") {
		t.Errorf("jobs nosuchjob: exit %d, %q", code, errOut)
	}
}
