// Package evm is ledger/anchor's chain: an anchor.Backend that sends each
// checkpoint commitment as one transaction to an EVM chain over JSON-RPC
// (go-ethereum's ethclient), and the same on a small in-process dev chain
// of our own for the demo and tests (devchain.go), which checks
// transactions as a real node does but links none of geth's node. It is
// anchoring's only package that compiles go-ethereum (ledger/settle, the
// payment vouchers, uses its crypto and EIP-712 types), so the rest of
// the tree builds fast.
package evm
