//go:build linux && cgo

package dashboard_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/chromedp/chromedp"

	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
)

// chromium finds Debian's chromium (or another Chrome): the test skips
// without one, and fails when GPUMESH_REQUIRE_BROWSER=1 (scripts/test.sh
// sets it when it installed chromium).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("GPUMESH_REQUIRE_BROWSER") == "1" {
		t.Fatal("GPUMESH_REQUIRE_BROWSER=1 but no chromium found")
	}
	t.Skip("no chromium: install Debian's chromium (scripts/test.sh does when root) to run the dashboard in a browser")
	return ""
}

// browser starts headless Chromium with a fresh profile and no background
// traffic, and returns a tab's context; page errors land in errs.
func browser(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	exe := chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1360, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelT := chromedp.NewContext(actx)
	ctx, cancelD := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelD(); cancelT(); cancelA() })
	if err := chromedp.Do(ctx); err != nil { // start the browser now
		t.Fatalf("start %s: %v", exe, err)
	}
	var mu sync.Mutex
	var errs []string
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			// The test's own malformed price is answered 400, as it should be.
			expected := strings.Contains(m.Text, "status of 400") && strings.Contains(m.URL, "/api/v1/prices")
			if (m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleError) && !expected {
				mu.Lock()
				errs = append(errs, fmt.Sprintf("%s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line))
				mu.Unlock()
			}
		}
	}()
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(errs)
	}
}

// shoot saves a screenshot of the page when GPUMESH_SCREENSHOTS names a folder.
func shoot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("GPUMESH_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Error(err)
	}
}

// TestDashboardInBrowser drives the real dashboard in headless Chromium
// against a running node whose two GPUs are go-nvml's A100 mock: the page
// loads, shows the devices, their charts fill with the sampler's readings,
// and a price changed and a pause clicked in the page change what the API
// answers.
func TestDashboardInBrowser(t *testing.T) {
	ctx, pageErrors := browser(t)
	f := nodetest.Start(t, 1, nodetest.Options{
		Detect:    nodetest.MockGPUs(gpus.A100_PCIE_40GB, 2),
		Configure: func(_ int, c *config.Config) { c.GPU.SampleInterval = 500e6 }, // 0.5 s: charts fill fast
	})
	n := f.Nodes[0]
	client := api.NewClient(n.APIURL())

	// Overview: the page loads with the token from the link the node prints.
	if err := chromedp.Do(ctx, chromedp.Navigate(n.DashboardURL())); err != nil {
		t.Fatal(err)
	}
	peerID, err := chromedp.Run(ctx, chromedp.Poll[string](`(document.querySelector("#ov-peer-id") || {}).textContent`, chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil || peerID != n.PeerID().String() {
		t.Fatalf("overview shows peer %q (%v), want %s", peerID, err, n.PeerID())
	}
	if stored, err := chromedp.Run(ctx, chromedp.Evaluate[string](`localStorage.getItem("gpumesh-token")`)); err != nil || stored != n.APIToken() {
		t.Fatalf("token kept by the page: %q, %v", stored, err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash`)); strings.Contains(loc, "token") {
		t.Errorf("the token stays in the address bar: %s", loc)
	}
	// The network card: its name, and a single node has no bootstrap peers.
	network, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("#ov-network") || {}).textContent`))
	if err != nil || !strings.Contains(network, "main") || !strings.Contains(network, "no bootstrap peers") {
		t.Errorf("overview's network card: %q, %v; want main and why it has no bootstrap peers", network, err)
	}
	shoot(t, ctx, "overview")

	// Hardware: both devices, with their class, and charts that get points.
	if err := chromedp.Do(ctx, chromedp.Navigate(n.APIURL()+"/#/hardware")); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Poll[string](`document.querySelectorAll("[data-device]").length === 2 && document.querySelector("#dev-0").innerText`, chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil || !strings.Contains(text, "A100-40GB") || !strings.Contains(text, "NVIDIA A100") {
		t.Fatalf("hardware page: %q, %v; want both A100s with their class", text, err)
	}
	points, err := chromedp.Run(ctx, chromedp.Poll[int](`(() => { const s = document.querySelector("#dev-1-temp svg"); const n = s ? Number(s.dataset.points) : 0; return n >= 3 && s.querySelector("polyline") ? n : 0; })()`,
		chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(200*time.Millisecond)))
	if err != nil || points < 3 {
		t.Fatalf("temperature chart of device 1 has %d points (%v), want it to fill from the sampler", points, err)
	}
	temp, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#dev-1-temp .t b")))
	if temp != "45 °C" {
		t.Errorf("device 1 shows %q, want the mock's 45 °C", temp)
	}
	shoot(t, ctx, "hardware")

	// Market: change the gpu price in the page, save; the API answers the new price.
	if err := chromedp.Do(ctx, chromedp.Navigate(n.APIURL()+"/#/market"),
		chromedp.WaitVisible(chromedp.CSS("#price-gpu")),
		chromedp.SetValue(chromedp.CSS("#price-gpu"), "2.35"),
		chromedp.Click(chromedp.CSS("#mk-save-prices")),
	); err != nil {
		t.Fatal(err)
	}
	msg, err := chromedp.Run(ctx, chromedp.Poll[string](`(document.querySelector("#mk-prices-msg") || {}).textContent`, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil || !strings.Contains(msg, "Prices saved") {
		t.Fatalf("after saving: %q, %v", msg, err)
	}
	m, err := client.MarketStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(m.Prices, "gpu=2.35") || len(m.Asks) != 1 || m.Asks[0].Class != "A100-40GB" || m.Asks[0].Price != 2.35 {
		t.Fatalf("API after the page's change: prices %v asks %+v, want gpu=2.35 and the A100s at 2.35", m.Prices, m.Asks)
	}
	ask, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => { const c = document.querySelector('#mk-asks-table tr[data-class="A100-40GB"] .ask'); return c && c.textContent === "$2.3500" ? c.textContent : ""; })()`, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Errorf("the page's ask table does not show the new price (%q): %v", ask, err)
	}
	// A malformed price is refused and shown; nothing changes.
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#price-gpu"), "cheap"), chromedp.Click(chromedp.CSS("#mk-save-prices"))); err != nil {
		t.Fatal(err)
	}
	msg, err = chromedp.Run(ctx, chromedp.Poll[string](`(() => { const e = document.querySelector("#mk-prices-msg"); return e && e.classList.contains("err") ? e.textContent : ""; })()`, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil || !strings.Contains(msg, "gpu=cheap") {
		t.Errorf("malformed price: page says %q (%v), want the refusal naming it", msg, err)
	}
	if m, _ := client.MarketStatus(context.Background()); !slices.Contains(m.Prices, "gpu=2.35") {
		t.Errorf("a refused price changed the node: %v", m.Prices)
	}
	// Pause from the page.
	if err := chromedp.Do(ctx, chromedp.Navigate(n.APIURL()+"/#/market"), chromedp.WaitVisible(chromedp.CSS("#mk-pause")), chromedp.Click(chromedp.CSS("#mk-pause"))); err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, 10*time.Second, func() bool { return n.Paused() }, func() string { return "the page's pause did not pause the node" })
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!document.querySelector("#mk-resume")`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Errorf("no resume button after pausing: %v", err)
	}
	shoot(t, ctx, "market")

	// Jobs and Ledger render (empty on a lone node) without errors.
	for _, p := range []struct{ page, sel, want string }{
		{"jobs", "#jobs-req", "No jobs requested yet"},
		{"ledger", "#lg-receipts", "No receipts yet"},
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(n.APIURL()+"/#/"+p.page)); err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(ctx, chromedp.Poll[string](`(document.querySelector(`+"`"+p.sel+"`"+`) || {}).textContent`, chromedp.WithPollingTimeout(10*time.Second)))
		if err != nil || !strings.Contains(got, p.want) {
			t.Errorf("%s page: %q, %v", p.page, got, err)
		}
		shoot(t, ctx, p.page)
	}
	if errs := pageErrors(); len(errs) > 0 {
		t.Errorf("the page logged errors:\n%s", strings.Join(errs, "\n"))
	}
}

// TestDashboardRefusesForeignPages: a page from another origin cannot
// change the node, even holding the token: its request carries a foreign
// Origin (refused, 403) and the token header makes the browser ask first
// (a preflight the API never allows).
func TestDashboardRefusesForeignPages(t *testing.T) {
	ctx, _ := browser(t)
	n := nodetest.Start(t, 1, nodetest.Options{}).Nodes[0]
	if err := chromedp.Do(ctx, chromedp.Navigate("data:text/html,<title>elsewhere</title>")); err != nil {
		t.Fatal(err)
	}
	for _, headers := range []string{`{"Content-Type": "text/plain"}`, fmt.Sprintf(`{"X-Gpumesh-Token": %q}`, n.APIToken())} {
		js := fmt.Sprintf(`fetch(%q, {method: "POST", headers: %s, body: "{}"}).then(r => "status " + r.status, e => "blocked: " + e.message)`, n.APIURL()+"/api/v1/pause", headers)
		res, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if n.Paused() || !strings.HasPrefix(res, "blocked") {
			t.Fatalf("a foreign page posted with headers %s: %q, paused=%v", headers, res, n.Paused())
		}
	}
}
