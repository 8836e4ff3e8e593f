// Package p2p is a node's place on the network: the libp2p host (TCP and
// QUIC, Noise and TLS, connection and resource managers, NAT traversal and
// relays), the gpumesh Kademlia DHT, and peer discovery through bootstrap
// peers (full multiaddrs and /dnsaddr/ names) and mDNS. A node joins one
// named network (NetworkDef: main by default, local for the LAN only) whose
// prefixes keep its DHT, stream protocols, topics and LAN discovery apart
// from every other network's. Packages above it use the host to open
// streams and the DHT to find capacity; p2p itself knows nothing about jobs.
package p2p
