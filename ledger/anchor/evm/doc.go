// Package evm is ledger/anchor's chain: an anchor.Backend that sends each
// checkpoint commitment as one transaction to an EVM chain over JSON-RPC
// (go-ethereum's ethclient), and the same on a small in-process dev chain
// of our own for the demo and tests (devchain.go), which checks
// transactions as a real node does but links none of geth's node. It is
// the only package that compiles go-ethereum, so the rest of the tree
// builds fast.
package evm
