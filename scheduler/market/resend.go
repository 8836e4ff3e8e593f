package market

import (
	"errors"
	"fmt"
	"sort"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/settle"
)

// Voucher resend. A requester logs its countersigned receipts and their
// vouchers before the provider gets them; if the settle answer is lost
// after that, the provider never holds those vouchers, and since it takes
// a voucher only at its channel's nonce plus one, it would refuse every
// later one. So the provider says in its settle offer which voucher it
// holds last on the requester's channel (Held), and the requester resends
// (Resent), before the answer's new vouchers, every voucher it signed on
// that channel above that nonce, each with its countersigned receipt, at
// most maxResent, oldest first. The provider checks each resent receipt
// as its own (its signature, itself as provider, the stream's peer as
// requester) and each voucher exactly as a new one, in nonce order, and
// logs the receipts it lacked with all the vouchers: nothing is taken
// that the provider did not serve, nor on any other terms than before. A
// provider that does not know the fields sends no Held and gets nothing
// resent; a requester that does not know them ignores Held.

// maxResent bounds the vouchers resent in one settle answer; a longer gap
// closes over as many settlements.
const maxResent = 16

// maxSettleAnswerBytes bounds a settle answer: countersigned receipts and
// their vouchers, and the resent ones (in base64 inside JSON).
const maxSettleAnswerBytes = maxSettleBytes + maxResent*2*(ledger.MaxSignedSize+settle.MaxWireSize)

// heldVoucher is the latest voucher a provider holds on the payer's
// channel: nonce 0 and cumulative "0" for none.
type heldVoucher struct {
	Nonce      uint64 `json:"nonce"`
	Cumulative string `json:"cumulative"`
}

// resentVoucher is a voucher the provider missed, with the countersigned
// receipt it pays for.
type resentVoucher struct {
	Receipt []byte `json:"receipt"`
	Voucher []byte `json:"voucher"`
}

// errResent marks a resent voucher or receipt the provider refused.
var errResent = errors.New("resent voucher refused")

// held is the latest voucher this provider holds from payer's wallet.
func (s *Settlement) held(l *ledger.Log, payer common.Address) (*heldVoucher, error) {
	latest, found, err := l.LatestVoucher(ledger.VoucherHeld, Channel(s.Domain, payer, s.address(), s.Token))
	if err != nil {
		return nil, fmt.Errorf("read the latest voucher: %w", err)
	}
	if !found {
		return &heldVoucher{Cumulative: "0"}, nil
	}
	return &heldVoucher{Nonce: latest.Nonce, Cumulative: latest.Cumulative}, nil
}

// missed returns the vouchers this requester signed to payout's wallet
// (provider's peer) above the held nonce, oldest first and in unbroken
// nonce order from held+1, at most maxResent, each with its countersigned
// receipt from the ledger. The caller holds the channel's peer lock.
func (s *Settlement) missed(l *ledger.Log, provider peer.ID, payout common.Address, held uint64) ([]resentVoucher, error) {
	ch := Channel(s.Domain, s.address(), payout, s.Token)
	latest, ok, err := l.LatestVoucher(ledger.VoucherSigned, ch)
	if err != nil || !ok || latest.Nonce <= held {
		return nil, err
	}
	entries, err := l.ByPeer(provider)
	var damaged *ledger.DamageError
	if err != nil && !errors.As(err, &damaged) {
		return nil, fmt.Errorf("read the receipts with %s: %w", short(provider), err)
	}
	type signed struct {
		nonce uint64
		rv    resentVoucher
	}
	var out []signed
	for _, e := range entries {
		sg, err := ledger.UnmarshalSigned(e.Data)
		if err != nil {
			continue
		}
		rc, err := ledger.OpenReceipt(sg)
		if err != nil {
			continue
		}
		v, err := l.VoucherFor(ledger.VoucherSigned, rc.ID)
		if err != nil || v.Channel != ch || v.Nonce <= held {
			continue
		}
		out = append(out, signed{v.Nonce, resentVoucher{Receipt: e.Data, Voucher: v.Voucher}})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].nonce < out[b].nonce })
	var rs []resentVoucher
	for i, f := range out {
		if f.nonce != held+uint64(i)+1 || len(rs) == maxResent {
			break // a hole the provider could not take past
		}
		rs = append(rs, f.rv)
	}
	return rs, nil
}

// openResent checks resent vouchers' receipts as provider self's, served
// to requester, and returns them with the vouchers, in order, and those
// of the receipts the ledger lacks (to log).
func openResent(l *ledger.Log, self, requester peer.ID, rs []resentVoucher) (all []ledger.Verified, wire [][]byte, fresh []ledger.Verified, err error) {
	if len(rs) > maxResent {
		return nil, nil, nil, fmt.Errorf("%w: %d resent, at most %d", errResent, len(rs), maxResent)
	}
	seen := map[string]bool{}
	for i, r := range rs {
		sg, err := ledger.UnmarshalSigned(r.Receipt)
		var v ledger.Verified
		if err == nil {
			v, err = ledger.Prepare(sg) // both signatures, this provider's included
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%w: receipt %d: %w", errResent, i, err)
		}
		rc := v.Receipt()
		switch {
		case rc.Provider != self.String() || rc.Requester != requester.String():
			return nil, nil, nil, fmt.Errorf("%w: receipt %s is not this provider's for this requester", errResent, short8(rc.ID))
		case seen[rc.ID]:
			return nil, nil, nil, fmt.Errorf("%w: receipt %s resent twice", errResent, short8(rc.ID))
		}
		seen[rc.ID] = true
		all, wire = append(all, v), append(wire, r.Voucher)
		if _, err := l.ByReceipt(rc.ID); errors.Is(err, ledger.ErrNotFound) {
			fresh = append(fresh, v)
		} else if err != nil {
			return nil, nil, nil, fmt.Errorf("look up receipt %s: %w", short8(rc.ID), err)
		}
	}
	return all, wire, fresh, nil
}
