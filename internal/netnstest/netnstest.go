// Package netnstest builds, for tests, a small internet of network
// namespaces: a public segment and home LANs, each behind its own router
// that masquerades as a home router does. The p2p tests and the binary's
// end-to-end tests share it to run nodes behind real NATs: nothing in it
// reaches or leaves the machine.
//
// The public segment is 7.0.0.0/24 (PublicAddr is its first host), because
// libp2p treats documentation and private ranges as unroutable (no relay
// address, no hole punching on them); inside these namespaces it routes
// nowhere else. Home i (from 0) has its router at 7.0.0.(i+2) on the
// public side and its LAN at 192.168.(i+1).0/24, its one host at .2.
//
// A Go process cannot hold sockets in several network namespaces safely,
// so each node runs as a process of its own under `ip netns exec`.
package netnstest

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// PublicAddr is the public segment's host address, where a public node
// listens.
const PublicAddr = "7.0.0.1"

// Home describes one home LAN.
type Home struct {
	// Name is how the test refers to the home (a few letters).
	Name string
	// Symmetric makes its router pick a new random port for every
	// destination (iptables --random-fully), as a symmetric NAT does: hole
	// punching cannot pass it. Otherwise the router keeps source ports
	// when it can, as most home routers do.
	Symmetric bool
}

// Topology names the namespaces Build made.
type Topology struct {
	// Public is the public segment's namespace, holding PublicAddr.
	Public string
	// Homes maps each Home's name to the namespace of its one host.
	Homes map[string]string
	// Routers maps each Home's name to its router's namespace.
	Routers map[string]string
}

// Require skips t unless namespaces can be built here: not under -short,
// as root, with ip and iptables installed (Debian: iproute2, iptables).
func Require(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped in -short: builds network namespaces and runs a node in each")
	}
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root to create network namespaces")
	}
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipped: needs %s (Debian: iproute2, iptables)", tool)
		}
	}
}

// Build creates the public segment and one LAN per home, each behind its
// router, and deletes them all when t ends. Namespace names carry the
// process ID, so tests in several packages may build at once.
func Build(t testing.TB, homes ...Home) Topology {
	t.Helper()
	if len(homes) > 250 {
		t.Fatalf("netnstest: %d homes, at most 250", len(homes))
	}
	sfx := strconv.Itoa(os.Getpid())
	top := Topology{Public: "gmpub" + sfx, Homes: map[string]string{}, Routers: map[string]string{}}
	all := []string{top.Public}
	for _, h := range homes {
		if h.Name == "" || top.Homes[h.Name] != "" {
			t.Fatalf("netnstest: home name %q empty or repeated", h.Name)
		}
		top.Routers[h.Name], top.Homes[h.Name] = "gmr"+h.Name+sfx, "gmh"+h.Name+sfx
		all = append(all, top.Routers[h.Name], top.Homes[h.Name])
	}
	t.Cleanup(func() {
		for _, n := range all {
			_ = exec.Command("ip", "netns", "del", n).Run()
		}
	})
	for _, n := range all {
		run(t, "ip", "netns", "add", n)
		run(t, "ip", "-n", n, "link", "set", "lo", "up")
	}
	run(t, "ip", "-n", top.Public, "link", "add", "br0", "type", "bridge")
	run(t, "ip", "-n", top.Public, "addr", "add", PublicAddr+"/24", "dev", "br0")
	run(t, "ip", "-n", top.Public, "link", "set", "br0", "up")
	for i, h := range homes {
		addHome(t, top.Public, top.Routers[h.Name], top.Homes[h.Name], i, h.Symmetric)
	}
	return top
}

// addHome links home i: its router's WAN side to the public bridge, its
// LAN to the home's host, NAT and a home router's firewall on the router.
func addHome(t testing.TB, pub, router, home string, i int, symmetric bool) {
	t.Helper()
	wan, lan, port := fmt.Sprintf("7.0.0.%d/24", i+2), fmt.Sprintf("192.168.%d", i+1), fmt.Sprintf("p%d", i)
	run(t, "ip", "link", "add", "wan", "netns", router, "type", "veth", "peer", "name", port, "netns", pub)
	run(t, "ip", "-n", pub, "link", "set", port, "master", "br0")
	run(t, "ip", "-n", pub, "link", "set", port, "up")
	run(t, "ip", "-n", router, "addr", "add", wan, "dev", "wan")
	run(t, "ip", "-n", router, "link", "set", "wan", "up")
	run(t, "ip", "link", "add", "lan", "netns", router, "type", "veth", "peer", "name", "eth0", "netns", home)
	run(t, "ip", "-n", router, "addr", "add", lan+".1/24", "dev", "lan")
	run(t, "ip", "-n", router, "link", "set", "lan", "up")
	run(t, "ip", "-n", home, "addr", "add", lan+".2/24", "dev", "eth0")
	run(t, "ip", "-n", home, "link", "set", "eth0", "up")
	run(t, "ip", "-n", home, "route", "add", "default", "via", lan+".1")
	run(t, "ip", "netns", "exec", router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	masq := []string{"ip", "netns", "exec", router, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE"}
	if symmetric {
		// A new random port for every destination: hole punching fails.
		masq = append(masq, "--random-fully")
	}
	run(t, masq...)
	// As a home router's firewall does: drop what no one inside asked
	// for. Without it, a punch arriving before ours is answered by the
	// router itself, whose conntrack entry then takes our port.
	run(t, "ip", "netns", "exec", router, "iptables", "-A", "INPUT", "-i", "wan", "-m", "conntrack", "--ctstate", "NEW,INVALID", "-j", "DROP")
}

// Command is name with args run inside namespace ns.
func Command(ns, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
}

// run runs a setup command and fails t with its output if it fails.
func run(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}
