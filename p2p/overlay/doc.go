// Package overlay is a job's private network: every rank of a job gets an
// IPv4 address on a /24 private to the job (Subnet, Addr), and the IP
// packets between ranks travel over libp2p streams between their
// providers on the protocol /gpumesh/net/1, so they cross NATs, use relays
// and are encrypted like every other gpumesh stream.
//
// A provider runs one Service. For each job it runs ranks of, it Joins
// the job's network with the job's member list (rank i runs on
// members[i]) and Attaches a Port per local rank: on Linux a TUN device
// that lives in the rank's own network namespace (see Device), in tests
// an in-memory Port. The member list is the access list: a stream from a
// peer that holds no rank, a packet whose source address is not one of
// the sending peer's ranks, a packet addressed outside the job's subnet
// or to a rank not served here are dropped and counted by reason
// (Stats). SetMember hands a rank's address to its replacement after a
// failover; Close tears the job's network down.
//
// Wire format: each stream carries, in p2p/frame's length-prefixed
// frames, one hello (a version byte and the job ID) and then one raw
// IPv4 packet per frame, at most MTU bytes each.
package overlay
