//go:build linux

package overlay

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ErrSameNamespace refuses to configure a process that shares the
// provider's network namespace: its interface would be the host's.
var ErrSameNamespace = errors.New("process shares the provider's network namespace")

// Supported says whether job networks can run here: Linux, as root (or
// with CAP_NET_ADMIN and CAP_SYS_ADMIN: new namespaces and devices), with
// /dev/net/tun. The error wraps ErrUnsupported and says what is missing.
func Supported() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: needs root to create network namespaces and TUN devices", ErrUnsupported)
	}
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("%w: /dev/net/tun: %w", ErrUnsupported, err)
	}
	return f.Close()
}

// Device is one rank's TUN device: created in the provider's namespace,
// then moved into the rank's own (MoveInto), where it is the rank's only
// interface besides loopback. The provider keeps its file: what the rank
// sends is read from it, what is written to it the rank receives. The
// device is not persistent: it goes when its file is closed, or with the
// rank's namespace.
type Device struct {
	name string
	file *os.File
}

// NewDevice creates a TUN device (IP packets, no packet information
// header) in the provider's namespace.
func NewDevice() (*Device, error) {
	t := &netlink.Tuntap{Mode: netlink.TUNTAP_MODE_TUN, Flags: netlink.TUNTAP_NO_PI, Queues: 1, NonPersist: true}
	if err := netlink.LinkAdd(t); err != nil {
		return nil, fmt.Errorf("create TUN device: %w", err)
	}
	if len(t.Fds) != 1 {
		for _, f := range t.Fds {
			_ = f.Close()
		}
		return nil, fmt.Errorf("create TUN device: %d queues, want 1", len(t.Fds))
	}
	return &Device{name: t.Name, file: t.Fds[0]}, nil
}

// File is the device's packet side, the rank's Port.
func (d *Device) File() Port { return d.file }

// Close removes the device.
func (d *Device) Close() error { return d.file.Close() }

// MoveInto moves the device into the network namespace of process pid,
// which must not be the provider's, and configures that namespace:
// loopback up, the device renamed IfName with MTU and address addr (its
// prefix is the job's subnet, the only route the namespace gets), up;
// each IPv6 address of addr6 (its prefix the job's IPv6 subnet) too,
// where the namespace has IPv6 (a kernel without it, or with IPv6
// disabled, refuses it, and the device goes on with IPv4 alone).
func (d *Device) MoveInto(pid int, addr netip.Prefix, addr6 ...netip.Prefix) error {
	target, err := netns.GetFromPid(pid)
	if err != nil {
		return fmt.Errorf("namespace of process %d: %w", pid, err)
	}
	defer target.Close()
	self, err := netns.GetFromPid(os.Getpid())
	if err != nil {
		return fmt.Errorf("provider's namespace: %w", err)
	}
	defer self.Close()
	if target.Equal(self) {
		return fmt.Errorf("move %s into process %d: %w", d.name, pid, ErrSameNamespace)
	}
	link, err := netlink.LinkByName(d.name)
	if err != nil {
		return fmt.Errorf("find %s: %w", d.name, err)
	}
	if err := netlink.LinkSetNsFd(link, int(target)); err != nil {
		return fmt.Errorf("move %s into process %d's namespace: %w", d.name, pid, err)
	}
	h, err := netlink.NewHandleAt(target, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink in process %d's namespace: %w", pid, err)
	}
	defer h.Close()
	return configure(h, d.name, addr, addr6)
}

// configure brings loopback and the device up in h's namespace, with the
// device renamed IfName and given addr, and addr6 where it takes them.
func configure(h *netlink.Handle, name string, addr netip.Prefix, addr6 []netip.Prefix) error {
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find loopback: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	link, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find %s in the namespace: %w", name, err)
	}
	if err := h.LinkSetName(link, IfName); err != nil {
		return fmt.Errorf("rename %s: %w", name, err)
	}
	if err := h.LinkSetMTU(link, MTU); err != nil {
		return fmt.Errorf("MTU of %s: %w", IfName, err)
	}
	a := addr.Addr().As4()
	ipnet := &net.IPNet{IP: net.IP(a[:]), Mask: net.CIDRMask(addr.Bits(), 32)}
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipnet}); err != nil {
		return fmt.Errorf("address of %s: %w", IfName, err)
	}
	for _, p := range addr6 {
		// No duplicate address detection: the address is the rank's alone
		// by construction, and usable at once.
		a := p.Addr().As16()
		ipnet := &net.IPNet{IP: net.IP(a[:]), Mask: net.CIDRMask(p.Bits(), 128)}
		_ = h.AddrAdd(link, &netlink.Addr{IPNet: ipnet, Flags: unix.IFA_F_NODAD}) // refused where the namespace has no IPv6
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("%s up: %w", IfName, err)
	}
	return nil
}

// AttachProcess gives local rank a TUN device inside the network
// namespace of process pid (a process started in a namespace of its own:
// CLONE_NEWNET), with the rank's address, and attaches it; with
// WithEgress, the namespace gets its egress too (AddEgress). The device
// goes with the namespace, or at Close.
func (n *Net) AttachProcess(rank, pid int) error {
	a, err := n.Addr(rank)
	if err != nil {
		return err
	}
	a6, _ := n.Addr6(rank) // the same rank: in range
	d, err := NewDevice()
	if err != nil {
		return err
	}
	if err := d.MoveInto(pid, netip.PrefixFrom(a, n.prefix.Bits()), netip.PrefixFrom(a6, n.prefix6.Bits())); err != nil {
		_ = d.Close()
		return err
	}
	var e *Egress
	if n.svc.egress {
		if e, err = AddEgress(pid); err != nil {
			_ = d.Close()
			return err
		}
	}
	if err := n.Attach(rank, d.File()); err != nil {
		_ = d.Close()
		n.closeEgress(e)
		return err
	}
	if e != nil {
		n.keepEgress(rank, e)
	}
	return nil
}
