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
