// Package settle is the node side of paying for receipts on an EVM chain:
// the EIP-712 Voucher a requester signs to a provider (a cumulative amount
// owed, redeemable in one transaction for any number of receipts) and the
// Work a provider signs alongside each receipt (slashable evidence when two
// conflict), their hashing, signing and verifying with go-ethereum, the
// conversion from ledger.Micros to token units, and the checks a provider
// makes on a voucher before it takes it.
//
// The Settlement contract, its bindings and the chain client live in
// ledger/settle/contracts; this package depends on none of them, and the
// node reaches the chain only through the small interfaces it declares.
package settle
