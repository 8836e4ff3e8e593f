//go:build linux

package overlay

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// AddEgress gives the network namespace of process pid (a rank's, which
// AttachProcess gave its TUN device) a way to public IPv4 addresses: a
// veth pair whose job end, EgressIfName, holds a /30 address from
// EgressRange and the namespace's default route, and whose host end is
// masqueraded by an nftables table of its own (EgressTablePrefix + the
// host end's name) that drops whatever the rank sends to the host itself
// or to a private, shared, link-local, loopback, multicast or reserved
// range (BlockedRanges), or to a subnet of the host's own addresses, and
// anything it did not open from outside. It turns IPv4 forwarding on.
// Close removes it; CleanEgress removes what a crash left.
func AddEgress(pid int) (*Egress, error) {
	target, err := netns.GetFromPid(pid)
	if err != nil {
		return nil, fmt.Errorf("namespace of process %d: %w", pid, err)
	}
	defer target.Close()
	self, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("provider's namespace: %w", err)
	}
	defer self.Close()
	if target.Equal(self) {
		return nil, fmt.Errorf("egress for process %d: %w", pid, ErrSameNamespace)
	}
	if err := enableForwarding(); err != nil {
		return nil, err
	}
	return addEgress(netns.None(), target)
}

// enableForwarding turns IPv4 forwarding on in the provider's namespace,
// without which nothing a rank sends leaves the host.
func enableForwarding() error {
	const knob = "/proc/sys/net/ipv4/ip_forward"
	b, err := os.ReadFile(knob)
	if err == nil && strings.TrimSpace(string(b)) == "1" {
		return nil
	}
	if err := os.WriteFile(knob, []byte("1\n"), 0o644); err != nil {
		return fmt.Errorf("turn IPv4 forwarding on for job egress: %w", err)
	}
	return nil
}

// CleanEgress removes the egress tables and veth host ends this host's
// provider namespace holds: what a node that crashed left. Only one
// node may run per network namespace with egress.
func CleanEgress() error { return cleanEgress(netns.None()) }

// addEgress is AddEgress with the host's namespace given (netns.None():
// the caller's), and the rank's.
func addEgress(hostNS, target netns.NsHandle) (*Egress, error) {
	h, err := handleIn(hostNS)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	blocked, err := hostSubnets(h)
	if err != nil {
		return nil, err
	}
	e := &Egress{hostNS: hostNS}
	if err := e.link(h, target); err != nil {
		return nil, err
	}
	if err := e.configureJob(target); err != nil {
		_ = e.Close()
		return nil, err
	}
	e.table = EgressTablePrefix + e.name
	if err := installRules(hostNS, e.table, e.name, e.jobAddr, append(blocked, BlockedRanges...)); err != nil {
		_ = e.Close()
		return nil, err
	}
	return e, nil
}

// link creates the veth pair, its job end straight in target, and gives
// the host end its address: a free /30 of EgressRange, picked at random.
func (e *Egress) link(h *netlink.Handle, target netns.NsHandle) error {
	slots := 1 << (32 - EgressRange.Bits() - 2)
	for try := 0; try < 16; try++ {
		i := rand.IntN(slots)
		name := fmt.Sprintf("%s%x", egressLinkPrefix, i)
		v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: EgressIfName, PeerNamespace: netlink.NsFd(int(target))}
		err := h.LinkAdd(v)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			return fmt.Errorf("create egress veth: %w", err)
		}
		e.name = name
		base := EgressRange.Addr().As4()
		n := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3]) + uint32(i)*4
		e.hostAddr = netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n + 1)})
		e.jobAddr = e.hostAddr.Next()
		if err := setUp(h, name, netip.PrefixFrom(e.hostAddr, 30)); err != nil {
			_ = e.Close()
			return err
		}
		return nil
	}
	return errors.New("create egress veth: no free address found")
}

// configureJob gives the job end its address and the namespace its
// default route, through the host end.
func (e *Egress) configureJob(target netns.NsHandle) error {
	h, err := netlink.NewHandleAt(target, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink in the job's namespace: %w", err)
	}
	defer h.Close()
	if err := setUp(h, EgressIfName, netip.PrefixFrom(e.jobAddr, 30)); err != nil {
		return err
	}
	link, err := h.LinkByName(EgressIfName)
	if err != nil {
		return fmt.Errorf("find %s: %w", EgressIfName, err)
	}
	gw := e.hostAddr.As4()
	r := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: net.IP(gw[:])}
	if err := h.RouteAdd(r); err != nil {
		return fmt.Errorf("default route via %s: %w", e.hostAddr, err)
	}
	return nil
}

// setUp gives link name address addr and brings it up.
func setUp(h *netlink.Handle, name string, addr netip.Prefix) error {
	link, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find %s: %w", name, err)
	}
	a := addr.Addr().As4()
	ipnet := &net.IPNet{IP: net.IP(a[:]), Mask: net.CIDRMask(addr.Bits(), 32)}
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipnet}); err != nil {
		return fmt.Errorf("address of %s: %w", name, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("%s up: %w", name, err)
	}
	return nil
}

// Close removes the rank's egress: its nftables table and its veth pair
// (gone already with the rank's namespace, as a pair goes together).
func (e *Egress) Close() error {
	var errs []error
	if e.table != "" {
		if err := delTable(e.hostNS, e.table); err != nil {
			errs = append(errs, err)
		}
	}
	if e.name != "" {
		h, err := handleIn(e.hostNS)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		defer h.Close()
		if l, err := h.LinkByName(e.name); err == nil {
			if err := h.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
				errs = append(errs, fmt.Errorf("delete %s: %w", e.name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// handleIn is a netlink handle in ns (netns.None(): the caller's).
func handleIn(ns netns.NsHandle) (*netlink.Handle, error) {
	if ns == netns.None() {
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return nil, fmt.Errorf("netlink: %w", err)
		}
		return h, nil
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink in the host's namespace: %w", err)
	}
	return h, nil
}

// nftIn is an nftables connection to ns (netns.None(): the caller's).
func nftIn(ns netns.NsHandle) (*nftables.Conn, error) {
	var opts []nftables.ConnOption
	if ns != netns.None() {
		opts = append(opts, nftables.WithNetNSFd(int(ns)))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	return c, nil
}

// hostSubnets are the IPv4 subnets of the host's own addresses but
// loopback's: a rank with egress reaches none of them.
func hostSubnets(h *netlink.Handle) ([]netip.Prefix, error) {
	addrs, err := h.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("the host's addresses: %w", err)
	}
	var out []netip.Prefix
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP.To4())
		if !ok || ip.IsLoopback() {
			continue
		}
		bits, _ := a.Mask.Size()
		out = append(out, netip.PrefixFrom(ip, bits).Masked())
	}
	return out, nil
}

// delTable deletes nftables table name of gpumesh's family in ns.
func delTable(ns netns.NsHandle, name string) error {
	c, err := nftIn(ns)
	if err != nil {
		return err
	}
	c.DelTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: name})
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("delete nftables table %s: %w", name, err)
	}
	return nil
}

// cleanEgress is CleanEgress in ns.
func cleanEgress(ns netns.NsHandle) error {
	c, err := nftIn(ns)
	if err != nil {
		return err
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return fmt.Errorf("list nftables tables: %w", err)
	}
	var errs []error
	for _, t := range tables {
		if strings.HasPrefix(t.Name, EgressTablePrefix) {
			if err := delTable(ns, t.Name); err != nil {
				errs = append(errs, err)
			}
		}
	}
	h, err := handleIn(ns)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list links: %w", err))...)
	}
	for _, l := range links {
		if _, veth := l.(*netlink.Veth); veth && strings.HasPrefix(l.Attrs().Name, egressLinkPrefix) {
			if err := h.LinkDel(l); err != nil {
				errs = append(errs, fmt.Errorf("delete %s: %w", l.Attrs().Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Egress is one rank's way out to public addresses (AddEgress): a veth
// pair and an nftables table in the host's namespace.
type Egress struct {
	hostNS   netns.NsHandle // netns.None(): the provider's own
	name     string         // host end
	table    string
	hostAddr netip.Addr
	jobAddr  netip.Addr
}

// JobAddr is the address of the rank's end, EgressIfName.
func (e *Egress) JobAddr() netip.Addr { return e.jobAddr }

// HostLink is the name of the host's end.
func (e *Egress) HostLink() string { return e.name }
