// Package contracts is gpumesh's settlement on an EVM chain (issue 24,
// docs/settlement.md): the Solidity sources under src/, their ABI and
// bytecode under artifacts/ (compiled by the solc pinned in package-lock.json,
// reproduced exactly by TestArtifactsReproduce), the abigen bindings
// (*_bind.go, generated: see gen.go), and Client, a small hand-written client
// that deploys the Settlement contract, sends its transactions with a context
// and a receipt, and turns its reverts into the sentinel errors in errors.go.
//
// TestToken and HostileToken exist for tests only.
package contracts
