package ledger

import (
	badger "github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Balance is what one peer earned and spent in one incentive pool, from
// the latest cumulative receipt of each piece of work.
type Balance struct {
	// Earned is the gross Amount of receipts where the peer is provider.
	Earned Micros `json:"earned"`
	// Spent is the gross Amount of receipts where the peer is requester.
	Spent Micros `json:"spent"`
	// ProviderFees are the fees the peer owes the pool as provider.
	ProviderFees Micros `json:"provider_fees"`
	// RequesterFees are the fees the peer owes the pool as requester.
	RequesterFees Micros `json:"requester_fees"`
	// Receipts counts the pieces of work (latest receipts) summed.
	Receipts int `json:"receipts"`
}

// Net is what the peer is owed (positive) or owes (negative) in the pool:
// Earned - ProviderFees - Spent - RequesterFees.
func (b Balance) Net() Micros { return b.Earned - b.ProviderFees - b.Spent - b.RequesterFees }

// Balances sums, per incentive pool, the latest cumulative receipt of every
// piece of work self took part in. Superseded receipts are not counted, so
// settling needs only the latest receipt per work.
func (l *Log) Balances(self peer.ID) (map[string]Balance, error) {
	out := map[string]Balance{}
	me := self.String()
	err := l.view(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = []byte{pLatest}
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return corrupt(-1, err, "latest-receipt index unreadable")
			}
			i, _, ok := parseLatest(v)
			if !ok {
				return corrupt(-1, nil, "latest-receipt index unreadable")
			}
			e, err := getEntry(txn, i)
			if err != nil {
				return err
			}
			r, err := e.Receipt()
			if err != nil {
				return corrupt(i, err, "receipt unreadable")
			}
			if r.Provider != me && r.Requester != me {
				continue
			}
			b := out[r.IncentivePool]
			if r.Provider == me {
				b.Earned += r.Amount
				b.ProviderFees += r.ProviderFee
			}
			if r.Requester == me {
				b.Spent += r.Amount
				b.RequesterFees += r.RequesterFee
			}
			b.Receipts++
			out[r.IncentivePool] = b
		}
		return nil
	})
	return out, err
}
