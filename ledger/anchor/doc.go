// Package anchor commits a node's ledger to an EVM chain: it closes epochs of
// the log (every interval or every N entries), signs a checkpoint (log id,
// tree size, RFC 6962 root) with the node's key, writes a compact commitment
// to it in one transaction per epoch, and keeps the record, with the
// consistency proof from the previous anchor, in anchors.json. Anyone holding
// an entry, its inclusion proof and the anchor can check it against the chain
// without trusting the node (VerifyOnChain, VerifyEntry).
//
// The chain itself is behind the Backend interface; ledger/anchor/evm
// implements it over JSON-RPC and on an in-process simulated chain, and is
// anchoring's only package that compiles go-ethereum.
package anchor
