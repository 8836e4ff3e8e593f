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

// Addr is rank's address in job's subnet: host number rank+1.
func Addr(job string, rank int) (netip.Addr, error) {
	return addrIn(Subnet(job), rank)
}

// addrIn is rank's address in subnet p.
func addrIn(p netip.Prefix, rank int) (netip.Addr, error) {
	if rank < 0 || rank >= MaxRanks {
		return netip.Addr{}, fmt.Errorf("%w: %d not in [0, %d)", ErrRank, rank, MaxRanks)
	}
	b := p.Addr().As4()
	b[3] = byte(rank + 1)
	return netip.AddrFrom4(b), nil
}

// rankOf is the rank whose address a is in subnet p, or false when a is
// outside p or is no rank's (the network or broadcast address).
func rankOf(p netip.Prefix, a netip.Addr) (int, bool) {
	if !a.Is4() || !p.Contains(a) {
		return 0, false
	}
	h := int(a.As4()[3])
	if h < 1 || h > MaxRanks {
		return 0, false
	}
	return h - 1, true
}
