//go:build linux

package executor

import (
	"bytes"
	"context"
	"debug/elf"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/p2p/overlay"
)

// TestPauseProgramIsAStaticExecutable: the holder's program parses as
// a static executable of its architecture whose entry point is its code.
func TestPauseProgramIsAStaticExecutable(t *testing.T) {
	for arch, machine := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64} {
		b, err := pauseProgram(arch)
		if err != nil {
			t.Fatal(err)
		}
		f, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		if f.Machine != machine || f.Type != elf.ET_EXEC || len(f.Progs) != 1 || f.Progs[0].Type != elf.PT_LOAD {
			t.Errorf("%s: machine %v, type %v, %d segments", arch, f.Machine, f.Type, len(f.Progs))
		}
		if p := f.Progs[0]; f.Entry < p.Vaddr || f.Entry >= p.Vaddr+p.Filesz || p.Filesz != uint64(len(b)) {
			t.Errorf("%s: entry %#x outside its segment %#x+%d", arch, f.Entry, p.Vaddr, p.Filesz)
		}
	}
	if _, err := pauseProgram("riscv64"); err == nil {
		t.Error("an architecture without a program: no error")
	}
}

// TestDockerJobNetwork runs two ranks of a container job, FROM scratch
// images on the real engine, on two providers' overlay services over
// loopback libp2p hosts: each container sees gpumesh0 with its rank's
// address and the job's environment from its first instruction, rank 0's
// datagram reaches rank 1 and its echo comes back over the overlay, and
// rank 0 cannot reach a listener on the host. No container is left.
func TestDockerJobNetwork(t *testing.T) {
	if err := overlay.Supported(); err != nil {
		t.Skipf("skipped: %v", err)
	}
	d := dockerEngine(t, DockerConfig{Owner: "test"})
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	target := hostTarget(ln.Addr().(*net.TCPAddr).Port)
	hosts := make([]host.Host, 2)
	svcs := make([]*overlay.Service, 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range hosts {
		h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = h.Close() })
		hosts[i] = h
		svcs[i] = overlay.New(h, nil)
		svcs[i].Start(ctx)
		t.Cleanup(func() { _ = svcs[i].Close() })
	}
	hosts[0].Peerstore().AddAddrs(hosts[1].ID(), hosts[1].Addrs(), time.Hour)
	hosts[1].Peerstore().AddAddrs(hosts[0].ID(), hosts[0].Addrs(), time.Hour)
	const job = "docker-net-test"
	members := []peer.ID{hosts[0].ID(), hosts[1].ID()}
	handles := make([]Handle, 2)
	nets := make([]*overlay.Net, 2)
	for rk := range 2 {
		n, err := svcs[rk].Join(job, members)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = n.Close() })
		nets[rk] = n
		j := dockerJob(t, "overlay", target)
		j.Network = &Network{Env: testNetworkEnv(t, job, rk), Attach: func(pid int) error { return n.AttachProcess(rk, pid) }}
		h, err := d.Start(context.Background(), j)
		if err != nil {
			t.Fatalf("start rank %d: %v", rk, err)
		}
		handles[rk] = h
	}
	outs := make([]string, 2)
	for rk, h := range handles {
		res, out := dockerWait(t, h)
		outs[rk] = out
		if res.Status != StatusSucceeded {
			t.Errorf("rank %d: %s (%s)\n%s", rk, res.Status, res.Reason, out)
		}
	}
	for rk, out := range outs {
		a, _ := overlay.Addr(job, rk)
		if want := "iface gpumesh0 [" + a.String() + "/24] mtu " + strconv.Itoa(overlay.MTU); !strings.Contains(out, want) {
			t.Errorf("rank %d said:\n%s\nwant %q", rk, out, want)
		}
		m, _ := overlay.Addr(job, 0)
		if want := "env master=" + m.String() + ":29500 rank=" + strconv.Itoa(rk) + " world=2"; !strings.Contains(out, want) {
			t.Errorf("rank %d said:\n%s\nwant %q", rk, out, want)
		}
	}
	a1, _ := overlay.Addr(job, 1)
	if want := "got ping from " + a1.String() + ":9000"; !strings.Contains(outs[0], want) {
		t.Errorf("rank 0 said:\n%s\nwant %q", outs[0], want)
	}
	if !strings.Contains(outs[0], "host=failed") {
		t.Errorf("rank 0 reached the host's listener at %s:\n%s", target, outs[0])
	}
	if s := nets[1].Stats(); s.PacketsIn == 0 || s.PacketsOut == 0 {
		t.Errorf("rank 1's provider counted %+v: want packets both ways", s)
	}
	t.Logf("rank 0:\n%s\nrank 1:\n%s", outs[0], outs[1])
}

// testNetworkEnv is what scheduler/run hands rank rk of a two-rank job.
func testNetworkEnv(t *testing.T, job string, rk int) map[string]string {
	t.Helper()
	var addrs []string
	for r := range 2 {
		a, err := overlay.Addr(job, r)
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, a.String())
	}
	return map[string]string{"MASTER_ADDR": addrs[0], "MASTER_PORT": "29500", "RANK": strconv.Itoa(rk), "WORLD_SIZE": "2",
		"GPUMESH_PEERS": strings.Join(addrs, ","), "GPUMESH_ADDR": addrs[rk]}
}

// hostTarget is HOST:port for a listener on every address of this host:
// a non-loopback IPv4 address if the host has one (its LAN, or the
// engine's bridge), else 127.0.0.1.
func hostTarget(port int) string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() && !p.Addr().IsLoopback() {
			return netip.AddrPortFrom(p.Addr(), uint16(port)).String()
		}
	}
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)).String()
}

// TestDockerPerDeviceJobNetwork: a per-device worker of two GPUs on a job
// network runs both containers in the holder's namespace: each sees
// gpumesh0 with the worker's one overlay address, and they share its
// loopback. No container is left.
func TestDockerPerDeviceJobNetwork(t *testing.T) {
	if err := overlay.Supported(); err != nil {
		t.Skipf("skipped: %v", err)
	}
	d := dockerEngine(t, DockerConfig{Owner: "test", GPUs: GPUAccess{NvidiaRuntime: true}})
	recordDeviceRequests(t)
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc := overlay.New(h, nil)
	svc.Start(ctx)
	t.Cleanup(func() { _ = svc.Close() })
	const job = "docker-per-device-net-test"
	n, err := svc.Join(job, []peer.ID{h.ID()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	a, _ := overlay.Addr(job, 0)
	j := dockerPerDeviceJob(t, "local")
	j.Env = nil
	j.Network = &Network{Env: map[string]string{"MASTER_ADDR": a.String(), "MASTER_PORT": "29500", "RANK": "0", "WORLD_SIZE": "1",
		"NODE_RANK": "0", "GPUMESH_ADDR": a.String(), "GPUMESH_PEERS": a.String()},
		Attach: func(pid int) error { return n.AttachProcess(0, pid) }}
	res, out := dockerRun(t, d, j)
	if res.Status != StatusSucceeded {
		t.Fatalf("got %+v\n%s", res, out)
	}
	for i := range 2 {
		if want := "[local_rank " + strconv.Itoa(i) + "] iface gpumesh0 [" + a.String() + "/24]"; !strings.Contains(out, want) {
			t.Errorf("said:\n%s\nwant %q", out, want)
		}
		if want := "[local_rank " + strconv.Itoa(i) + "] env rank=" + strconv.Itoa(i) + "/2 local=" + strconv.Itoa(i) + "/2 node=0"; !strings.Contains(out, want) {
			t.Errorf("said:\n%s\nwant %q", out, want)
		}
	}
	if !strings.Contains(out, "[local_rank 0] heard hello from local rank 1") {
		t.Errorf("local rank 1 did not reach local rank 0 on loopback:\n%s", out)
	}
	dockerNoContainers(t, d, j.ID)
}
