package overlay

import (
	"errors"
	"net/netip"
	"testing"
)

func TestSubnetIsStableAndPrivate(t *testing.T) {
	jobs := []string{"0123456789abcdef0123456789abcdef", "job-a", "job-b", "x"}
	for _, job := range jobs {
		p := Subnet(job)
		if p != Subnet(job) {
			t.Errorf("Subnet(%q) changed between calls", job)
		}
		if p.Bits() != 24 || !base.Contains(p.Addr()) || p.Masked() != p {
			t.Errorf("Subnet(%q) = %s, want a /24 inside %s", job, p, base)
		}
	}
	if Subnet("job-a") == Subnet("job-b") {
		t.Errorf("job-a and job-b share %s (possible, but not for these two IDs)", Subnet("job-a"))
	}
}

func TestAddrAndRankOf(t *testing.T) {
	job := "0123456789abcdef0123456789abcdef"
	p := Subnet(job)
	for _, r := range []int{0, 1, 2, MaxRanks - 1} {
		a, err := Addr(job, r)
		if err != nil {
			t.Fatalf("Addr(%d): %v", r, err)
		}
		if got := int(a.As4()[3]); got != r+1 {
			t.Errorf("Addr(%d) host number %d, want %d", r, got, r+1)
		}
		if got, ok := rankOf(p, a); !ok || got != r {
			t.Errorf("rankOf(%s) = %d, %v; want %d, true", a, got, ok, r)
		}
	}
	for _, r := range []int{-1, MaxRanks} {
		if _, err := Addr(job, r); !errors.Is(err, ErrRank) {
			t.Errorf("Addr(%d) error %v, want ErrRank", r, err)
		}
	}
	b := p.Addr().As4()
	b[3] = 255
	for _, a := range []netip.Addr{p.Addr(), netip.AddrFrom4(b), netip.MustParseAddr("192.168.1.1"), netip.MustParseAddr("::1")} {
		if r, ok := rankOf(p, a); ok {
			t.Errorf("rankOf(%s) = %d, true; want no rank", a, r)
		}
	}
}

// The IPv6 subnet is a stable unique local /64 per job, rank r is host
// number r+1 in it, and rankOf takes no other address of it, none of the
// IPv4 subnet's and no IPv4-mapped one.
func TestSubnet6AndRanks(t *testing.T) {
	job := "0123456789abcdef0123456789abcdef"
	p := Subnet6(job)
	if p != Subnet6(job) || p.Bits() != 64 || p.Masked() != p || !netip.MustParsePrefix("fd00::/8").Contains(p.Addr()) {
		t.Fatalf("Subnet6 = %s, want a stable /64 inside fd00::/8", p)
	}
	if Subnet6("job-a") == Subnet6("job-b") {
		t.Errorf("job-a and job-b share %s", Subnet6("job-a"))
	}
	for _, r := range []int{0, 1, MaxRanks - 1} {
		a, err := Addr6(job, r)
		if err != nil {
			t.Fatal(err)
		}
		if want := netip.AddrFrom16(func() [16]byte { b := p.Addr().As16(); b[15] = byte(r + 1); return b }()); a != want {
			t.Errorf("Addr6(%d) = %s, want %s", r, a, want)
		}
		if got, ok := rankOf(p, a); !ok || got != r {
			t.Errorf("rankOf(%s) = %d, %v; want %d", a, got, ok, r)
		}
	}
	if _, err := Addr6(job, MaxRanks); !errors.Is(err, ErrRank) {
		t.Errorf("Addr6(MaxRanks): %v, want ErrRank", err)
	}
	b := p.Addr().As16()
	b[14] = 1 // host number 257
	v4, _ := Addr(job, 0)
	for _, a := range []netip.Addr{p.Addr(), netip.AddrFrom16(b), v4, netip.AddrFrom16(v4.As16()), netip.MustParseAddr("fe80::1")} {
		if r, ok := rankOf(p, a); ok {
			t.Errorf("rankOf(%s) = %d, true; want no rank", a, r)
		}
	}
	if r, ok := rankOf(Subnet(job), netip.AddrFrom16(v4.As16())); ok {
		t.Errorf("rankOf(IPv4-mapped %s) = %d, true; want no rank", v4, r)
	}
}
