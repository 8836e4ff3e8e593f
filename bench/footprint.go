package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
)

// clockTicks is the kernel's USER_HZ, the unit of utime and stime in /proc/PID/stat.
const clockTicks = 100

var ready = regexp.MustCompile(`^gpumesh: node ready peer=(\S+) api=(\S+)$`)

// benchFootprint is B7: the gpumesh binary runs as its own process with the
// home profile's defaults; peers in this process connect to it; its RSS
// and CPU are read from /proc for dur.
func benchFootprint(binary string, peers int, dur time.Duration) Result {
	res := Result{
		ID: "B7", Name: "idle node footprint", Unit: "MB, % of one core",
		Params: map[string]any{"peers": peers, "seconds": dur.Seconds()},
		Target: "RSS <= 80 MB, CPU <= 2% of one core",
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		res.Skipped = "needs Linux /proc to read RSS and CPU"
		return res
	}
	fi, err := os.Stat(binary)
	if err != nil {
		res.Skipped = fmt.Sprintf("no binary at %s (run make build)", binary)
		return res
	}
	tb := &benchTB{}
	defer tb.close()
	dir := tb.TempDir()
	// The home profile, what a double-clicked binary runs, with only what
	// this machine needs changed: loopback only, no mDNS or port mapping
	// (nothing may leave the machine), a free API port, no browser.
	conf := "profile = 'home'\nheadless = true\n" +
		"[p2p]\nlisten = ['/ip4/127.0.0.1/tcp/0']\nmdns = false\nnat_port_map = false\nconn_low = 64\nconn_high = 128\n" +
		"[api]\nlisten = '127.0.0.1:0'\n"
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(conf), 0o600); err != nil {
		tb.Fatalf("write config: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "run", "--data-dir", dir)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", binary, err)
	}
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	sc := bufio.NewScanner(out)
	var apiURL string
	for sc.Scan() {
		if m := ready.FindStringSubmatch(sc.Text()); m != nil {
			apiURL = m[2]
			break
		}
	}
	if apiURL == "" {
		tb.Fatalf("the node never printed its readiness line")
	}
	go func() { // keep draining stdout
		for sc.Scan() {
		}
	}()
	client := api.NewClient(apiURL)
	st, err := client.Status(ctx)
	if err != nil {
		tb.Fatalf("status: %v", err)
	}
	_ = nodetest.Start(tb, peers, nodetest.Options{Bootstrap: st.Addrs, Configure: func(_ int, c *config.Config) {
		// The defaults, not the test profile's 1 s: the peers behave as a
		// real network's would.
		def := config.Default()
		c.Gossip.HeartbeatInterval = def.Gossip.HeartbeatInterval
		c.P2P.ProbeInterval = def.P2P.ProbeInterval
	}})
	nodetest.WaitFor(tb, time.Minute, func() bool {
		st, err = client.Status(ctx)
		return err == nil && st.ConnectedPeers >= peers
	}, func() string { return fmt.Sprintf("node has %d peers, want %d", st.ConnectedPeers, peers) })
	time.Sleep(5 * time.Second) // connection set-up and DHT refreshes settle

	pid := cmd.Process.Pid
	cpu0, err := cpuTicks(pid)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	start := time.Now()
	var maxRSS float64
	for time.Since(start) < dur {
		time.Sleep(time.Second)
		if r, err := rssMB(pid); err == nil && r > maxRSS {
			maxRSS = r
		}
	}
	cpu1, err := cpuTicks(pid)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	elapsed := time.Since(start).Seconds()
	st, _ = client.Status(ctx)
	cpuPct := 100 * float64(cpu1-cpu0) / clockTicks / elapsed
	res.Figures = map[string]float64{
		"rss_max":        maxRSS,
		"cpu_pct":        cpuPct,
		"peers_at_end":   float64(st.ConnectedPeers),
		"binary_size_mb": float64(fi.Size()) / (1 << 20),
	}
	ok := maxRSS <= 80 && cpuPct <= 2
	res.Verdict = map[bool]string{true: "met", false: "missed"}[ok]
	return res
}

// cpuTicks returns utime+stime of pid in clock ticks.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return ut + st, nil
}

// rssMB returns the resident set size of pid in MiB.
func rssMB(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, err := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
