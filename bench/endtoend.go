package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
)

// benchEndToEnd is B10: a requester and three providers, each the gpumesh
// binary in its own process on loopback (test profile); wasm jobs of 1 and
// 3 workers submitted through the CLI, each timed from the command's start
// to its exit (results written); then 40 jobs more, and one provider's
// RSS after them against its RSS before any job.
func benchEndToEnd(binary string, runs, jobs int) Result {
	res := Result{ID: "B10", Name: "one job end to end through the CLI", Unit: "ms or MB as named",
		Params: map[string]any{"providers": 3, "runs_per_size": runs, "jobs_for_rss": jobs,
			"job": "wasm module reading /inputs/in.txt, writing /outputs/out.txt; loopback; test profile"},
		Target: "1 worker <= 300 ms, 3 workers <= 1 s; provider RSS after 40 jobs within 1.5x of idle", Figures: map[string]float64{}}
	if _, err := os.Stat(binary); err != nil {
		res.Skipped = fmt.Sprintf("no binary at %s (run make build)", binary)
		return res
	}
	tb := &benchTB{}
	defer tb.close()
	module := executortest.WasmModule(tb, "copy")
	in := filepath.Join(tb.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte("hello gpumesh\n"), 0o644); err != nil {
		tb.Fatalf("%v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := func(offer bool, boot string) (dir string, pid int, peer string) {
		dir = tb.TempDir()
		conf := "profile = 'test'\n"
		if !offer {
			conf += "[offer]\nenabled = false\n"
		}
		if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(conf), 0o600); err != nil {
			tb.Fatalf("%v", err)
		}
		args := []string{"run", "--data-dir", dir}
		if boot != "" {
			args = append(args, "--bootstrap", boot)
		}
		cmd := exec.CommandContext(ctx, binary, args...)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			tb.Fatalf("start %s: %v", binary, err)
		}
		tb.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := ready.FindStringSubmatch(sc.Text()); m != nil {
				peer = m[1]
				break
			}
		}
		go func() {
			for sc.Scan() {
			}
		}()
		if peer == "" {
			tb.Fatalf("a node never printed its readiness line")
		}
		return dir, cmd.Process.Pid, peer
	}
	reqDir, _, _ := start(false, "")
	url, err := api.ReadAddrFile(reqDir)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	client := api.NewClient(url)
	st, err := client.Status(ctx)
	if err != nil {
		tb.Fatalf("status: %v", err)
	}
	var providerPID int
	var providers []string
	for i := range 3 {
		_, pid, peer := start(true, st.Addrs[0])
		if i == 0 {
			providerPID = pid
		}
		providers = append(providers, peer)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		peers, _ := client.Peers(ctx)
		heard := 0
		for _, p := range peers {
			if p.LastHeartbeat != nil && strings.Contains(strings.Join(providers, " "), p.ID) {
				heard++
			}
		}
		if heard == 3 {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the requester did not hear the three providers")
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // idle: the providers settle
	idle, _ := rssMB(providerPID)
	submit := func(workers int) (time.Duration, error) {
		t0 := time.Now()
		out, err := exec.Command(binary, "submit", "--workers", fmt.Sprint(workers), "--wasm", module, "--input", in, "--data-dir", reqDir).CombinedOutput()
		took := time.Since(t0)
		if err != nil {
			return took, fmt.Errorf("%v: %s", err, out)
		}
		return took, nil
	}
	// The first job of each size compiles the module on the providers.
	for _, k := range []int{1, 3} {
		took, err := submit(k)
		if err != nil {
			res.Skipped = "submit: " + err.Error()
			return res
		}
		res.Figures[fmt.Sprintf("w%d_first_ms", k)] = ms(took)
	}
	// After the first jobs the provider holds the compiled module: what
	// grows after this is per-job memory that stays.
	warm, _ := rssMB(providerPID)
	res.Figures["provider_rss_after_first_2_jobs_mb"] = warm
	for _, k := range []int{1, 3} {
		var times []float64
		for range runs {
			took, err := submit(k)
			if err != nil {
				res.Skipped = "submit: " + err.Error()
				return res
			}
			times = append(times, ms(took))
		}
		res.Figures[fmt.Sprintf("w%d_p50_ms", k)] = median(times)
		res.Figures[fmt.Sprintf("w%d_max_ms", k)] = quantile(times, 1)
	}
	for range jobs {
		if _, err := submit(3); err != nil {
			res.Skipped = "submit: " + err.Error()
			return res
		}
	}
	after, _ := rssMB(providerPID)
	res.Figures["provider_rss_idle_mb"] = idle
	res.Figures[fmt.Sprintf("provider_rss_after_%d_jobs_mb", jobs+2+2*runs)] = after
	ok := res.Figures["w1_p50_ms"] <= 300 && res.Figures["w3_p50_ms"] <= 1000 && after <= 1.5*idle
	res.Verdict = map[bool]string{true: "met", false: "missed"}[ok]
	return res
}
