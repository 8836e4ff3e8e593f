package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// heapInUse is the heap in use after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestLogFloodIsBounded: a wasm job writing 32 MiB of log lines (each with
// terminal escapes) through a real provider keeps at most the cap
// (market.job_log_mb) on the requester's disk, none of it in the job view
// or the heap; the API serves every kept line in bounded pages, raw, with
// the dropped count; the file goes with the job.
func TestLogFloodIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("32 MiB of logs through a provider")
	}
	module := executortest.WasmModule(t, "logflood")
	const floodMB, capMB = 32, 4
	f := nodetest.Start(t, 2, nodetest.Options{Configure: func(i int, c *config.Config) {
		c.Offer.Enabled = i > 0
		c.Market.JobLogMB = capMB
	}})
	f.WaitHeard(t, 30*time.Second)
	req := f.Nodes[0]
	nodetest.WaitFor(t, 30*time.Second, f.Nodes[1].Offering, func() string { return "the provider did not offer" })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runJob := func(mib string) market.JobView {
		v, err := req.Market().Submit(ctx, market.Spec{Workers: 1, Module: module, Args: []string{mib}})
		if err != nil {
			t.Fatal(err)
		}
		if v, err = req.Market().Wait(ctx, v.ID); err != nil || v.State != market.StateSucceeded {
			t.Fatalf("job %s %s: %v", v.State, v.Error, err)
		}
		return v
	}
	runJob("0") // warms what any job leaves: the compiled module, streams, peers
	before := heapInUse()
	v := runJob(fmt.Sprint(floodMB))
	grew := int64(heapInUse()) - int64(before)
	t.Logf("requester heap in use: %.1f MiB before, grew %.1f MiB after %d MiB of logs", float64(before)/(1<<20), float64(grew)/(1<<20), floodMB)
	if grew > 8<<20 {
		t.Errorf("the heap grew %d MiB after the job, want under 8 MiB (the cap and 4 MiB): logs are kept on disk", grew>>20)
	}

	view, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("job view JSON: %d bytes; logs %+v", len(view), *v.Logs)
	if len(view) > 64<<10 {
		t.Errorf("job view JSON %d bytes, want under 64 KiB: log lines stay out of it", len(view))
	}
	c := v.Logs
	if c == nil || c.Bytes > capMB<<20 || c.Bytes < (capMB-1)<<20 || c.Dropped == 0 || c.Lines+c.Dropped != floodMB*64 {
		t.Fatalf("log counts %+v: want about %d MiB kept of %d lines of 16 KiB, the rest dropped", c, capMB, floodMB*64)
	}
	if !strings.Contains(string(view), `"dropped"`) {
		t.Errorf("the job view does not say lines were dropped")
	}
	file := filepath.Join(req.DataDir(), "results", ".logs", v.ID+".log")
	if st, err := os.Stat(file); err != nil || st.Size() != c.Bytes {
		t.Fatalf("log file %s: %v, %v; want %d bytes", file, st, err, c.Bytes)
	}

	srv := httptest.NewServer(api.Handler(req))
	defer srv.Close()
	client := api.NewClient(srv.URL)
	var lines, pages int64
	var from int64
	for {
		p, err := client.JobLogs(ctx, v.ID, from, 0, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Lines) > market.MaxLogPageLines || p.Next-from > 1<<20 {
			t.Fatalf("page of %d lines, %d bytes: over the bound", len(p.Lines), p.Next-from)
		}
		for _, l := range p.Lines {
			if !strings.HasPrefix(l.Text, "\x1b[2J\x1b]0;pwned\x07\r\u202e") {
				t.Fatalf("line %d not kept raw: %q", lines, l.Text[:20])
			}
			lines++
		}
		pages++
		from = p.Next
		if p.Final {
			if p.Counts.Dropped != c.Dropped {
				t.Errorf("last page says %d dropped, the view %d", p.Counts.Dropped, c.Dropped)
			}
			break
		}
	}
	if lines != c.Lines {
		t.Errorf("read %d lines in %d pages, %d kept", lines, pages, c.Lines)
	}
	t.Logf("read %d lines in %d pages", lines, pages)
}
