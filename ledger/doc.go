// Package ledger keeps the node's accounts: usage receipts signed by the
// provider and countersigned by the requester (libp2p signed envelopes, one
// domain each), and an append-only log of them in Badger v4 in which every
// entry holds the hash of the one before (a hash chain) and the RFC 6962
// Merkle tree over all entries (ledger/merkle) is stored in the same
// transaction, so the root of any size, inclusion proofs and consistency
// proofs are always at hand for anchoring.
//
// Receipts are cumulative: a later receipt for the same provider, requester,
// job, rank and attempt carries a higher Seq and the running total, so
// settlement only ever needs the latest one. Balances are derived from those.
//
// The package knows nothing about networking: it uses libp2p's key, peer ID
// and envelope types only.
package ledger
