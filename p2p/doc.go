// Package p2p is a node's place on the network: the libp2p host (TCP and
// QUIC, Noise and TLS, connection and resource managers, NAT traversal and
// relays), the gpumesh Kademlia DHT, and peer discovery through bootstrap
// peers and mDNS. Packages above it use the host to open streams and the DHT
// to find capacity; p2p itself knows nothing about jobs.
package p2p
