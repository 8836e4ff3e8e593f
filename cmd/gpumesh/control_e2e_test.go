package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// market is the part of GET /api/v1/market these tests read.
type marketView struct {
	Paused bool     `json:"paused"`
	Prices []string `json:"prices"`
	Hours  []string `json:"hours"`
	Saved  bool     `json:"saved"`
	Asks   []struct {
		Class string  `json:"class"`
		Price float64 `json:"price"`
		Free  int     `json:"free"`
	} `json:"asks"`
}

func readMarket(t *testing.T, args ...string) marketView {
	t.Helper()
	out, errOut, code := gpumesh(t, append([]string{"--json"}, args...)...)
	if code != 0 {
		t.Fatalf("gpumesh %v: exit %d: %s", args, code, errOut)
	}
	var m marketView
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("gpumesh %v: %v\n%s", args, err, out)
	}
	return m
}

// TestControlCommands: pause, resume and prices change what the running
// node offers, the price change lands in its config file, and bad input or
// a missing token is refused with the right exit code and nothing changes.
func TestControlCommands(t *testing.T) {
	dir := t.TempDir()
	p := startNode(t, nil, "run", "--profile", "test", "--data-dir", dir)
	m := readMarket(t, "prices", "--data-dir", dir)
	if m.Paused || len(m.Asks) == 0 || m.Asks[0].Price != 0.04 {
		t.Fatalf("at start: %+v, want offering the CPU at 0.04", m)
	}
	m = readMarket(t, "prices", "cpu=0.07", "--data-dir", dir)
	if !m.Saved || m.Asks[0].Price != 0.07 || strings.Join(m.Prices, " ") != "gpu=1.00 apple=0.30 cpu=0.07" {
		t.Fatalf("after prices cpu=0.07: %+v", m)
	}
	cfg, _ := os.ReadFile(filepath.Join(dir, "config.toml"))
	if !strings.Contains(string(cfg), "prices = ['gpu=1.00', 'apple=0.30', 'cpu=0.07']") {
		t.Errorf("config file does not hold the new prices:\n%s", cfg)
	}
	// Bad input: usage errors, nothing changes.
	for _, args := range [][]string{{"prices", "cpu=abc"}, {"prices", "cpu"}, {"prices", "cpu=-1"}, {"prices", "--hours", "25:00-08:00"}, {"prices", "--replace", "gpu=2"}} {
		_, errOut, code := gpumesh(t, append(args, "--data-dir", dir)...)
		if code != 2 || errOut == "" {
			t.Errorf("gpumesh %v: exit %d (%q), want 2 and a message", args, code, errOut)
		}
	}
	if m = readMarket(t, "prices", "--data-dir", dir); m.Asks[0].Price != 0.07 || len(m.Hours) != 0 {
		t.Fatalf("bad input changed the market: %+v", m)
	}
	out, _, code := gpumesh(t, "pause", "--reason", "maintenance", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "paused") {
		t.Fatalf("pause: exit %d: %s", code, out)
	}
	if m = readMarket(t, "prices", "--data-dir", dir); !m.Paused || m.Asks[0].Free != 0 {
		t.Fatalf("after pause: %+v, want paused with no device free", m)
	}
	// Without the token file the CLI is refused, and says where the token is.
	tok := filepath.Join(dir, "api.token")
	saved, _ := os.ReadFile(tok)
	if err := os.Remove(tok); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := gpumesh(t, "resume", "--data-dir", dir)
	if code != 1 || !strings.Contains(errOut, "api.token") {
		t.Errorf("resume without the token: exit %d %q, want 1 naming api.token", code, errOut)
	}
	if m = readMarket(t, "prices", "--data-dir", dir); !m.Paused {
		t.Fatalf("a refused resume resumed")
	}
	if err := os.WriteFile(tok, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code = gpumesh(t, "resume", "--data-dir", dir); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, errOut)
	}
	if m = readMarket(t, "prices", "--hours", "18:00-08:00", "--data-dir", dir); m.Paused || strings.Join(m.Hours, ",") != "18:00-08:00" {
		t.Fatalf("after resume and hours: %+v", m)
	}
	// A restart keeps the saved prices and hours.
	p.stop(t, os.Interrupt)
	startNode(t, nil, "run", "--profile", "test", "--data-dir", dir)
	if m = readMarket(t, "prices", "--data-dir", dir); m.Asks[0].Price != 0.07 || strings.Join(m.Hours, ",") != "18:00-08:00" || m.Paused {
		t.Fatalf("after restart: %+v, want the saved prices and hours, not paused", m)
	}
}

// TestDoubleClickOpensTheDashboard: gpumesh with no arguments on a machine
// with a display opens the dashboard (with its token) in the browser, and
// prints the link; --headless or CI never opens one.
func TestDoubleClickOpensTheDashboard(t *testing.T) {
	run := func(t *testing.T, env []string, args ...string) (opened string, stderr string) {
		dir := t.TempDir()
		// The test profile stays on loopback; headless off as on a desktop.
		if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte("profile = 'test'\nheadless = false\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		record := filepath.Join(t.TempDir(), "opened")
		browser := filepath.Join(t.TempDir(), "browser.sh")
		if err := os.WriteFile(browser, []byte("#!/bin/sh\necho \"$1\" > "+record+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		env = append([]string{"GPUMESH_DATA_DIR=" + dir, "BROWSER=" + browser, "DISPLAY=:0", "WAYLAND_DISPLAY=",
			"CI=", "GITHUB_ACTIONS=", "GITLAB_CI=", "BUILDKITE=", "JENKINS_URL=", "TF_BUILD=", "TEAMCITY_VERSION=", "GPUMESH_NO_BROWSER="}, env...)
		p := startNode(t, env, args...)
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			if b, err := os.ReadFile(record); err == nil {
				opened = strings.TrimSpace(string(b))
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		p.stop(t, os.Interrupt)
		return opened, p.stderr.String()
	}
	t.Run("double-click", func(t *testing.T) {
		opened, stderr := run(t, nil)
		if !strings.HasPrefix(opened, "http://127.0.0.1:") || !strings.Contains(opened, "/#token=") {
			t.Fatalf("browser opened %q, want the dashboard with its token", opened)
		}
		if !strings.Contains(stderr, "gpumesh: dashboard: "+opened) {
			t.Errorf("the link is not printed:\n%s", stderr)
		}
	})
	t.Run("headless", func(t *testing.T) {
		if opened, stderr := run(t, nil, "--headless"); opened != "" || !strings.Contains(stderr, `"msg":"dashboard"`) || strings.Contains(stderr, "token=") {
			t.Fatalf("--headless opened %q; stderr:\n%s\nwant no browser, the URL in a JSON log line and no token in the logs", opened, stderr)
		}
	})
	t.Run("CI", func(t *testing.T) {
		if opened, stderr := run(t, []string{"CI=true"}); opened != "" || !strings.Contains(stderr, "gpumesh: dashboard: http://") {
			t.Fatalf("CI opened %q or printed no link:\n%s", opened, stderr)
		}
	})
	t.Run("no display", func(t *testing.T) {
		if opened, _ := run(t, []string{"DISPLAY="}); opened != "" {
			t.Fatalf("no display, yet opened %q", opened)
		}
	})
}
