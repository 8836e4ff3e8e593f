package market

import (
	"context"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
)

// onRequest is Market.OnRequest.
func (p *provider) onRequest(r gossip.Received) {
	req, ok := r.Msg.(*gossip.JobRequest)
	if !ok || r.From == p.self {
		return
	}
	p.goConsider(r.From, req)
}

// consider decides on req from requester and bids if the checks pass; the
// refusal says why not. The decision and the open bid are taken under
// p.mu; the bid is sent after it is let go.
func (p *provider) consider(ctx context.Context, requester peer.ID, req *gossip.JobRequest) *Refusal {
	if p.d.Offer == nil {
		return &Refusal{Check: CheckOffer, Detail: "this node offers nothing"}
	}
	o, ok := p.d.Offer()
	if !ok {
		return &Refusal{Check: CheckOffer, Detail: "this node offers nothing now"}
	}
	addrs := p.d.Addrs()
	co, hasCoord := p.d.Coordinate()
	var rtts []gossip.PeerRTT
	if req.MaxRTT > 0 && req.Workers > 1 {
		rtts = recentRTTs(p.d.Host, gossip.MaxBidRTTs)
	}
	now := time.Now()
	p.mu.Lock()
	if o, dup := p.open[req.ID]; dup && (req.Seq <= o.req.Seq || p.reserved[req.ID] != nil) {
		p.mu.Unlock()
		return nil // bid already (gossip and invitation both reached us)
	}
	// A newer request for the same job (the requester asks again) gets a
	// new bid, replacing the old one.
	if len(p.open) >= p.cfg.MaxOpenBids {
		p.mu.Unlock()
		p.stats.declined(CheckLimit)
		return &Refusal{Check: CheckLimit, Detail: fmt.Sprintf("%d bids open", p.cfg.MaxOpenBids)}
	}
	pl, refusal := Decide(req, o, p.reservedLocked(), now)
	if refusal != nil {
		p.mu.Unlock()
		p.stats.declined(refusal.Check)
		p.log.Debug("not bidding", "job", req.ID, "requester", short(requester), "check", refusal.Check, "detail", refusal.Detail)
		return refusal
	}
	bid := &gossip.Bid{Job: req.ID, Seq: p.nextSeq(), Sent: now,
		Expires: req.BidDeadline.Add(time.Duration(p.cfg.AwardTimeout) * time.Duration(p.cfg.VerifyRounds+1)),
		Price:   pl.price.Float64(), Workers: pl.workers, Class: pl.class, VRAMGB: pl.vramGB,
		CapacitySeq: o.Record.Seq, Addrs: addrs, RTTs: rtts}
	if hasCoord {
		bid.Coord = &co
	}
	if st := p.d.Settle; st != nil {
		bid.Wallet, bid.WalletSig = st.payoutProof(p.self)
	}
	if life := bid.Expires.Sub(bid.Sent); life > gossip.MaxMessageLife {
		bid.Expires = bid.Sent.Add(gossip.MaxMessageLife)
	}
	pool := ""
	if len(pl.devices) > 0 && pl.devices[0] < len(o.Record.Devices) {
		pool = o.Record.Devices[pl.devices[0]].Pool
	}
	p.open[req.ID] = &offered{req: req, requester: requester, bid: bid, plan: pl, pool: pool}
	p.mu.Unlock()

	ctx, cancel := context.WithDeadline(ctx, req.BidDeadline)
	defer cancel()
	answer, err := p.send(ctx, requester, req.Addrs, BidProtocol, bid, maxAckBytes)
	var ack Ack
	if err == nil {
		ack, err = readAck(answer)
	}
	refused := err != nil || !ack.OK
	p.stats.add(func(s *Stats) {
		s.BidsSent++
		if refused {
			s.BidsRefused++
		}
	})
	if refused {
		p.mu.Lock()
		delete(p.open, req.ID)
		p.mu.Unlock()
	}
	if err != nil {
		p.log.Debug("bid not delivered", "job", req.ID, "requester", short(requester), "err", err)
	} else if !ack.OK {
		p.log.Debug("bid refused", "job", req.ID, "requester", short(requester), "reason", ack.Reason)
	} else {
		p.log.Debug("bid", "job", req.ID, "requester", short(requester), "price", bid.Price, "workers", bid.Workers, "class", bid.Class, "why", pl.why)
	}
	return nil
}

// handleInvite answers a direct invitation: the request is considered as
// if heard on gossip, and the answer says whether a bid will come.
func (p *provider) handleInvite(s network.Stream) {
	_ = s.SetDeadline(time.Now().Add(streamTimeout))
	remote := s.Conn().RemotePeer()
	msg, err := p.receive(s, gossip.DefaultConfig().MaxMessageBytes, gossip.JobRequestType)
	if err != nil {
		p.violation(remote, "invitation", err)
		reply(s, false, err.Error())
		return
	}
	req := msg.(*gossip.JobRequest)
	// The bid goes out on its own stream; the invitation is answered first.
	if p.d.Offer == nil {
		reply(s, false, CheckOffer+": this node offers nothing")
		return
	}
	o, ok := p.d.Offer()
	if !ok {
		reply(s, false, CheckOffer+": this node offers nothing now")
		return
	}
	_, refusal := Decide(req, o, p.reservedDevices(), time.Now())
	if refusal != nil {
		p.stats.declined(refusal.Check)
		reply(s, false, refusal.Error())
		return
	}
	reply(s, true, "")
	p.goConsider(remote, req)
}
