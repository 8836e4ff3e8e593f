// Package merkle holds the RFC 6962 Merkle trees the ledger commits to: a leaf
// hashes as SHA-256(0x00||data) and an interior node as SHA-256(0x01||left||right),
// so a leaf can never pass for a node. It is a thin layer over
// golang.org/x/mod/sumdb/tlog, which keeps a tree as the "stored hashes" written
// alongside each record, so the root of any earlier size and the inclusion and
// consistency proofs between sizes cost O(log n) reads. Verification needs no
// store: a receipt, its proof and an anchored root are enough.
package merkle
