//go:build linux

package overlay

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// installRules installs table (family inet) in ns for one rank's egress
// through host link link, the rank's address being job: the host itself
// is out of reach (input), so is every range of blocked (forward), the
// rank sends only from job and IPv4, nothing from outside opens a
// connection to it, and what it sends out is masqueraded.
func installRules(ns netns.NsHandle, table, link string, job netip.Addr, blocked []netip.Prefix) error {
	c, err := nftIn(ns)
	if err != nil {
		return err
	}
	t := c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: table})
	accept := nftables.ChainPolicyAccept
	input := c.AddChain(&nftables.Chain{Name: "input", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: &accept})
	forward := c.AddChain(&nftables.Chain{Name: "forward", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept})
	post := c.AddChain(&nftables.Chain{Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource, Policy: &accept})
	drop := &expr.Verdict{Kind: expr.VerdictDrop}
	add := func(ch *nftables.Chain, exprs ...expr.Any) {
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: exprs})
	}
	// The host itself: any of its addresses, any port.
	add(input, cat(ifIs(unix.NFT_META_IIFNAME, link, true), drop)...)
	// Only IPv4, only from the rank's own address.
	add(forward, cat(ifIs(unix.NFT_META_IIFNAME, link, true), notIPv4(), drop)...)
	add(forward, cat(ifIs(unix.NFT_META_IIFNAME, link, true), ipv4(), addrIs(12, netip.PrefixFrom(job, 32), false), drop)...)
	for _, p := range blocked {
		add(forward, cat(ifIs(unix.NFT_META_IIFNAME, link, true), ipv4(), addrIs(16, p, true), drop)...)
	}
	// Towards the rank: replies only.
	add(forward, cat(ifIs(unix.NFT_META_OIFNAME, link, true), notReply(), drop)...)
	add(post, cat(ipv4(), addrIs(12, netip.PrefixFrom(job, 32), true), ifIs(unix.NFT_META_OIFNAME, link, false), []expr.Any{&expr.Masq{}})...)
	if err := c.Flush(); err != nil {
		return fmt.Errorf("install nftables table %s: %w", table, err)
	}
	return nil
}

// cat joins expression lists.
func cat(parts ...any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		switch v := p.(type) {
		case []expr.Any:
			out = append(out, v...)
		case expr.Any:
			out = append(out, v)
		}
	}
	return out
}

// ifIs matches the input or output interface (key) being name, or not.
func ifIs(key expr.MetaKey, name string, is bool) []expr.Any {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	op := expr.CmpOpEq
	if !is {
		op = expr.CmpOpNeq
	}
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: op, Register: 1, Data: b}}
}

// ipv4 matches IPv4 packets.
func ipv4() []expr.Any {
	return []expr.Any{&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}}}
}

// notIPv4 matches what is not IPv4.
func notIPv4() []expr.Any {
	return []expr.Any{&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}}}
}

// addrIs matches the IPv4 header's address at offset (12 source, 16
// destination) being inside p, or not.
func addrIs(offset uint32, p netip.Prefix, in bool) []expr.Any {
	mask := binary.BigEndian.AppendUint32(nil, ^uint32(0)<<(32-p.Bits()))
	if p.Bits() == 0 {
		mask = []byte{0, 0, 0, 0}
	}
	a := p.Masked().Addr().As4()
	op := expr.CmpOpEq
	if !in {
		op = expr.CmpOpNeq
	}
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: op, Register: 1, Data: a[:]},
	}
}

// notReply matches packets of no connection established from the other
// side (conntrack state neither established nor related).
func notReply() []expr.Any {
	bits := binary.NativeEndian.AppendUint32(nil, expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED)
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: bits, Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0, 0, 0, 0}},
	}
}
