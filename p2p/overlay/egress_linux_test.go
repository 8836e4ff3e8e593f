//go:build linux

package overlay

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// egressTopo is a provider host's namespace with an uplink to an
// "internet" namespace (holding the public address 7.0.0.1 behind its
// router 203.0.113.1, on the host's own subnet) and a LAN namespace
// (192.168.77.2), and a rank's: that of a process started in a network
// namespace of its own, as a process job's work is.
type egressTopo struct {
	host, inet, lan, job netns.NsHandle
}

// buildEgressTopo builds the namespaces, deleted when t ends.
func buildEgressTopo(t *testing.T) egressTopo {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped in -short: builds network namespaces")
	}
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root to create network namespaces, veth pairs and nftables tables")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipped: needs ip (Debian: iproute2)")
	}
	sfx := strconv.Itoa(os.Getpid())
	names := map[string]string{"host": "gmeh" + sfx, "inet": "gmei" + sfx, "lan": "gmel" + sfx}
	t.Cleanup(func() {
		for _, n := range names {
			_ = exec.Command("ip", "netns", "del", n).Run()
		}
	})
	h, i, l := names["host"], names["inet"], names["lan"]
	for _, n := range names {
		ipRun(t, "netns", "add", n)
		ipRun(t, "-n", n, "link", "set", "lo", "up")
	}
	ipRun(t, "link", "add", "wan", "netns", h, "type", "veth", "peer", "name", "wan", "netns", i)
	ipRun(t, "-n", h, "addr", "add", "203.0.113.2/24", "dev", "wan")
	ipRun(t, "-n", i, "addr", "add", "203.0.113.1/24", "dev", "wan")
	ipRun(t, "-n", i, "addr", "add", "7.0.0.1/32", "dev", "lo")
	ipRun(t, "link", "add", "lan", "netns", h, "type", "veth", "peer", "name", "eth0", "netns", l)
	ipRun(t, "-n", h, "addr", "add", "192.168.77.1/24", "dev", "lan")
	ipRun(t, "-n", l, "addr", "add", "192.168.77.2/24", "dev", "eth0")
	for _, c := range [][]string{{h, "wan"}, {i, "wan"}, {h, "lan"}, {l, "eth0"}} {
		ipRun(t, "-n", c[0], "link", "set", c[1], "up")
	}
	ipRun(t, "-n", h, "route", "add", "default", "via", "203.0.113.1")
	ipRun(t, "-n", l, "route", "add", "default", "via", "192.168.77.1")
	if out, err := exec.Command("ip", "netns", "exec", h, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1").CombinedOutput(); err != nil {
		t.Fatalf("forwarding on: %v: %s", err, out)
	}
	var topo egressTopo
	topo.job = processNS(t)
	for name, p := range map[string]*netns.NsHandle{"host": &topo.host, "inet": &topo.inet, "lan": &topo.lan} {
		ns, err := netns.GetFromName(names[name])
		if err != nil {
			t.Fatalf("open namespace %s: %v", name, err)
		}
		t.Cleanup(func() { _ = ns.Close() })
		*p = ns
	}
	return topo
}

// processNS starts a process in a network namespace of its own, killed
// when t ends, and returns its namespace.
func processNS(t *testing.T) netns.NsHandle {
	t.Helper()
	cmd := exec.Command("sleep", "600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start a process in a namespace of its own: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ns, err := netns.GetFromPid(cmd.Process.Pid)
	if err != nil {
		t.Fatalf("namespace of process %d: %v", cmd.Process.Pid, err)
	}
	t.Cleanup(func() { _ = ns.Close() })
	return ns
}

// ipRun runs ip with args, failing t on an error.
func ipRun(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// inNS runs f on a thread switched into ns.
func inNS(t *testing.T, ns netns.NsHandle, f func()) {
	t.Helper()
	runtime.LockOSThread()
	self, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("own namespace: %v", err)
	}
	defer self.Close()
	if err := netns.Set(ns); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("enter namespace: %v", err)
	}
	f()
	if err := netns.Set(self); err != nil {
		// Leave the thread locked: it dies with the goroutine.
		t.Fatalf("back to own namespace: %v", err)
	}
	runtime.UnlockOSThread()
}

// listenIn listens on addr:0 in ns and answers every connection with the
// address it came from; it returns the listener's address.
func listenIn(t *testing.T, ns netns.NsHandle, addr string) string {
	t.Helper()
	var ln net.Listener
	inNS(t, ns, func() {
		var err error
		ln, err = net.Listen("tcp4", net.JoinHostPort(addr, "0"))
		if err != nil {
			t.Fatalf("listen on %s: %v", addr, err)
		}
	})
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			_, _ = io.WriteString(c, host)
			_ = c.Close()
		}
	}()
	return ln.Addr().String()
}

// dialFrom connects from ns to addr and returns what the listener saw
// as the connection's source, or the error. A dropped packet ends in
// the deadline.
func dialFrom(t *testing.T, ns netns.NsHandle, addr string) (string, error) {
	t.Helper()
	var c net.Conn
	var err error
	inNS(t, ns, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var d net.Dialer
		c, err = d.DialContext(ctx, "tcp4", addr)
	})
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

func TestEgressReachesPublicOnly(t *testing.T) {
	topo := buildEgressTopo(t)
	public := listenIn(t, topo.inet, "7.0.0.1")
	router := listenIn(t, topo.inet, "203.0.113.1")
	hostUp := listenIn(t, topo.host, "203.0.113.2")
	hostLAN := listenIn(t, topo.host, "192.168.77.1")
	lanPeer := listenIn(t, topo.lan, "192.168.77.2")

	e, err := addEgress(topo.host, topo.job)
	if err != nil {
		t.Fatalf("addEgress: %v", err)
	}
	hostEnd := listenIn(t, topo.host, e.hostAddr.String())

	h, err := netlink.NewHandleAt(topo.job, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	routes, err := h.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	hasDefault := false
	for _, r := range routes {
		if r.Dst == nil || r.Dst.IP.IsUnspecified() {
			hasDefault = r.Gw.Equal(net.IP(e.hostAddr.AsSlice()))
		}
	}
	if !hasDefault {
		t.Fatalf("job namespace routes %v: no default route via %s", routes, e.hostAddr)
	}

	seen, err := dialFrom(t, topo.job, public)
	if err != nil {
		t.Fatalf("public address %s unreachable with egress: %v", public, err)
	}
	if seen != "203.0.113.2" {
		t.Errorf("public side saw the job as %q, want the host's address 203.0.113.2 (masquerade)", seen)
	}
	for what, addr := range map[string]string{
		"host's uplink address": hostUp, "host's LAN address": hostLAN, "host's veth end": hostEnd,
		"LAN neighbour": lanPeer, "host-subnet neighbour": router,
	} {
		if seen, err := dialFrom(t, topo.job, addr); err == nil {
			t.Errorf("job reached the %s %s (seen as %s)", what, addr, seen)
		}
	}
	// Control: without the table the same routes reach the host, so the
	// refusals above are the table's.
	if err := delTable(topo.host, e.table); err != nil {
		t.Fatalf("delete the table: %v", err)
	}
	if _, err := dialFrom(t, topo.job, hostLAN); err != nil {
		t.Fatalf("control: the host's LAN address is unreachable even without the table: %v", err)
	}

	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertNoEgress(t, topo.host)
}

func TestCleanEgressRemovesLeftovers(t *testing.T) {
	topo := buildEgressTopo(t)
	e, err := addEgress(topo.host, topo.job)
	if err != nil {
		t.Fatalf("addEgress: %v", err)
	}
	_ = e // a crash: never closed
	if err := cleanEgress(topo.host); err != nil {
		t.Fatalf("cleanEgress: %v", err)
	}
	assertNoEgress(t, topo.host)
	h, err := netlink.NewHandleAt(topo.job, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := h.LinkByName(EgressIfName); err == nil {
		t.Errorf("%s still in the job's namespace", EgressIfName)
	}
}

// assertNoEgress fails t if ns holds an egress veth or table.
func assertNoEgress(t *testing.T, ns netns.NsHandle) {
	t.Helper()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, egressLinkPrefix) {
			t.Errorf("veth %s left in the host's namespace", l.Attrs().Name)
		}
	}
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.ListTables()
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if strings.HasPrefix(tb.Name, EgressTablePrefix) {
			t.Errorf("nftables table %s left", tb.Name)
		}
	}
}
