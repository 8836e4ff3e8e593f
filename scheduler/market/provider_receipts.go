package market

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/scheduler/pricing"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// handleSettle is the provider's side of ReceiptProtocol.
func (p *provider) handleSettle(s network.Stream) {
	deadline := time.Now().Add(2 * streamTimeout)
	_ = s.SetDeadline(deadline)
	remote := s.Conn().RemotePeer()
	r := bufio.NewReader(s)
	var req settleRequest
	if err := readJSON(r, maxSettleRequestBytes, &req); err != nil {
		p.violation(remote, "receipt request", err)
		_ = s.Reset()
		return
	}
	payer, err := parseWallet(req.Payer)
	if checked := p.checkedPayer(req.Job, remote); err == nil && checked != (common.Address{}) && payer != checked {
		err = fmt.Errorf("payer %s, but the run's escrow was checked for %s", payer.Hex(), checked.Hex())
	}
	if err != nil {
		p.violation(remote, "receipt request", err)
		_ = s.Reset()
		return
	}
	// The requester asks as soon as it has the run's end event; the run
	// server reports the run over (EndRun) a moment after sending it. The
	// wait ends well within the stream's deadline.
	if wait := time.Now().Add(p.endWait()); wait.Before(deadline) {
		deadline = wait
	}
	ctx, cancel := p.life.Context(context.Background())
	defer cancel()
	rctx, rcancel := context.WithDeadline(ctx, deadline)
	receipts, err := p.issueReceipts(rctx, remote, req)
	rcancel()
	offer := settleOffer{}
	if err != nil {
		offer.Error = err.Error()
	}
	if st := p.d.Settle; st != nil {
		offer.Payout = st.address().Hex()
		if payer != (common.Address{}) {
			if offer.Held, err = st.held(p.d.Ledger, payer); err != nil {
				offer = settleOffer{Error: err.Error()}
			}
		}
	}
	issued := map[string][]byte{}
	for _, sg := range receipts {
		b, merr := sg.Marshal()
		if merr != nil {
			offer = settleOffer{Error: merr.Error()}
			break
		}
		rc, _ := ledger.OpenReceipt(sg)
		issued[rc.ID] = sg.Provider
		offer.Receipts = append(offer.Receipts, b)
	}
	if err := writeJSON(s, offer); err != nil || offer.Error != "" {
		_ = s.Close()
		return
	}
	var ans settleAnswer
	if err := readJSON(r, maxSettleAnswerBytes, &ans); err != nil {
		p.log.Info("receipts not countersigned", "job", req.Job, "requester", short(remote), "err", err)
		_ = s.Reset()
		return
	}
	if lose := p.d.Knobs.LoseSettleAnswer; lose != nil && lose(req.Job) {
		_ = s.Reset()
		return
	}
	var vs []ledger.Verified
	for _, b := range ans.Countersigned {
		sg, err := ledger.UnmarshalSigned(b)
		var v ledger.Verified
		if err == nil {
			v, err = ledger.Prepare(sg)
		}
		if err == nil && !slices.Equal(issued[v.Receipt().ID], sg.Provider) {
			err = errors.New("countersigned a receipt this node did not issue")
		}
		if err != nil {
			p.violation(remote, "countersigned receipt", err)
			reply(s, false, err.Error())
			return
		}
		vs = append(vs, v)
	}
	if st := p.d.Settle; st != nil && payer != (common.Address{}) {
		defer st.lockPeer(payer, true)() // check and log this channel's vouchers one settlement at a time
	}
	paid, wire, fresh := vs, ans.Vouchers, vs
	if len(ans.Resent) > 0 && p.d.Settle != nil && payer != (common.Address{}) && len(vs) > 0 {
		// Bad resent pairs are all ignored (the answer's own receipts are
		// logged as ever, its vouchers checked without them).
		if all, rwire, rfresh, err := openResent(p.d.Ledger, p.self, remote, ans.Resent); err != nil {
			p.violation(remote, "resent voucher", err)
		} else {
			paid, wire = append(all, vs...), append(rwire, ans.Vouchers...)
			fresh = append(rfresh, vs...)
			p.log.Info("missed vouchers resent", "job", req.Job, "requester", short(remote), "vouchers", len(all), "receipts_new", len(rfresh))
		}
	}
	recs, verr := p.takeVouchers(remote, payer, paid, wire)
	if len(fresh) > 0 {
		actx, acancel := context.WithTimeout(ctx, streamTimeout)
		_, err := p.d.Ledger.AppendWithVouchers(actx, fresh, recs)
		acancel()
		if err != nil {
			reply(s, false, "log the receipts: "+err.Error())
			return
		}
	}
	if len(ans.Refused) > 0 {
		p.log.Warn("requester refused receipts", "job", req.Job, "requester", short(remote), "refused", refusedText(ans.Refused))
	}
	p.mu.Lock()
	if res := p.reserved[req.Job]; res != nil {
		res.settled = true
	}
	p.mu.Unlock()
	if verr != nil {
		reply(s, false, vouchersRefused+verr.Error())
		return
	}
	reply(s, true, "")
}

// takeVouchers checks the vouchers that came with the countersigned
// receipts vs, when this node settles and the requester named its wallet,
// and returns the records of the good ones for the ledger. A bad voucher,
// or none where one was due, is refused with its reason (the error) and
// charged to the requester's reputation; the previous good voucher stays
// the latest. A requester that names no wallet does not settle: nothing is
// due.
func (p *provider) takeVouchers(remote peer.ID, payer common.Address, vs []ledger.Verified, wire [][]byte) ([]ledger.VoucherRecord, error) {
	st := p.d.Settle
	if st == nil || len(vs) == 0 {
		return nil, nil
	}
	if payer == (common.Address{}) {
		if len(wire) > 0 {
			err := fmt.Errorf("%w: vouchers from a requester that named no wallet", errVoucher)
			p.violation(remote, "voucher", err)
			return nil, err
		}
		return nil, nil
	}
	recs, err := st.takeVouchers(p.d.Ledger, payer, vs, wire)
	if err != nil {
		p.violation(remote, "voucher", err)
		p.log.Warn("voucher refused", "requester", short(remote), "wallet", payer.Hex(), "err", err)
	}
	return recs, err
}

// defaultEndWait is how long a receipt request that came before its run
// ended waits for the end (see provider.endWait).
const defaultEndWait = 3 * time.Second

// endWait is how long a receipt request waits for its run's end: well
// within the stream's deadline.
func (p *provider) endWait() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.runEndWait > 0 {
		return p.runEndWait
	}
	return defaultEndWait
}

// runEnded is a channel closed at the next EndRun; p.mu must be held.
func (p *provider) runEnded() <-chan struct{} {
	if p.ended == nil {
		p.ended = make(chan struct{})
	}
	return p.ended
}

// awaitRunEnd waits until requester's run of job here is over (EndRun),
// there is no such run, or ctx ends, whichever comes first.
func (p *provider) awaitRunEnd(ctx context.Context, job string, requester peer.ID) {
	for {
		p.mu.Lock()
		r := p.reserved[job]
		over := r == nil || r.requester != requester || r.served != nil || r.ended != ""
		ended := p.runEnded()
		p.mu.Unlock()
		if over {
			return
		}
		select {
		case <-ended:
		case <-ctx.Done():
			return
		}
	}
}

// issueReceipts signs this provider's receipts for the ranks of a run it
// served requester: its own account of the run, from its reservation. A
// run not over yet is waited for until ctx ends.
func (p *provider) issueReceipts(ctx context.Context, requester peer.ID, req settleRequest) ([]ledger.Signed, error) {
	if p.d.Ledger == nil {
		return nil, errors.New("this node keeps no ledger")
	}
	p.awaitRunEnd(ctx, req.Job, requester)
	p.mu.Lock()
	res := p.reserved[req.Job]
	var (
		served                *run.RunEnd
		price                 float64
		per                   int
		class, pool, executor string
		settled               bool
	)
	if res != nil && res.requester == requester {
		served, price, class, pool, executor, settled = res.served, res.price, res.class, res.pool, res.executor, res.settled
		per = len(res.devices) / max(len(res.ranks), 1)
	}
	var ranks []int
	if res != nil {
		ranks = slices.Clone(res.ranks)
	}
	p.mu.Unlock()
	switch {
	case res == nil || res.requester != requester:
		return nil, fmt.Errorf("no run of job %s for this requester here", req.Job)
	case served == nil:
		return nil, fmt.Errorf("the run of job %s has not ended", req.Job)
	case settled:
		return nil, fmt.Errorf("the run of job %s is settled already", req.Job)
	case len(req.Ranks) == 0 || len(req.Ranks) > len(ranks):
		return nil, fmt.Errorf("ranks %v, the run had %v", req.Ranks, ranks)
	case req.Attempt < 0 || req.Attempt > 1000 || len(req.Replaces) > 128:
		return nil, errors.New("bad attempt or replaced peer")
	case req.ObservedMS < 0 || req.ObservedMS > maxObservedMS:
		return nil, fmt.Errorf("observed time of %d ms not in [0, %d]", req.ObservedMS, int64(maxObservedMS))
	}
	end := served.Ended
	if limit := served.Started.Add(time.Duration(req.ObservedMS) * time.Millisecond); req.Lost && limit.Before(end) {
		// The requester lost us and heard nothing after: what it observed
		// is all it pays for.
		end = limit
	}
	unit, err := pricing.FromFloat(price)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var out []ledger.Signed
	for _, rk := range req.Ranks {
		if !slices.Contains(ranks, rk) {
			return nil, fmt.Errorf("rank %d was not run here (ranks %v)", rk, ranks)
		}
		rc := ledger.Receipt{Job: req.Job, Requester: requester.String(), Provider: p.self.String(), Rank: rk,
			Attempt: req.Attempt, Replaces: req.Replaces, Devices: per, Class: class, Pool: pool, Executor: executor,
			Start: served.Started, End: end, UnitPrice: ledger.Micros(unit), Seq: 1, Issued: now,
			Status: ledger.StatusLost}
		if rr, ok := served.Results[rk]; ok {
			rc.ResultDigest, rc.ExitStatus, rc.Status = receiptDigest(rr.Digest), rr.Result.ExitCode, receiptStatus(rr.Result.Status)
			if rr.GPU != nil {
				g := *rr.GPU
				rc.GPU = &g
			}
		}
		rc.Finalize()
		sg, err := ledger.Sign(p.d.Key, rc)
		if err != nil {
			return nil, err
		}
		out = append(out, sg)
	}
	return out, nil
}
