// Package evm is ledger/anchor's chain: an anchor.Backend that sends each
// checkpoint commitment as one transaction to an EVM chain over JSON-RPC
// (go-ethereum's ethclient), and the same on go-ethereum's in-process
// simulated chain for the demo and tests. It is the only package that
// compiles go-ethereum, so the rest of the tree builds fast.
package evm
