//go:build linux

package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestProcessNetworkNamespace: a job with a Network runs in a network
// namespace of its own, holding loopback only until Attach adds to it;
// Attach is called with the work's pid before the work runs, and the
// network's environment reaches the work over the job's own.
func TestProcessNetworkNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root to create a network namespace")
	}
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Skipf("skipped: no /proc/self/ns/net: %v", err)
	}
	p := newShell(t, Limits{})
	var attached string
	nw := &Network{
		Env: map[string]string{"MASTER_ADDR": "10.128.0.1"},
		Attach: func(pid int) error {
			ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
			attached = ns
			return err
		},
	}
	_, err = p.Start(context.Background(), Job{ID: "j", Dir: jobDir(t), Network: nw, Env: map[string]string{"MASTER_ADDR": "job's own"},
		Spec: Spec{Version: SpecVersion, Executor: "process", Process: &ProcessSpec{Command: "sh"},
			Args: []string{`true`}}})
	if !errors.Is(err, ErrEnvRefused) { // MASTER_ADDR is not in the job-variable allowlist
		t.Fatalf("job setting MASTER_ADDR: %v, want ErrEnvRefused", err)
	}
	h, err := p.Start(context.Background(), Job{ID: "j", Dir: jobDir(t), Network: nw,
		Spec: Spec{Version: SpecVersion, Executor: "process", Process: &ProcessSpec{Command: "sh"},
			Args: []string{`echo master=$MASTER_ADDR; echo ns=$(readlink /proc/self/ns/net); echo links=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ')`}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := h.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lines, _, _ := h.Logs().Lines(0)
	var out strings.Builder
	for _, l := range lines {
		out.WriteString(l.Text + "\n")
	}
	if res.Status != StatusSucceeded {
		t.Fatalf("status %s (%s)\n%s", res.Status, res.Reason, out.String())
	}
	got := out.String()
	if !strings.Contains(got, "master=10.128.0.1\n") {
		t.Errorf("output %q: want the network's MASTER_ADDR", got)
	}
	if !strings.Contains(got, "ns="+attached+"\n") || attached == self {
		t.Errorf("output %q: want the namespace Attach saw (%s), not the provider's (%s)", got, attached, self)
	}
	if !strings.Contains(got, "links=lo\n") {
		t.Errorf("output %q: want loopback as the only interface", got)
	}
}

// TestProcessNetworkAttachFails: an Attach error fails Start, and the
// work never runs.
func TestProcessNetworkAttachFails(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root to create a network namespace")
	}
	p := newShell(t, Limits{})
	dir := jobDir(t)
	boom := errors.New("no device")
	_, err := p.Start(context.Background(), Job{ID: "j", Dir: dir, Network: &Network{Attach: func(int) error { return boom }},
		Spec: Spec{Version: SpecVersion, Executor: "process", Process: &ProcessSpec{Command: "sh"},
			Args: []string{`touch $GPUMESH_OUTPUTS/ran`}}})
	if !errors.Is(err, boom) {
		t.Fatalf("Start: %v, want the Attach error", err)
	}
	if _, err := os.Stat(dir + "/outputs/ran"); err == nil {
		t.Error("the work ran although Attach failed")
	}
}

// TestProcessPerDeviceNetwork: a per-device worker's processes share one
// network namespace, the job's (Attach called once, for the first), not
// the provider's, and each sees the network's MASTER_ADDR with its own
// RANK over the network's NODE_RANK.
func TestProcessPerDeviceNetwork(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root to create a network namespace")
	}
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Skipf("skipped: no /proc/self/ns/net: %v", err)
	}
	var attached []string
	job := perDeviceJob(t, `echo "ns=$(readlink /proc/self/ns/net) rank=$RANK/$WORLD_SIZE master=$MASTER_ADDR"`)
	job.Env = map[string]string{"GPUMESH_RANK": "2", "GPUMESH_WORLD_SIZE": "3"}
	job.Network = &Network{
		Env: map[string]string{"MASTER_ADDR": "10.128.0.1", "NODE_RANK": "2", "RANK": "2", "WORLD_SIZE": "3"},
		Attach: func(pid int) error {
			ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
			attached = append(attached, ns)
			return err
		},
	}
	h, err := newShell(t, Limits{}).Start(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	res, got := waitLines(t, h)
	if res.Status != StatusSucceeded || len(attached) != 1 || attached[0] == self {
		t.Fatalf("status %s (%s), attached %q (provider's %s)", res.Status, res.Reason, attached, self)
	}
	for i, line := range got {
		want := fmt.Sprintf("[local_rank %d] ns=%s rank=%d/9 master=10.128.0.1", i, attached[0], 6+i)
		if line != want {
			t.Errorf("line %d: %q, want %q", i, line, want)
		}
	}
	if len(got) != 3 {
		t.Errorf("%d lines, want 3: %q", len(got), got)
	}
	if now, _ := os.Readlink("/proc/self/ns/net"); now != self {
		t.Errorf("the provider's namespace is now %s, was %s", now, self)
	}
}
