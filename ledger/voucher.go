package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// Payment vouchers (issue 24) are kept in the log's database beside the
// receipts they pay for, outside the hash chain: a VoucherRecord per
// receipt and role, the latest per channel, and what was redeemed per
// channel. A voucher is written in the same transaction as its receipt
// (AppendWithVouchers), so that a crash leaves both or neither. The ledger
// treats the voucher and work bytes as opaque; ledger/settle signs and
// checks them.
//
//	v <role> <receipt id> -> VoucherRecord (JSON)
//	c <role> <channel>    -> VoucherRecord (JSON): the latest of the channel
//	x <channel>           -> Redemption (JSON)
const (
	pVoucher    = 'v'
	pChannel    = 'c'
	pRedemption = 'x'
)

// Voucher roles.
const (
	// VoucherSigned is a voucher this node signed as requester.
	VoucherSigned = "signed"
	// VoucherHeld is a voucher this node holds as provider, with the work it signed.
	VoucherHeld = "held"
)

// Bounds of a VoucherRecord.
const (
	maxChannel      = 256
	maxVoucherBytes = 4096
	maxCumulative   = 80 // decimal digits of a uint256
)

// ErrVoucherOrder marks a voucher whose nonce does not follow its channel's latest.
var ErrVoucherOrder = errors.New("voucher out of order")

// VoucherRecord is one voucher as this node keeps it.
type VoucherRecord struct {
	// Receipt is the ID of the receipt the voucher pays for.
	Receipt string `json:"receipt"`
	// Role is VoucherSigned or VoucherHeld.
	Role string `json:"role"`
	// Channel names who pays whom in what: requester, provider and token
	// wallet addresses, as ledger/settle writes them.
	Channel string `json:"channel"`
	// Nonce is the voucher's sequence number in its channel, from 1.
	Nonce uint64 `json:"nonce"`
	// Cumulative is the voucher's cumulative amount in token base units, in decimal.
	Cumulative string `json:"cumulative"`
	// Amount is the receipt's amount, in micros.
	Amount Micros `json:"amount"`
	// Voucher is the signed voucher's wire bytes.
	Voucher []byte `json:"voucher"`
	// Work is the provider's signed work's wire bytes; held vouchers only.
	Work []byte `json:"work,omitempty"`
	// Time is when it was recorded.
	Time time.Time `json:"time"`
}

// Check returns every problem with the record's form.
func (v *VoucherRecord) Check() error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: voucher record: "+format, append([]any{ErrInvalid}, a...)...))
	}
	if v.Role != VoucherSigned && v.Role != VoucherHeld {
		bad("role %q", v.Role)
	}
	if v.Receipt == "" || len(v.Receipt) > maxString {
		bad("receipt id of %d bytes", len(v.Receipt))
	}
	if v.Channel == "" || len(v.Channel) > maxChannel || !printable(v.Channel) {
		bad("channel of %d bytes", len(v.Channel))
	}
	if v.Nonce == 0 {
		bad("nonce zero")
	}
	if v.Cumulative == "" || len(v.Cumulative) > maxCumulative {
		bad("cumulative of %d digits", len(v.Cumulative))
	}
	for _, c := range v.Cumulative {
		if c < '0' || c > '9' {
			bad("cumulative %.20q is not decimal", v.Cumulative)
			break
		}
	}
	if v.Amount < 0 || v.Amount > MaxAmount {
		bad("amount %d", v.Amount)
	}
	if len(v.Voucher) == 0 || len(v.Voucher) > maxVoucherBytes || len(v.Work) > maxVoucherBytes {
		bad("voucher of %d bytes, work of %d", len(v.Voucher), len(v.Work))
	}
	return errors.Join(errs...)
}

func voucherKey(role, receipt string) []byte { return str(str([]byte{pVoucher}, role), receipt) }
func channelKey(role, channel string) []byte { return str(str([]byte{pChannel}, role), channel) }
func channelPrefix(role string) []byte       { return str([]byte{pChannel}, role) }
func redemptionKey(channel string) []byte    { return str([]byte{pRedemption}, channel) }

// AppendWithVouchers is AppendVerified that also records vouchers, all in
// one transaction: the receipts and the vouchers are written together or
// not at all. Each voucher's receipt is one of vs or already logged, no
// voucher is recorded twice for a receipt and role (ErrReplay), and each
// voucher's nonce is its channel's latest plus one (ErrVoucherOrder).
func (l *Log) AppendWithVouchers(ctx context.Context, vs []Verified, vouchers []VoucherRecord) ([]Entry, error) {
	for i := range vouchers {
		if err := vouchers[i].Check(); err != nil {
			return nil, fmt.Errorf("append voucher %d: %w", i, err)
		}
	}
	if len(vouchers) == 0 {
		return l.AppendVerified(ctx, vs...)
	}
	return l.appendVerified(ctx, vs, vouchers)
}

// checkVouchers refuses vouchers that would not follow their channels or
// pay for no receipt of this call or the log; txn reads its own writes, so
// a batch's earlier requests count.
func checkVouchers(txn *badger.Txn, items []pendingReceipt, vouchers []VoucherRecord) error {
	inCall := make(map[string]bool, len(items))
	for _, it := range items {
		inCall[it.r.ID] = true
	}
	next := map[string]uint64{}
	for _, v := range vouchers {
		if !inCall[v.Receipt] {
			if _, err := txn.Get(receiptKey(v.Receipt)); err != nil {
				return fmt.Errorf("append voucher for %s: %w: no such receipt", v.Receipt, ErrNotFound)
			}
		}
		if _, err := txn.Get(voucherKey(v.Role, v.Receipt)); err == nil {
			return fmt.Errorf("append voucher for %s: %w: already recorded", v.Receipt, ErrReplay)
		}
		ck := v.Role + "\x00" + v.Channel
		want, ok := next[ck]
		if !ok {
			latest, found, err := getVoucher(txn, channelKey(v.Role, v.Channel))
			if err != nil {
				return err
			}
			want = 1
			if found {
				want = latest.Nonce + 1
			}
		}
		if v.Nonce != want {
			return fmt.Errorf("append voucher for %s: %w: nonce %d, want %d", v.Receipt, ErrVoucherOrder, v.Nonce, want)
		}
		next[ck] = want + 1
	}
	return nil
}

// writeVouchers writes the vouchers and their channels' latest.
func writeVouchers(txn *badger.Txn, vouchers []VoucherRecord, now time.Time) error {
	for _, v := range vouchers {
		if v.Time.IsZero() {
			v.Time = now
		}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := txn.Set(voucherKey(v.Role, v.Receipt), b); err != nil {
			return err
		}
		if err := txn.Set(channelKey(v.Role, v.Channel), b); err != nil {
			return err
		}
	}
	return nil
}

// getVoucher reads the record at key.
func getVoucher(txn *badger.Txn, key []byte) (VoucherRecord, bool, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return VoucherRecord{}, false, nil
	} else if err != nil {
		return VoucherRecord{}, false, err
	}
	var v VoucherRecord
	err = item.Value(func(b []byte) error { return json.Unmarshal(b, &v) })
	if err != nil {
		return VoucherRecord{}, false, fmt.Errorf("%w: voucher record: %v", ErrCorrupt, err)
	}
	return v, true, nil
}

// VoucherFor returns the voucher recorded for a receipt in role, or ErrNotFound.
func (l *Log) VoucherFor(role, receipt string) (VoucherRecord, error) {
	var v VoucherRecord
	err := l.view(func(txn *badger.Txn) error {
		var found bool
		var err error
		v, found, err = getVoucher(txn, voucherKey(role, receipt))
		if err == nil && !found {
			err = fmt.Errorf("voucher for receipt %s: %w", receipt, ErrNotFound)
		}
		return err
	})
	return v, err
}

// LatestVoucher returns a channel's latest voucher in role; found is false if it has none.
func (l *Log) LatestVoucher(role, channel string) (v VoucherRecord, found bool, err error) {
	err = l.view(func(txn *badger.Txn) error {
		v, found, err = getVoucher(txn, channelKey(role, channel))
		return err
	})
	return v, found, err
}

// LatestVouchers returns the latest voucher of every channel in role.
func (l *Log) LatestVouchers(role string) ([]VoucherRecord, error) {
	var out []VoucherRecord
	err := l.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: channelPrefix(role)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var v VoucherRecord
			if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &v) }); err != nil {
				return fmt.Errorf("%w: voucher record: %v", ErrCorrupt, err)
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// Redemption states.
const (
	// RedeemSubmitting is recorded before a voucher is submitted: after a
	// crash, the chain says whether it went through.
	RedeemSubmitting = "submitting"
	// RedeemDone is recorded once the chain has the voucher's cumulative.
	RedeemDone = "redeemed"
)

// Redemption is what this node, as provider, last redeemed on a channel.
type Redemption struct {
	// Channel is the voucher's channel.
	Channel string `json:"channel"`
	// State is RedeemSubmitting or RedeemDone.
	State string `json:"state"`
	// Nonce and Cumulative are the redeemed voucher's.
	Nonce      uint64 `json:"nonce"`
	Cumulative string `json:"cumulative"`
	// Tx is the transaction's hash, once known.
	Tx string `json:"tx,omitempty"`
	// Time is when the state was recorded.
	Time time.Time `json:"time"`
}

// PutRedemption records a channel's redemption state, durably.
func (l *Log) PutRedemption(r Redemption) error {
	if r.Channel == "" || len(r.Channel) > maxChannel || len(r.Cumulative) > maxCumulative || len(r.Tx) > maxString {
		return fmt.Errorf("%w: redemption record", ErrInvalid)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	return l.db.Update(func(txn *badger.Txn) error { return txn.Set(redemptionKey(r.Channel), b) })
}

// RedemptionOf returns a channel's last recorded redemption; found is false if none.
func (l *Log) RedemptionOf(channel string) (r Redemption, found bool, err error) {
	err = l.view(func(txn *badger.Txn) error {
		item, err := txn.Get(redemptionKey(channel))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		found = true
		return item.Value(func(b []byte) error {
			if err := json.Unmarshal(b, &r); err != nil {
				return fmt.Errorf("%w: redemption record: %v", ErrCorrupt, err)
			}
			return nil
		})
	})
	return r, found, err
}
