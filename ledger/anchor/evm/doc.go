// Package evm is ledger/anchor's chain: an anchor.Backend that sends each
// checkpoint commitment as one transaction to an EVM chain over JSON-RPC
// (go-ethereum's ethclient), and the same on a small in-process dev chain
// of our own for the demo and tests (devchain.go), which checks
// transactions as a real node does and executes them with go-ethereum's
// EVM over an in-memory state (core/vm, core/state; devexec.go), but links
// none of geth's node. DevChain (devbackend.go) offers that chain to
// contract bindings: the demo's and the settlement tests' chain.
package evm
