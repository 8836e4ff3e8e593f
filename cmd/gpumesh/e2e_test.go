package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binary is the gpumesh binary built once for these tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gpumesh-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "gpumesh")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build gpumesh: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var readyLine = regexp.MustCompile(`^gpumesh: node ready peer=(\S+) api=(http://\S+)$`)

// proc is a running `gpumesh run`.
type proc struct {
	cmd    *exec.Cmd
	peer   string
	api    string
	stdout *bytes.Buffer // lines after the readiness line
	stderr *bytes.Buffer
	done   chan error
}

// startNode runs gpumesh with args and waits for its readiness line.
func startNode(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	return startCmd(t, cmd, args)
}

// startCmd starts cmd, a gpumesh node run with args (for messages), and
// waits for its readiness line.
func startCmd(t *testing.T, cmd *exec.Cmd, args []string) *proc {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	ready := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			if m := readyLine.FindStringSubmatch(sc.Text()); m != nil && !sent {
				ready <- m
				sent = true
				continue
			}
			p.stdout.WriteString(sc.Text() + "\n")
		}
		p.done <- cmd.Wait()
	}()
	select {
	case m := <-ready:
		p.peer, p.api = m[1], m[2]
	case err := <-p.done:
		p.done <- err
		t.Fatalf("gpumesh %v exited before ready: %v\n%s", args, err, p.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("gpumesh %v not ready after 60s\n%s", args, p.stderr)
	}
	return p
}

// stop sends sig and waits for a clean exit.
func (p *proc) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("exit after %v: %v\n%s", sig, err, p.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit 20s after %v", sig)
	}
	if strings.Contains(p.stdout.String(), "node ready") {
		t.Errorf("readiness line printed more than once:\n%s", p.stdout)
	}
}

// gpumesh runs a client command and returns its stdout, stderr and exit code.
func gpumesh(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return runCmd(t, exec.Command(binary, args...), args)
}

// runCmd runs cmd, a gpumesh client command with args (for messages), and
// returns its stdout, stderr and exit code.
func runCmd(t *testing.T, cmd *exec.Cmd, args []string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errb.String(), 0
	case errors.As(err, &ee):
		return out.String(), errb.String(), ee.ExitCode()
	default:
		t.Fatalf("run gpumesh %v: %v", args, err)
		return "", "", -1
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func peerIDs(t *testing.T, dataDir string) []string {
	out, errOut, code := gpumesh(t, "peers", "--json", "--data-dir", dataDir)
	if code != 0 {
		t.Fatalf("gpumesh peers: exit %d: %s", code, errOut)
	}
	var ps []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(out), &ps); err != nil {
		t.Fatalf("peers --json is not JSON: %v\n%s", err, out)
	}
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	return ids
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func TestTwoProcessesBootstrapAndSeeEachOther(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	a := startNode(t, nil, "run", "--profile", "test", "--data-dir", dirA)

	out, errOut, code := gpumesh(t, "id", "--data-dir", dirA)
	if code != 0 {
		t.Fatalf("gpumesh id: exit %d: %s", code, errOut)
	}
	lines := strings.Fields(out)
	if len(lines) < 2 || lines[0] != a.peer {
		t.Fatalf("gpumesh id printed %q, want the peer ID %s then addresses", out, a.peer)
	}
	b := startNode(t, nil, "run", "--profile", "test", "--data-dir", dirB, "--bootstrap", lines[1])

	waitFor(t, "A and B in each other's peers", func() bool {
		return contains(peerIDs(t, dirA), b.peer) && contains(peerIDs(t, dirB), a.peer)
	})
	out, _, code = gpumesh(t, "peers", "--data-dir", dirA)
	if code != 0 || !strings.Contains(out, b.peer) || !strings.Contains(out, "gpumesh/") {
		t.Errorf("gpumesh peers (table) = exit %d\n%s", code, out)
	}
	out, _, code = gpumesh(t, "status", "--json", "--data-dir", dirB)
	var st struct {
		PeerID         string `json:"peer_id"`
		ConnectedPeers int    `json:"connected_peers"`
		Network        struct {
			Name      string `json:"name"`
			Bootstrap struct {
				Peers     int `json:"peers"`
				Connected int `json:"connected"`
			} `json:"bootstrap"`
			DirectAddrs []string `json:"direct_addrs"`
		} `json:"network"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.PeerID != b.peer || st.ConnectedPeers < 1 ||
		st.Network.Name != "main" || st.Network.Bootstrap.Peers != 1 || st.Network.Bootstrap.Connected != 1 || len(st.Network.DirectAddrs) == 0 {
		t.Errorf("gpumesh status --json = exit %d\n%s", code, out)
	}
	out, _, code = gpumesh(t, "status", "--data-dir", dirB)
	if code != 0 || !strings.Contains(out, "network       main") || !strings.Contains(out, "bootstrap     connected 1 of 1") || !strings.Contains(out, "direct        /") {
		t.Errorf("gpumesh status = exit %d\n%s", code, out)
	}
	out, _, code = gpumesh(t, "status", "--data-dir", dirA)
	if code != 0 || !strings.Contains(out, "bootstrap     none: no bootstrap peers") {
		t.Errorf("gpumesh status of the node without bootstrap peers = exit %d\n%s", code, out)
	}

	out, _, code = gpumesh(t, "gpu", "--json", "--data-dir", dirA)
	var g struct {
		Inventory struct {
			Source  string `json:"source"`
			Devices []struct {
				Class string `json:"class"`
			} `json:"devices"`
		} `json:"inventory"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &g) != nil || g.Inventory.Source == "" || len(g.Inventory.Devices) == 0 || g.Inventory.Devices[0].Class == "" {
		t.Errorf("gpumesh gpu --json = exit %d\n%s", code, out)
	}
	out, _, code = gpumesh(t, "gpu", "--data-dir", dirA)
	if code != 0 || !strings.Contains(out, "CLASS") {
		t.Errorf("gpumesh gpu = exit %d\n%s", code, out)
	}

	// B offers its CPU; A finds it through the DHT.
	waitFor(t, "B's offer found by A", func() bool {
		return contains(offerPeers(t, dirA, ""), b.peer)
	})
	out, _, code = gpumesh(t, "offers", "pool=cpu", "price<=1", "--data-dir", dirA)
	if code != 0 || !strings.Contains(out, b.peer) || !strings.Contains(out, "PRICE/H") || !strings.Contains(out, "cores") {
		t.Errorf("gpumesh offers pool=cpu price<=1 = exit %d\n%s", code, out)
	}
	if got := offerPeers(t, dirA, "num_gpus>=1"); len(got) != 0 {
		t.Errorf("offers num_gpus>=1 listed %v on a network of CPU nodes", got)
	}
	_, errOut, code = gpumesh(t, "offers", "gpu=A100", "--data-dir", dirA)
	if code != 2 || !strings.Contains(errOut, `unknown field "gpu"`) || !strings.Contains(errOut, "gpu_class") {
		t.Errorf("offers with an unknown field = exit %d, stderr %q; want 2 and the list of fields", code, errOut)
	}

	b.stop(t, syscall.SIGTERM)
	a.stop(t, os.Interrupt)
	for _, d := range []string{dirA, dirB} {
		if _, err := os.Stat(filepath.Join(d, "api")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s/api left behind after shutdown", d)
		}
	}
}

// offerPeers runs `gpumesh offers --json FILTER` against the node of dir
// and returns the providers listed.
func offerPeers(t *testing.T, dir, filter string) []string {
	t.Helper()
	out, errOut, code := gpumesh(t, "offers", filter, "--json", "--data-dir", dir)
	var res struct {
		Offers []struct {
			Peer string `json:"peer"`
		} `json:"offers"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("gpumesh offers --json %q = exit %d\n%s%s", filter, code, out, errOut)
	}
	var ids []string
	for _, o := range res.Offers {
		ids = append(ids, o.Peer)
	}
	return ids
}

// TestOffersWithoutDHTServers: two nodes on a LAN where neither serves
// the DHT (a home network: both behind NAT, DHT mode auto stays client)
// still see each other's offers, asked directly.
func TestOffersWithoutDHTServers(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	for _, d := range []string{dirA, dirB} {
		cfg := "profile = \"test\"\n[p2p]\ndht_mode = \"client\"\n"
		if err := os.WriteFile(filepath.Join(d, "config.toml"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a := startNode(t, nil, "run", "--data-dir", dirA)
	out, _, _ := gpumesh(t, "id", "--data-dir", dirA)
	b := startNode(t, nil, "run", "--data-dir", dirB, "--bootstrap", strings.Fields(out)[1])
	waitFor(t, "B's offer found by A without DHT servers", func() bool {
		return contains(offerPeers(t, dirA, "pool=cpu"), b.peer)
	})
	out, _, code := gpumesh(t, "offers", "--data-dir", dirA)
	if code != 0 || !strings.Contains(out, "no DHT servers known") {
		t.Errorf("gpumesh offers = exit %d, want it to say it asked peers directly\n%s", code, out)
	}
	b.stop(t, syscall.SIGTERM)
	a.stop(t, syscall.SIGTERM)
}

func TestNoArgumentsRunsANode(t *testing.T) {
	dir := t.TempDir()
	// The test profile keeps this node on loopback, with no mDNS.
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte("profile = 'test'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startNode(t, []string{"GPUMESH_DATA_DIR=" + dir})
	out, _, code := gpumesh(t, "id", "--data-dir", dir)
	if code != 0 || !strings.HasPrefix(out, p.peer) {
		t.Errorf("id = %q (exit %d), want %s", out, code, p.peer)
	}
	p.stop(t, os.Interrupt)
	// The identity is kept: the peer ID is the same without a running node.
	out, _, code = gpumesh(t, "id", "--data-dir", dir)
	if code != 0 || strings.TrimSpace(out) != p.peer {
		t.Errorf("id after stop = %q (exit %d), want %s", out, code, p.peer)
	}
}

func TestExitCodesAndErrors(t *testing.T) {
	badConfig := t.TempDir()
	if err := os.WriteFile(filepath.Join(badConfig, "config.toml"), []byte("[p2p]\ndht_mode = 'sometimes'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"version"}, 0, "gpumesh "},
		{[]string{"bench", "--n", "128"}, 0, "verification: pass"},
		{[]string{"bench", "--n", "5"}, 2, "--n"},
		{[]string{"--no-such-flag"}, 2, "unknown flag"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"status", "--data-dir", t.TempDir()}, 1, "no node is running"},
		{[]string{"peers", "--data-dir", t.TempDir()}, 1, "no node is running"},
		{[]string{"id", "--data-dir", t.TempDir()}, 1, "no identity"},
		{[]string{"run", "--data-dir", badConfig}, 1, "p2p.dht_mode"},
		{[]string{"run", "--profile", "test", "--data-dir", t.TempDir(), "--bootstrap", "garbage"}, 2, "bootstrap"},
		{[]string{"run", "--profile", "cloud", "--data-dir", t.TempDir()}, 1, "profile"},
	}
	for _, tc := range tests {
		out, errOut, code := gpumesh(t, tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("gpumesh %v: exit %d, output %q; want exit %d mentioning %q", tc.args, code, out+errOut, tc.code, tc.want)
		}
	}
}

// TestReadOnlyDataDir: a data dir on a read-only volume (a tmpfs mounted
// read-only, as root; root passes every permission check, so a chmod
// would prove nothing) stops the node before it starts anything, with
// exit 1 and a line that says which directory and why; the volume is left
// as it was.
func TestReadOnlyDataDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root to mount a read-only volume")
	}
	vol := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", vol).CombinedOutput(); err != nil {
		t.Skipf("skipped: cannot mount a read-only tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", vol).Run() })
	for _, dir := range []string{vol, filepath.Join(vol, "gpumesh")} {
		_, errOut, code := gpumesh(t, "run", "--data-dir", dir)
		if code != 1 || !strings.Contains(errOut, dir) || !strings.Contains(errOut, "read-only file system") {
			t.Errorf("run --data-dir %s: exit %d, %q; want exit 1 naming the dir and the read-only volume", dir, code, errOut)
		}
	}
	if entries, err := os.ReadDir(vol); err != nil || len(entries) != 0 {
		t.Errorf("the read-only volume holds %v (%v), want nothing", entries, err)
	}
}
