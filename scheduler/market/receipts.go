package market

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gpumesh/gpumesh/internal/human"
	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/p2p/frame"
	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/pricing"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// ReceiptProtocol settles one provider's run of a job: once the run is
// over, the requester asks for the provider's receipts (one per rank, the
// provider's own account of what it served, signed), checks each against
// what it observed, countersigns those that agree and logs them, and sends
// them back; the provider checks the countersignatures and logs them too.
//
//	requester -> settleRequest{job, ranks, attempt, replaces, payer}
//	          <- settleOffer{receipts signed by the provider | error, payout}
//	          -> settleAnswer{countersigned, refused: id -> reason, vouchers}
//	          <- Ack
//
// The request carries no claim worth signing (the stream's peer is
// authenticated, and the provider states everything the receipt says);
// both receipts' signatures are ledger envelopes. With settlement on
// (Deps.Settle), the requester names its wallet (payer), the provider its
// own (payout), and the requester sends one EIP-712 voucher per
// countersigned receipt (vouchers[i] pays for countersigned[i]); a peer
// without settlement leaves these fields out and ignores them.
const ReceiptProtocol = protocol.ID("/gpumesh/receipt/1")

// Bounds of the receipt exchange.
const (
	maxSettleRequestBytes = 4 << 10
	maxSettleBytes        = 64 * ledger.MaxSignedSize
	// settleTolerance is how much longer than the requester saw a
	// provider's run may last in its receipt: the two ends of a stream see
	// its start and end a round trip apart (and a provider whose work the
	// requester stopped notices within one of its heartbeats, which is
	// allowed on top).
	settleTolerance = 2 * time.Second
	// settleTries bounds the attempts to settle one run.
	settleTries = 3
	// settleLostTries bounds those of a run whose provider was lost: the
	// first while the job ends, the others in the background, one, two,
	// four, eight and sixteen seconds apart, in case it comes back.
	settleLostTries = 6
	// maxObservedMS bounds a settle request's observed time (a year).
	maxObservedMS = int64(365 * 24 * time.Hour / time.Millisecond)
)

// settleRequest asks for the receipts of a run. For a run whose provider
// was lost, Lost is set and ObservedMS is how long the requester heard
// from it, in whole milliseconds (from its answer to the run request to
// the last word): the receipts then state no more than that, since the
// requester had nothing from the provider after.
type settleRequest struct {
	Job        string `json:"job"`
	Ranks      []int  `json:"ranks"`
	Attempt    int    `json:"attempt,omitempty"`
	Replaces   string `json:"replaces,omitempty"`
	Lost       bool   `json:"lost,omitempty"`
	ObservedMS int64  `json:"observed_ms,omitempty"`
	// Payer is the requester's wallet address, which signs its vouchers.
	Payer string `json:"payer,omitempty"`
}

type settleOffer struct {
	Receipts [][]byte `json:"receipts,omitempty"`
	Error    string   `json:"error,omitempty"`
	// Payout is the provider's wallet address, which vouchers pay.
	Payout string `json:"payout,omitempty"`
	// Held is the latest voucher the provider holds on the payer's
	// channel, so the requester can resend what it missed (resend.go).
	Held *heldVoucher `json:"held,omitempty"`
}

type settleAnswer struct {
	Countersigned [][]byte          `json:"countersigned,omitempty"`
	Refused       map[string]string `json:"refused,omitempty"`
	// Vouchers are settle.SignedVoucher wire bytes, one per countersigned receipt.
	Vouchers [][]byte `json:"vouchers,omitempty"`
	// Resent are vouchers signed earlier that the provider's Held shows
	// it missed, with their receipts, oldest first; they come before
	// Vouchers in nonce order (resend.go).
	Resent []resentVoucher `json:"resent,omitempty"`
}

// errDisputed: the requester refused some of the provider's receipts.
var errDisputed = errors.New("receipts disputed")

// errVouchersRefused: the provider logged the receipts but refused their
// vouchers; trying again would not change its mind.
var errVouchersRefused = errors.New("receipts logged, vouchers refused")

// vouchersRefused starts a provider's Ack reason when it logged the
// receipts and refused their vouchers.
const vouchersRefused = "receipts logged; "

// exchangeReceipts exchanges the receipts of mb's run (the job's usage
// record k) in the background and records the outcome on the usage
// record. disputed, if set, refuses every receipt of the run with that
// reason. The job waits for the first attempt of a lost provider's
// settlement only; the others go on after it ended, until the provider is
// back or settleLostTries are spent.
func (d *driver) exchangeReceipts(mb *member, k int, o run.Outcome, lost bool, disputed string) {
	j := d.j
	if d.d.Ledger == nil || o.Started.IsZero() {
		return
	}
	tries := settleTries
	if lost {
		tries = settleLostTries
	}
	j.settles.Add(1)
	started := d.goBackground(func(life context.Context) {
		held := true
		letGo := func() {
			if held {
				held = false
				j.settles.Done()
			}
		}
		defer letGo()
		var ids []string
		var err error
		for try := range tries {
			ctx, cancel := context.WithTimeout(life, 2*streamTimeout)
			ids, err = d.settleOnce(ctx, mb, k, o, disputed)
			cancel()
			if err == nil || errors.Is(err, errDisputed) || errors.Is(err, errVouchersRefused) || life.Err() != nil || try == tries-1 {
				break
			}
			if lost && try == 0 {
				j.mu.Lock()
				j.view.Usage[k].Settlement = "not settled yet: " + err.Error()
				j.event("receipt", mb.peer, "receipts of lost %s for ranks %v: %v; trying again for a while", short(mb.peer), mb.ranks, err)
				j.mu.Unlock()
				letGo()
			}
			select {
			case <-time.After(time.Second << try):
			case <-life.Done():
			}
		}
		j.mu.Lock()
		defer j.mu.Unlock()
		u := &j.view.Usage[k]
		u.Receipts = ids
		switch {
		case err != nil:
			u.Settlement = "not settled: " + err.Error()
			j.event("receipt", mb.peer, "receipts of %s for ranks %v: %v", short(mb.peer), mb.ranks, err)
		default:
			u.Settlement = fmt.Sprintf("%s countersigned and logged", human.Plural(len(ids), "receipt"))
			j.event("receipt", mb.peer, "%s of %s countersigned and logged", human.Plural(len(ids), "receipt"), short(mb.peer))
		}
	})
	if !started {
		j.settles.Done()
		j.mu.Lock()
		j.view.Usage[k].Settlement = "not settled: " + ErrClosed.Error()
		j.mu.Unlock()
	}
}

// settleOnce runs the exchange once and returns the IDs of the receipts
// countersigned and logged.
func (d *driver) settleOnce(ctx context.Context, mb *member, k int, o run.Outcome, disputed string) ([]string, error) {
	j := d.j
	addAddrs(d.d.Host, mb.peer, mb.addrs)
	s, err := d.d.Host.NewStream(network.WithAllowLimitedConn(ctx, string(ReceiptProtocol)), mb.peer, ReceiptProtocol)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", ReceiptProtocol, err)
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(2 * streamTimeout))
	j.mu.Lock()
	u := j.view.Usage[k]
	j.mu.Unlock()
	req := settleRequest{Job: mb.req, Ranks: mb.ranks, Attempt: mb.attempt}
	if mb.replaces != "" {
		req.Replaces = mb.replaces.String()
	}
	if u.Status == UsageLost {
		req.Lost, req.ObservedMS = true, observed(u).Milliseconds()
	}
	if st := d.d.Settle; st != nil {
		req.Payer = st.address().Hex()
	}
	if err := writeJSON(s, req); err != nil {
		_ = s.Reset()
		return nil, err
	}
	r := bufio.NewReader(s)
	var offer settleOffer
	if err := readJSON(r, maxSettleBytes, &offer); err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("offer: %w", err)
	}
	if offer.Error != "" {
		return nil, fmt.Errorf("provider: %s", offer.Error)
	}
	payout, err := parseWallet(offer.Payout)
	if err != nil {
		d.d.Book.Record(mb.peer, reputation.Violation, "receipt offer: "+err.Error())
		_ = s.Reset()
		return nil, fmt.Errorf("the offer of %s: %w", short(mb.peer), err)
	}
	if mb.wallet != (common.Address{}) && payout != mb.wallet {
		err := fmt.Errorf("payout wallet %s is not %s, which its bid named", payout.Hex(), mb.wallet.Hex())
		d.d.Book.Record(mb.peer, reputation.Violation, "receipt offer: "+err.Error())
		_ = s.Reset()
		return nil, fmt.Errorf("the offer of %s: %w", short(mb.peer), err)
	}
	if st := d.d.Settle; st != nil && payout != (common.Address{}) {
		defer st.lockPeer(payout, false)() // this channel's vouchers go out one settlement at a time, Ack to Ack
	}
	ans := settleAnswer{Refused: map[string]string{}}
	var signed []ledger.Signed
	var ids []string
	seen, offered := map[int]bool{}, map[int]bool{}
	for _, b := range offer.Receipts {
		sg, err := ledger.UnmarshalSigned(b)
		var rc ledger.Receipt
		if err == nil {
			rc, err = ledger.OpenReceipt(sg)
		}
		if err != nil {
			d.d.Book.Record(mb.peer, reputation.Violation, "receipt: "+err.Error())
			return nil, fmt.Errorf("a receipt from %s: %w", short(mb.peer), err)
		}
		offered[rc.Rank] = true
		why := disputed
		if why == "" {
			why = d.checkReceipt(j, mb, u, o, rc, seen)
		}
		if why != "" {
			ans.Refused[rc.ID] = why
			continue
		}
		cs, err := ledger.Countersign(d.d.Key, sg)
		if err != nil {
			ans.Refused[rc.ID] = err.Error()
			continue
		}
		signed, ids = append(signed, cs), append(ids, rc.ID)
	}
	for _, rk := range mb.ranks {
		if !seen[rk] && !offered[rk] {
			ans.Refused["rank-"+fmt.Sprint(rk)] = "no receipt for this rank"
		}
	}
	if st := d.d.Settle; st != nil && payout != (common.Address{}) && offer.Held != nil && len(signed) > 0 {
		// Read before this answer's vouchers are signed: those go out anyway.
		if ans.Resent, err = st.missed(d.d.Ledger, mb.peer, payout, offer.Held.Nonce); err != nil {
			d.d.Log.Warn("missed vouchers not resent", "provider", short(mb.peer), "err", err)
			ans.Resent = nil
		}
	}
	// Logged here before the provider gets them: what we acknowledge, we
	// keep, and the vouchers that pay for them in the same transaction.
	vouchers, err := d.logCountersigned(ctx, payout, signed)
	if err != nil {
		_ = s.Reset()
		return nil, err
	}
	ans.Vouchers = vouchers
	for _, cs := range signed {
		b, err := cs.Marshal()
		if err != nil {
			return nil, err
		}
		ans.Countersigned = append(ans.Countersigned, b)
	}
	if err := writeJSON(s, ans); err != nil {
		_ = s.Reset()
		return ids, err
	}
	_ = s.CloseWrite()
	b, err := frame.Read(r, maxAckBytes)
	if err == nil {
		var ack Ack
		if ack, err = readAck(b); err == nil && !ack.OK {
			err = fmt.Errorf("provider: %s", ack.Reason)
			if why, ok := strings.CutPrefix(ack.Reason, vouchersRefused); ok {
				return ids, fmt.Errorf("%w: provider: %s", errVouchersRefused, why)
			}
		}
	}
	if err != nil {
		return ids, fmt.Errorf("the provider's acknowledgement: %w", err)
	}
	if len(ans.Refused) > 0 {
		return ids, fmt.Errorf("%w: %s", errDisputed, refusedText(ans.Refused))
	}
	return ids, nil
}

// logCountersigned logs the countersigned receipts and, when this node
// settles and the provider named a payout wallet, signs a voucher for each
// and logs them in the same transaction; it returns the vouchers' wire
// bytes, in the receipts' order.
func (d *driver) logCountersigned(ctx context.Context, payout common.Address, signed []ledger.Signed) ([][]byte, error) {
	if len(signed) == 0 {
		return nil, nil
	}
	st := d.d.Settle
	if st == nil || payout == (common.Address{}) {
		if _, err := d.d.Ledger.Append(ctx, signed...); err != nil {
			return nil, fmt.Errorf("log the receipts: %w", err)
		}
		return nil, nil
	}
	vs := make([]ledger.Verified, len(signed))
	rcs := make([]ledger.Receipt, len(signed))
	for i, sg := range signed {
		v, err := ledger.Prepare(sg)
		if err != nil {
			return nil, fmt.Errorf("log the receipts: %w", err)
		}
		vs[i], rcs[i] = v, v.Receipt()
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	recs, wire, err := st.signVouchers(d.d.Ledger, payout, rcs)
	if err != nil {
		return nil, fmt.Errorf("sign the vouchers: %w", err)
	}
	if _, err := d.d.Ledger.AppendWithVouchers(ctx, vs, recs); err != nil {
		return nil, fmt.Errorf("log the receipts and their vouchers: %w", err)
	}
	return wire, nil
}

// refusedText lists refusals in a stable order.
func refusedText(refused map[string]string) string {
	var parts []string
	for id, why := range refused {
		parts = append(parts, short8(id)+": "+why)
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

// checkReceipt compares a provider's receipt with what this requester
// observed of the run (usage u, outcome o) and says why it disagrees, or
// "". Durations are compared, not clock times: the two clocks may differ.
func (r *requester) checkReceipt(j *job, mb *member, u Usage, o run.Outcome, rc ledger.Receipt, seen map[int]bool) string {
	price, _ := pricing.FromFloat(mb.price)
	replaces := ""
	if mb.replaces != "" {
		replaces = mb.replaces.String()
	}
	want := ""
	if res, ok := o.Results[rc.Rank]; ok {
		want = receiptDigest(run.ResultDigest(res, o.Outputs[rc.Rank]))
	}
	served := u.End.Sub(u.Start)
	claimed := rc.End.Sub(rc.Start)
	slack := settleTolerance + o.Heartbeat + served/100
	if u.Status == UsageLost {
		// The requester heard nothing after; the receipt states no more.
		served, slack = observed(u), 0
	}
	switch {
	case rc.Provider != mb.peer.String() || rc.Requester != r.self.String():
		return "the parties are not this run's"
	case rc.Job != mb.req:
		return fmt.Sprintf("job %s, the run's is %s", rc.Job, mb.req)
	case !slices.Contains(mb.ranks, rc.Rank) || seen[rc.Rank]:
		return fmt.Sprintf("rank %d not one of %v, or twice", rc.Rank, mb.ranks)
	case rc.Attempt != mb.attempt || rc.Replaces != replaces:
		return fmt.Sprintf("attempt %d replacing %q, the run's is %d replacing %q", rc.Attempt, rc.Replaces, mb.attempt, replaces)
	case rc.Devices != devicesPerWorker(j.req):
		return fmt.Sprintf("%d devices, the job's workers have %d", rc.Devices, devicesPerWorker(j.req))
	case int64(rc.UnitPrice) != int64(price):
		return fmt.Sprintf("unit price %d micros, the award's is %d", rc.UnitPrice, price)
	case rc.ResultDigest != want:
		return fmt.Sprintf("result digest %q, the result received has %q", rc.ResultDigest, want)
	case !sameGPU(rc.GPU, o.GPU, rc.Rank):
		return fmt.Sprintf("GPU figures %s, the result received stated %s", gpuText(rc.GPU), gpuText(gpuOf(o.GPU, rc.Rank)))
	case rc.GPU != nil && rc.GPU.Devices > rc.Devices:
		return fmt.Sprintf("GPU figures of %d devices, the rank holds %d", rc.GPU.Devices, rc.Devices)
	case claimed > served+slack:
		return fmt.Sprintf("claims %s served, %s observed", claimed.Round(time.Millisecond), served.Round(time.Millisecond))
	case rc.Start.Sub(u.Start).Abs() > time.Minute:
		return fmt.Sprintf("starts %s, more than a minute from %s", rc.Start.Format(time.RFC3339), u.Start.Format(time.RFC3339))
	}
	seen[rc.Rank] = true
	return ""
}

// observed is the time u covers as the receipts count it: from its start
// to its end, each truncated to the millisecond.
func observed(u Usage) time.Duration {
	return u.End.UTC().Truncate(time.Millisecond).Sub(u.Start.UTC().Truncate(time.Millisecond))
}

// receiptDigest is a result digest as a receipt states it: the hex alone.
func receiptDigest(d string) string { return strings.TrimPrefix(d, "sha256:") }

// receiptStatus is a receipt's status for an executor's.
func receiptStatus(s executor.Status) string {
	switch s {
	case executor.StatusSucceeded:
		return ledger.StatusSucceeded
	case executor.StatusCancelled:
		return ledger.StatusCancelled
	}
	return ledger.StatusFailed
}

// writeJSON writes v as one frame.
func writeJSON(s network.Stream, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return frame.Write(s, b)
}

// readJSON reads one frame of at most limit bytes into v.
func readJSON(r *bufio.Reader, limit int, v any) error {
	b, err := frame.Read(r, limit)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %w", errMalformedJSON, err)
	}
	return nil
}

// errMalformedJSON marks a frame that is not the JSON expected.
var errMalformedJSON = errors.New("malformed message")
