//go:build linux

package overlay

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// echoPy is one rank of TestDevicesCarryUDP: it waits until its address
// is up, then rank 1 echoes one datagram and rank 0 sends until it hears
// the echo; rank 0 also tries the TCP listener at argv[3], which must
// fail.
const echoPy = `
import socket, sys, time
me, other, rank, host = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
for _ in range(600):
    try:
        s = socket.socket(socket.AF_INET6 if ":" in me else socket.AF_INET, socket.SOCK_DGRAM); s.bind((me, 9000)); break
    except OSError:
        time.sleep(0.05)
if rank == "1":
    data, src = s.recvfrom(2048); s.sendto(data, src); print("echoed", src[0])
else:
    s.settimeout(0.2)
    for _ in range(300):
        s.sendto(b"ping", (other, 9000))
        try:
            data, src = s.recvfrom(2048); print("got", data.decode(), "from", src[0]); break
        except OSError:
            pass
    h, p = host.rsplit(":", 1)
    try:
        socket.create_connection((h, int(p)), timeout=2).close(); print("host=reached")
    except OSError as e:
        print("host=failed", type(e).__name__)
`

// TestDevicesCarryUDPBetweenNamespaces runs two ranks as Python
// processes, each in a network namespace of its own with its TUN device,
// on two providers: a datagram goes from rank 0 to rank 1 and back over
// the overlay, on the job's IPv4 and on its IPv6 addresses, and rank 0
// cannot reach a listener on the provider's host.
func TestDevicesCarryUDPBetweenNamespaces(t *testing.T) {
	for _, family := range []string{"IPv4", "IPv6"} {
		t.Run(family, func(t *testing.T) {
			at := addr
			if family == "IPv6" {
				at = addr6
			}
			devicesCarryUDP(t, at)
		})
	}
}

// devicesCarryUDP is TestDevicesCarryUDPBetweenNamespaces with the ranks'
// addresses at gives.
func devicesCarryUDP(t *testing.T, at func(*testing.T, int) netip.Addr) {
	if err := Supported(); err != nil {
		t.Skipf("skipped: %v", err)
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("skipped: needs python3")
	}
	host, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	a, b := newProvider(t), newProvider(t)
	meet(a, b)
	nets := make([]*Net, 2)
	for i, p := range []provider{a, b} {
		n, err := p.svc.Join(testJob, ids(a, b))
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		nets[i] = n
	}
	outs := make([]*bytes.Buffer, 2)
	cmds := make([]*exec.Cmd, 2)
	for rk := range 2 {
		me, other := at(t, rk), at(t, 1-rk)
		cmd := exec.Command("python3", "-c", echoPy, me.String(), other.String(), fmt.Sprint(rk), host.Addr().String())
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
		outs[rk] = new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = outs[rk], outs[rk]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[rk] = cmd
		defer func() { _ = cmd.Process.Kill() }() // reaped by the waits below
		if err := nets[rk].AttachProcess(rk, cmd.Process.Pid); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 2)
	for _, c := range cmds {
		go func() { done <- c.Wait() }()
	}
	timeout := time.After(2 * time.Minute)
	for range 2 {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("rank exited: %v\nrank 0: %s\nrank 1: %s", err, outs[0], outs[1])
			}
		case <-timeout:
			t.Fatalf("ranks did not end\nrank 0: %s\nrank 1: %s", outs[0], outs[1])
		}
	}
	if want := "got ping from " + at(t, 1).String(); !strings.Contains(outs[0].String(), want) {
		t.Errorf("rank 0 said %q, want %q", outs[0], want)
	}
	if !strings.Contains(outs[0].String(), "host=failed") {
		t.Errorf("rank 0 reached the provider's host: %q", outs[0])
	}
	if s := nets[1].Stats(); s.PacketsIn == 0 || s.PacketsOut == 0 {
		t.Errorf("rank 1's stats %+v: want packets both ways", s)
	}
	if err := moveIntoSelf(nets[0]); !errors.Is(err, ErrSameNamespace) {
		t.Errorf("move into the provider's own namespace: %v, want ErrSameNamespace", err)
	}
}

// moveIntoSelf tries to move a device into the test's own namespace,
// which MoveInto must refuse with ErrSameNamespace.
func moveIntoSelf(n *Net) error {
	d, err := NewDevice()
	if err != nil {
		return err
	}
	defer d.Close()
	a, _ := n.Addr(0)
	return d.MoveInto(os.Getpid(), netip.PrefixFrom(a, 24))
}
