package overlay

import "net/netip"

// EgressIfName is the name of a rank's egress interface (AddEgress) in
// its namespace, beside loopback and IfName.
const EgressIfName = "gmegress"

// EgressTablePrefix starts the name of every nftables table (family
// inet) that job egress installs: one per rank, named after its veth's
// host end.
const EgressTablePrefix = "gpumesh_egress_"

// egressLinkPrefix starts the name of the host end of every egress veth.
const egressLinkPrefix = "gmeg"

// EgressRange is where the /30 of each rank's egress veth pair comes
// from: the host end holds its first address, the rank its second.
// Inside 100.64.0.0/10 (shared address space), which the rank cannot
// reach beyond its gateway.
var EgressRange = netip.MustParsePrefix("100.127.0.0/16")

// BlockedRanges are the IPv4 destinations a rank with egress never
// reaches, besides the host's own addresses and subnets: "this network",
// RFC 1918 private, shared address space (CGNAT), loopback, link-local
// (cloud metadata services included), IETF protocol assignments,
// benchmarking, multicast, and reserved and broadcast.
var BlockedRanges = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("240.0.0.0/4"),
}
