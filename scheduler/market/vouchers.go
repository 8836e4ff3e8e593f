package market

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/settle"
	"github.com/gpumesh/gpumesh/scheduler/offers"
	"github.com/gpumesh/gpumesh/scheduler/pricing"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// Settlement is what the market needs to pay for receipts on chain (issue
// 24): the requester signs a cumulative voucher to each provider with every
// receipt it countersigns, and the provider checks it, signs the work, and
// keeps both with the receipt. A nil Settlement in Deps pays nothing; a
// peer that does not settle is settled with as before, without vouchers.
type Settlement struct {
	// Domain is the chain and contract vouchers are signed for.
	Domain settle.Domain
	// Token is what jobs are paid in, and Decimals its decimals.
	Token    common.Address
	Decimals uint8
	// Wallet is this node's wallet key: it signs vouchers as requester
	// and works as provider, and is paid to as provider.
	Wallet *ecdsa.PrivateKey
	// Escrow reads a requester's escrow; nil checks none.
	Escrow settle.EscrowReader
	// Stake reads a provider wallet's eligibility, for jobs that ask for
	// staked providers (Spec.Staked); nil refuses such jobs.
	Stake offers.StakeChecker

	// mu serializes a requester's voucher signing: read the channel's
	// latest, sign the next, record it.
	mu sync.Mutex

	// peers serializes the settlements with one counterparty wallet, from
	// the vouchers' signing (or checking) to the provider's Ack, so that
	// a channel's vouchers arrive in order however many of its jobs end at
	// once.
	// The two roles lock apart: a node settling with a peer as requester
	// while that peer settles with it the other way must not wait on itself.
	peersMu sync.Mutex
	peers   map[peerLock]*sync.Mutex

	// proofOnce signs the payout wallet's proof for bids once.
	proofOnce             sync.Once
	proofWallet, proofSig string
}

// peerLock names a settlement lock: the counterparty wallet, and whether
// this node is its provider.
type peerLock struct {
	wallet   common.Address
	provider bool
}

// lockPeer takes the settlement lock of counterparty wallet a in this
// node's role (provider or requester) and returns its release.
func (s *Settlement) lockPeer(a common.Address, provider bool) (unlock func()) {
	k := peerLock{a, provider}
	s.peersMu.Lock()
	if s.peers == nil {
		s.peers = map[peerLock]*sync.Mutex{}
	}
	m := s.peers[k]
	if m == nil {
		m = new(sync.Mutex)
		s.peers[k] = m
	}
	s.peersMu.Unlock()
	m.Lock()
	return m.Unlock
}

// errVoucher marks a voucher the provider refused.
var errVoucher = errors.New("voucher refused")

// maxAddress bounds a wallet address on the wire: 0x and 40 hex digits.
const maxAddress = 42

// parseWallet parses an optional wallet address from a peer: empty gives
// the zero address and no error.
func parseWallet(s string) (common.Address, error) {
	switch {
	case s == "":
		return common.Address{}, nil
	case len(s) != maxAddress || !common.IsHexAddress(s):
		return common.Address{}, fmt.Errorf("wallet address %.50q is not 0x and 40 hex digits", s)
	}
	a := common.HexToAddress(s)
	if a == (common.Address{}) {
		return common.Address{}, errors.New("wallet address is zero")
	}
	return a, nil
}

// Channel names a voucher channel in the ledger: chain ID, contract,
// requester, provider and token, lowercase, joined by slashes. The chain
// and contract are part of it: a contract redeems only its own vouchers,
// so a node moved to another starts new channels from nonce 1 there.
func Channel(d settle.Domain, requester, provider, token common.Address) string {
	return strings.ToLower(fmt.Sprintf("%d/%s/%s/%s/%s", d.ChainID, d.Contract.Hex(), requester.Hex(), provider.Hex(), token.Hex()))
}

// address is the wallet's address.
func (s *Settlement) address() common.Address { return settle.Address(s.Wallet) }

// signVouchers signs, as requester, the next vouchers to provider's wallet
// for receipts, one each in order, and returns their records for the
// ledger and their wire bytes. The caller holds s.mu until the records are
// in the ledger, so that no other settlement signs the same nonce.
func (s *Settlement) signVouchers(l *ledger.Log, provider common.Address, receipts []ledger.Receipt) ([]ledger.VoucherRecord, [][]byte, error) {
	ch := Channel(s.Domain, s.address(), provider, s.Token)
	latest, found, err := l.LatestVoucher(ledger.VoucherSigned, ch)
	if err != nil {
		return nil, nil, fmt.Errorf("read the latest voucher: %w", err)
	}
	var prev *settle.Voucher
	if found {
		sv, err := settle.DecodeSignedVoucher(latest.Voucher)
		if err != nil {
			return nil, nil, fmt.Errorf("the latest voucher to %s in the ledger: %w", provider.Hex(), err)
		}
		prev = &sv.Voucher
	}
	var recs []ledger.VoucherRecord
	var wire [][]byte
	for _, rc := range receipts {
		add, err := settle.ToUnits(rc.Amount, s.Decimals)
		if err != nil {
			return nil, nil, err
		}
		next := settle.NextVoucher(prev, s.address(), provider, s.Token, add)
		sv, err := settle.SignVoucher(s.Wallet, s.Domain, next)
		if err != nil {
			return nil, nil, err
		}
		b, err := sv.Encode()
		if err != nil {
			return nil, nil, err
		}
		recs = append(recs, ledger.VoucherRecord{Receipt: rc.ID, Role: ledger.VoucherSigned, Channel: ch,
			Nonce: next.Nonce, Cumulative: next.Cumulative.String(), Amount: rc.Amount, Voucher: b})
		wire = append(wire, b)
		prev = &sv.Voucher
	}
	return recs, wire, nil
}

// takeVouchers checks, as provider, the vouchers that came with the
// countersigned receipts vs (wire[i] pays for vs[i]) from requester's
// wallet payer, and signs the work of each receipt. It returns the records
// of the good vouchers, in order, up to the first bad one, whose reason is
// err (wrapping errVoucher): the previous good voucher stays the latest.
func (s *Settlement) takeVouchers(l *ledger.Log, payer common.Address, vs []ledger.Verified, wire [][]byte) ([]ledger.VoucherRecord, error) {
	if len(wire) != len(vs) {
		return nil, fmt.Errorf("%w: %d vouchers for %d countersigned receipts", errVoucher, len(wire), len(vs))
	}
	ch := Channel(s.Domain, payer, s.address(), s.Token)
	latest, found, err := l.LatestVoucher(ledger.VoucherHeld, ch)
	if err != nil {
		return nil, fmt.Errorf("read the latest voucher: %w", err)
	}
	var prev *settle.Voucher
	if found {
		sv, err := settle.DecodeSignedVoucher(latest.Voucher)
		if err != nil {
			return nil, fmt.Errorf("the latest voucher from %s in the ledger: %w", payer.Hex(), err)
		}
		prev = &sv.Voucher
	}
	var recs []ledger.VoucherRecord
	for i, b := range wire {
		rc := vs[i].Receipt()
		rec, sv, err := s.takeVoucher(payer, prev, rc, b)
		if err != nil {
			return recs, fmt.Errorf("%w: for receipt %s: %w", errVoucher, short8(rc.ID), err)
		}
		rec.Channel = ch
		recs = append(recs, rec)
		prev = &sv.Voucher
	}
	return recs, nil
}

// takeVoucher checks one voucher after prev for receipt rc and signs its work.
func (s *Settlement) takeVoucher(payer common.Address, prev *settle.Voucher, rc ledger.Receipt, b []byte) (ledger.VoucherRecord, *settle.SignedVoucher, error) {
	sv, err := settle.DecodeSignedVoucher(b)
	if err != nil {
		return ledger.VoucherRecord{}, nil, err
	}
	if err := sv.Verify(s.Domain); err != nil {
		return ledger.VoucherRecord{}, nil, err
	}
	add, err := settle.ToUnits(rc.Amount, s.Decimals)
	if err != nil {
		return ledger.VoucherRecord{}, nil, err
	}
	if err := settle.CheckNext(prev, &sv.Voucher, payer, s.address(), s.Token, add); err != nil {
		return ledger.VoucherRecord{}, nil, err
	}
	w, err := settle.WorkFor(&rc, s.Token, s.Decimals, payer)
	if err != nil {
		return ledger.VoucherRecord{}, nil, err
	}
	sw, err := settle.SignWork(s.Wallet, s.Domain, w)
	if err != nil {
		return ledger.VoucherRecord{}, nil, err
	}
	wb, err := sw.Encode()
	if err != nil {
		return ledger.VoucherRecord{}, nil, err
	}
	return ledger.VoucherRecord{Receipt: rc.ID, Role: ledger.VoucherHeld, Nonce: sv.Voucher.Nonce,
		Cumulative: sv.Voucher.Cumulative.String(), Amount: rc.Amount, Voucher: b, Work: wb}, sv, nil
}

// ErrEscrow marks a requester whose escrow cannot cover a job's cap.
var ErrEscrow = errors.New("escrow does not cover the job's cap")

// coverCap checks that requester's escrow covers cap micros (the job's
// most it can cost); a Settlement without an EscrowReader checks nothing.
func (s *Settlement) coverCap(ctx context.Context, requester common.Address, cap ledger.Micros) error {
	if s == nil || s.Escrow == nil {
		return nil
	}
	want, err := settle.ToUnits(cap, s.Decimals)
	if err != nil {
		return err
	}
	have, err := s.Escrow.Escrow(ctx, requester, s.Token)
	if err != nil {
		return fmt.Errorf("read the escrow of %s: %w", requester.Hex(), err)
	}
	if have == nil || have.Cmp(want) < 0 {
		if have == nil {
			have = new(big.Int)
		}
		return fmt.Errorf("%w: %s holds %s in escrow, the cap is %s", ErrEscrow, requester.Hex(),
			settle.FormatUnits(have, s.Decimals), settle.FormatUnits(want, s.Decimals))
	}
	return nil
}

// JobCap is the most a job can cost: its price cap per device-hour for
// every device of every worker for its whole duration.
func JobCap(req *gossip.JobRequest) (ledger.Micros, error) {
	price, err := pricing.FromFloat(req.MaxPrice)
	if err != nil {
		return 0, err
	}
	devices := int64(devicesPerWorker(req)) * int64(max(req.Workers, 1))
	cap, ok := ledger.Cost(ledger.Micros(price), devices*req.Duration.Milliseconds())
	if !ok {
		return 0, fmt.Errorf("the cap of job %s does not fit in micros", req.ID)
	}
	return cap, nil
}

// coverJob refuses to run req, before anything is published, when this
// node settles and its escrow cannot cover the job's cap.
func (r *requester) coverJob(ctx context.Context, req *gossip.JobRequest) error {
	st := r.d.Settle
	if st == nil || st.Escrow == nil {
		return nil
	}
	cap, err := JobCap(req)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, streamTimeout)
	defer cancel()
	return st.coverCap(ctx, st.address(), cap)
}

// defaultRunCap is the run time a provider charges a run's cap for when its
// spec names no wall-clock limit.
const defaultRunCap = time.Hour

// CheckPayer implements run.PayerChecker: a provider that settles and reads
// escrow refuses to run for a requester that names no wallet, or whose
// escrow cannot cover the run's cap here (the award's price for the
// reserved devices over the spec's wall-clock limit).
func (m *Market) CheckPayer(ctx context.Context, requester peer.ID, req *run.RunRequest) error {
	st := m.d.Settle
	if st == nil || st.Escrow == nil {
		return nil
	}
	payer, err := parseWallet(req.Payer)
	if err != nil {
		return err
	}
	if payer == (common.Address{}) {
		return m.prov.refuseRun(req.Job, requester, fmt.Errorf("%w: this provider is paid through settlement: the request names no payer wallet", ErrEscrow))
	}
	m.prov.mu.Lock()
	res := m.prov.reserved[req.Job]
	var price float64
	var devices int
	if res != nil && res.requester == requester {
		price, devices = res.price, len(res.devices)
	}
	m.prov.mu.Unlock()
	if devices == 0 {
		return nil // no award here: BeginRun refuses it with its own reason
	}
	wall := req.Spec.Limits.Wall
	if wall <= 0 {
		wall = defaultRunCap
	}
	unit, err := pricing.FromFloat(price)
	if err != nil {
		return err
	}
	cap, ok := ledger.Cost(ledger.Micros(unit), int64(devices)*wall.Milliseconds())
	if !ok {
		return fmt.Errorf("%w: the run's cap does not fit in micros", ErrEscrow)
	}
	ctx, cancel := context.WithTimeout(ctx, streamTimeout)
	defer cancel()
	if err := st.coverCap(ctx, payer, cap); err != nil {
		return m.prov.refuseRun(req.Job, requester, err)
	}
	m.prov.mu.Lock()
	if res := m.prov.reserved[req.Job]; res != nil && res.requester == requester {
		res.payer = payer
	}
	m.prov.mu.Unlock()
	return nil
}

// refuseRun ends requester's reservation of job, not yet running, for
// why, freeing its devices at once, and returns why.
func (p *provider) refuseRun(job string, requester peer.ID, why error) error {
	p.mu.Lock()
	res := p.reserved[job]
	ended := res != nil && res.requester == requester && !res.running && res.ended == ""
	if ended {
		res.ended = "refused: " + why.Error()
		p.stats.add(func(s *Stats) { s.Released++ })
	}
	p.mu.Unlock()
	if ended {
		p.log.Info("run refused: escrow", "job", job, "requester", short(requester), "err", why)
		p.d.Changed()
	}
	return why
}

// checkedPayer is the wallet whose escrow was checked for requester's run
// of job here, or the zero address.
func (p *provider) checkedPayer(job string, requester peer.ID) common.Address {
	p.mu.Lock()
	defer p.mu.Unlock()
	if res := p.reserved[job]; res != nil && res.requester == requester {
		return res.payer
	}
	return common.Address{}
}

var _ run.PayerChecker = (*Market)(nil)
