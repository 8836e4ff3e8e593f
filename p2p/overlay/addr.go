package overlay

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// MaxRanks is the most ranks a job's network holds: rank r has host
// number r+1 in the job's /24, and .255 is the broadcast address.
const MaxRanks = 254

// base is the range every job's subnet is taken from: 10.128.0.0/9, which
// holds 32,768 subnets of /24.
var base = netip.MustParsePrefix("10.128.0.0/9")

// ErrRank is returned for a rank outside [0, MaxRanks) or outside a job's
// world.
var ErrRank = errors.New("rank out of range")

// Subnet is job's /24 inside 10.128.0.0/9, chosen by the first 15 bits of
// the SHA-256 of the job ID: stable for the job's life, the same on every
// provider. Two jobs may share a subnet (one chance in 32,768 for a given
// pair); that is harmless, because a subnet only names addresses inside
// one job's namespaces and streams: each rank's namespace holds its own
// job's interface only, and every stream names its job.
func Subnet(job string) netip.Prefix {
	sum := sha256.Sum256([]byte(job))
	n := binary.BigEndian.Uint16(sum[:2]) & 0x7fff // 15 bits
	b := base.Addr().As4()
	b[1] |= byte(n >> 8)
	b[2] = byte(n)
	return netip.PrefixFrom(netip.AddrFrom4(b), 24)
}

// Subnet6 is job's IPv6 subnet: a unique local /64 (RFC 4193, fd00::/8)
// whose 40-bit global ID is taken from the SHA-256 of the job ID (after
// the bits Subnet uses), subnet ID 0; stable for the job's life, the same
// on every provider. Rank r's address is its host number r+1 (::1 for
// rank 0), as in the IPv4 subnet.
func Subnet6(job string) netip.Prefix {
	sum := sha256.Sum256([]byte(job))
	var b [16]byte
	b[0] = 0xfd
	copy(b[1:6], sum[2:7])
	return netip.PrefixFrom(netip.AddrFrom16(b), 64)
}

// Addr is rank's address in job's subnet: host number rank+1.
func Addr(job string, rank int) (netip.Addr, error) {
	return addrIn(Subnet(job), rank)
}

// Addr6 is rank's address in job's IPv6 subnet: host number rank+1.
func Addr6(job string, rank int) (netip.Addr, error) {
	return addrIn(Subnet6(job), rank)
}

// addrIn is rank's address in subnet p (a /24 or a /64).
func addrIn(p netip.Prefix, rank int) (netip.Addr, error) {
	if rank < 0 || rank >= MaxRanks {
		return netip.Addr{}, fmt.Errorf("%w: %d not in [0, %d)", ErrRank, rank, MaxRanks)
	}
	if p.Addr().Is6() {
		b := p.Masked().Addr().As16()
		b[15] = byte(rank + 1)
		return netip.AddrFrom16(b), nil
	}
	b := p.Addr().As4()
	b[3] = byte(rank + 1)
	return netip.AddrFrom4(b), nil
}

// rankOf is the rank whose address a is in subnet p, or false when a is
// outside p or is no rank's (the network or broadcast address, or in a
// /64 any host number above MaxRanks).
func rankOf(p netip.Prefix, a netip.Addr) (int, bool) {
	if a.Is4In6() || !p.Contains(a) {
		return 0, false
	}
	var h int
	if a.Is6() {
		b := a.As16()
		if [7]byte(b[8:15]) != [7]byte{} {
			return 0, false
		}
		h = int(b[15])
	} else {
		h = int(a.As4()[3])
	}
	if h < 1 || h > MaxRanks {
		return 0, false
	}
	return h - 1, true
}
