package settle

import (
	"encoding/hex"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"

	"github.com/gpumesh/gpumesh/ledger"
)

// WorkFor is the Work a provider signs for receipt r, paid in token (with
// the given decimals) by the requester's wallet.
func WorkFor(r *ledger.Receipt, token common.Address, decimals uint8, requester common.Address) (Work, error) {
	amount, err := ToUnits(r.Amount, decimals)
	if err != nil {
		return Work{}, fmt.Errorf("work for receipt %s: %w", r.ID, err)
	}
	if r.Rank < 0 || int64(r.Rank) > int64(^uint32(0)) {
		return Work{}, fmt.Errorf("work for receipt %s: %w: rank %d", r.ID, ErrInvalid, r.Rank)
	}
	var result common.Hash
	if r.ResultDigest != "" {
		b, err := hex.DecodeString(r.ResultDigest)
		if err != nil || len(b) != common.HashLength {
			return Work{}, fmt.Errorf("work for receipt %s: %w: result digest is not 32 bytes of hex", r.ID, ErrInvalid)
		}
		result = common.BytesToHash(b)
	}
	return Work{
		Job:       JobHash(r.Job),
		Rank:      uint32(r.Rank),
		Result:    result,
		Amount:    amount,
		Token:     token,
		Requester: requester,
	}, nil
}

// NextVoucher is the voucher that follows prev (nil for the first between
// these parties) after a receipt adds add base units.
func NextVoucher(prev *Voucher, requester, provider, token common.Address, add *big.Int) Voucher {
	next := Voucher{Requester: requester, Provider: provider, Token: token, Cumulative: new(big.Int).Set(add), Nonce: 1}
	if prev != nil {
		next.Cumulative.Add(next.Cumulative, prev.Cumulative)
		next.Nonce = prev.Nonce + 1
	}
	return next
}

// CheckNext is the provider's check of a new voucher against the previous
// good one it holds (nil if none) after a receipt that adds add base units:
// same parties and token as expected, cumulative exactly the previous plus
// add (ErrCumulative, a lower one included), and nonce the previous plus one
// (ErrNonce). The signature is checked separately by SignedVoucher.Verify.
func CheckNext(prev, next *Voucher, requester, provider, token common.Address, add *big.Int) error {
	if next.Requester != requester || next.Provider != provider || next.Token != token {
		return fmt.Errorf("%w: voucher from %s to %s in %s, want from %s to %s in %s", ErrParties,
			next.Requester.Hex(), next.Provider.Hex(), next.Token.Hex(), requester.Hex(), provider.Hex(), token.Hex())
	}
	if err := checkUint256("add", add); err != nil {
		return err
	}
	want := NextVoucher(prev, requester, provider, token, add)
	if next.Cumulative == nil || next.Cumulative.Cmp(want.Cumulative) != 0 {
		return fmt.Errorf("%w: cumulative %s, want %s", ErrCumulative, next.Cumulative, want.Cumulative)
	}
	if next.Nonce != want.Nonce {
		return fmt.Errorf("%w: nonce %d, want %d", ErrNonce, next.Nonce, want.Nonce)
	}
	return nil
}
