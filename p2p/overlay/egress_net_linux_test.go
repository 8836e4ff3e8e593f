//go:build linux

package overlay

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// TestAttachProcessWithEgress runs in the provider's own namespace: a
// rank attached with WithEgress gets the job's interface, the egress
// interface and a default route, and Detach and Close leave no veth or
// nftables table behind.
func TestAttachProcessWithEgress(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short: creates veth pairs and nftables tables")
	}
	if err := Supported(); err != nil {
		t.Skipf("skipped: %v", err)
	}
	const knob = "/proc/sys/net/ipv4/ip_forward"
	if was, err := os.ReadFile(knob); err == nil {
		t.Cleanup(func() { _ = os.WriteFile(knob, was, 0o644) })
	}
	p := newProvider(t, WithEgress())
	n, err := p.svc.Join(testJob, ids(p))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()

	attach := func() (*Egress, netns.NsHandle) {
		t.Helper()
		cmd := exec.Command("sleep", "600")
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		if err := n.AttachProcess(0, cmd.Process.Pid); err != nil {
			t.Fatalf("AttachProcess: %v", err)
		}
		ns, err := netns.GetFromPid(cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ns.Close() })
		n.mu.Lock()
		e := n.egress[0]
		n.mu.Unlock()
		if e == nil {
			t.Fatal("no egress recorded for rank 0")
		}
		return e, ns
	}

	e, ns := attach()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for _, name := range []string{IfName, EgressIfName} {
		if _, err := h.LinkByName(name); err != nil {
			t.Errorf("%s missing in the rank's namespace: %v", name, err)
		}
	}
	routes, err := h.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	var gw string
	for _, r := range routes {
		if r.Dst == nil || r.Dst.IP.IsUnspecified() {
			gw = r.Gw.String()
		}
	}
	if gw == "" || !EgressRange.Contains(e.JobAddr()) {
		t.Errorf("rank's default route via %q, egress address %s (want one in %s)", gw, e.JobAddr(), EgressRange)
	}
	assertHostHas(t, e, true)

	n.Detach(0)
	assertHostHas(t, e, false)

	e, _ = attach()
	assertHostHas(t, e, true)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	assertHostHas(t, e, false)
}

// assertHostHas checks that the provider's namespace holds e's veth end
// and table, or neither.
func assertHostHas(t *testing.T, e *Egress, want bool) {
	t.Helper()
	_, err := netlink.LinkByName(e.HostLink())
	if got := err == nil; got != want {
		t.Errorf("host link %s present: %v, want %v", e.HostLink(), got, want)
	}
	c, err := nftIn(netns.None())
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.ListTables()
	if err != nil {
		t.Fatal(err)
	}
	got := false
	for _, tb := range tables {
		got = got || strings.EqualFold(tb.Name, e.table)
	}
	if got != want {
		t.Errorf("table %s present: %v, want %v", e.table, got, want)
	}
}
