package gossip

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const jobID = "0123456789abcdef0123456789abcdef"

func validRequest() *JobRequest {
	return &JobRequest{
		ID: jobID, Seq: 1, Sent: t0, BidDeadline: t0.Add(2 * time.Second), Workers: 4,
		PerWorker: Resources{GPUs: 1, Class: "A100-80GB", MinVRAMGB: 40},
		MaxRTT:    40 * time.Millisecond, Regions: []string{"EU"}, MaxPrice: 2.5, Duration: time.Hour,
		Executor: "wasm", Workload: "sha256:abcd", Urgency: UrgencyNormal,
	}
}

func validBid() *Bid {
	return &Bid{Job: jobID, Seq: 1, Sent: t0, Expires: t0.Add(time.Minute), Price: 1.9, Workers: 2, Class: "A100-80GB", VRAMGB: 80}
}

func validAward(t testing.TB) *Award {
	_, id := newKey(t)
	_, other := newKey(t)
	return &Award{Job: jobID, Provider: id.String(), Seq: 1, Sent: t0, AcceptBy: t0.Add(5 * time.Second), Price: 1.9,
		Ranks: []int{0, 2}, WorldSize: 3, Peers: []string{id.String(), other.String(), id.String()}}
}

func validRelease(t testing.TB) *Release {
	_, id := newKey(t)
	return &Release{Job: jobID, Provider: id.String(), Seq: 2, Sent: t0, Reason: "another cluster"}
}

func TestMarketMessagesRejectBadInput(t *testing.T) {
	for _, m := range []Message{validRequest(), validBid(), validAward(t),
		&Accept{Job: jobID, Seq: 1, AwardSeq: 1, Sent: t0, ReservedUntil: t0.Add(time.Minute)},
		&Decline{Job: jobID, Seq: 1, AwardSeq: 1, Sent: t0, Reason: "busy"},
		validRelease(t)} {
		if err := m.Validate(t0, time.Minute); err != nil {
			t.Errorf("valid %T: %v", m, err)
		}
	}
	requests := map[string]func(r *JobRequest){
		"k = 0":             func(r *JobRequest) { r.Workers = 0 },
		"k = 10,000":        func(r *JobRequest) { r.Workers = 10000 },
		"negative price":    func(r *JobRequest) { r.MaxPrice = -1 },
		"no price":          func(r *JobRequest) { r.MaxPrice = 0 },
		"bad job id":        func(r *JobRequest) { r.ID = "job-1" },
		"no resources":      func(r *JobRequest) { r.PerWorker = Resources{} },
		"65 GPUs":           func(r *JobRequest) { r.PerWorker.GPUs = 65 },
		"negative rtt":      func(r *JobRequest) { r.MaxRTT = -time.Millisecond },
		"year-long job":     func(r *JobRequest) { r.Duration = 365 * 24 * time.Hour },
		"bad urgency":       func(r *JobRequest) { r.Urgency = "asap" },
		"no executor":       func(r *JobRequest) { r.Executor = "" },
		"no workload":       func(r *JobRequest) { r.Workload = "" },
		"hour-long bidding": func(r *JobRequest) { r.BidDeadline = r.Sent.Add(time.Hour) },
		"deadline first":    func(r *JobRequest) { r.BidDeadline = r.Sent.Add(-time.Second) },
		"bad region":        func(r *JobRequest) { r.Regions = []string{"E U"} },
	}
	for name, mutate := range requests {
		r := validRequest()
		mutate(r)
		if err := r.Validate(t0, time.Minute); err == nil || errors.Is(err, ErrExpired) {
			t.Errorf("request with %s: %v, want a content error", name, err)
		}
	}
	bids := map[string]func(b *Bid){
		"zero price":     func(b *Bid) { b.Price = 0 },
		"absurd price":   func(b *Bid) { b.Price = 1e6 },
		"no workers":     func(b *Bid) { b.Workers = 0 },
		"no class":       func(b *Bid) { b.Class = "" },
		"day-long bid":   func(b *Bid) { b.Expires = b.Sent.Add(24 * time.Hour) },
		"other job form": func(b *Bid) { b.Job = strings.ToUpper(jobID) },
	}
	for name, mutate := range bids {
		b := validBid()
		mutate(b)
		if err := b.Validate(t0, time.Minute); err == nil || errors.Is(err, ErrExpired) {
			t.Errorf("bid with %s: %v, want a content error", name, err)
		}
	}
	awards := map[string]func(a *Award){
		"rank not the provider's": func(a *Award) { a.Ranks = []int{1} },
		"rank out of the world":   func(a *Award) { a.Ranks = []int{3} },
		"peers != world":          func(a *Award) { a.WorldSize = 4 },
		"bad provider":            func(a *Award) { a.Provider = "me" },
		"no ranks":                func(a *Award) { a.Ranks = nil },
		"addrs for more peers": func(a *Award) {
			a.Addrs = map[string][]string{"a": nil, "b": nil, "c": nil, "d": nil}
		},
		"too many addrs": func(a *Award) { a.Addrs = map[string][]string{a.Peers[1]: make([]string, 9)} },
	}
	for name, mutate := range awards {
		a := validAward(t)
		mutate(a)
		if err := a.Validate(t0, time.Minute); err == nil || errors.Is(err, ErrExpired) {
			t.Errorf("award with %s: %v, want a content error", name, err)
		}
	}
	accepts := map[string]func(a *Accept){
		"negative rtt":  func(a *Accept) { a.RTTs = []PeerRTT{{Peer: "x", RTT: -1}} },
		"too many rtts": func(a *Accept) { a.RTTs = make([]PeerRTT, MaxWorkers+1) },
		"no award seq":  func(a *Accept) { a.AwardSeq = 0 },
	}
	for name, mutate := range accepts {
		a := &Accept{Job: jobID, Seq: 1, AwardSeq: 1, Sent: t0, ReservedUntil: t0.Add(time.Minute)}
		mutate(a)
		if err := a.Validate(t0, time.Minute); err == nil || errors.Is(err, ErrExpired) {
			t.Errorf("accept with %s: %v, want a content error", name, err)
		}
	}
	for name, mutate := range map[string]func(r *Release){
		"bad provider": func(r *Release) { r.Provider = "me" },
		"long reason":  func(r *Release) { r.Reason = strings.Repeat("x", 300) },
		"no seq":       func(r *Release) { r.Seq = 0 },
	} {
		r := validRelease(t)
		mutate(r)
		if err := r.Validate(t0, time.Minute); err == nil || errors.Is(err, ErrExpired) {
			t.Errorf("release with %s: %v, want a content error", name, err)
		}
	}
	// After the deadline a request or bid is expired, not invalid: ignored
	// without penalty on gossip, refused on streams.
	if err := validRequest().Validate(t0.Add(3*time.Second), time.Minute); !errors.Is(err, ErrExpired) {
		t.Errorf("request after its bid deadline: %v", err)
	}
	if err := validBid().Validate(t0.Add(-2*time.Minute), time.Minute); !errors.Is(err, ErrExpired) {
		t.Errorf("bid from the future: %v", err)
	}
}

func TestMarketMessagesThroughDecode(t *testing.T) {
	key, id := newKey(t)
	types := []Type{JobRequestType, BidType, AwardType, AcceptType, DeclineType, ReleaseType}
	for _, m := range []Message{validRequest(), validBid(), validAward(t), validRelease(t)} {
		data, err := Encode(m, key)
		if err != nil {
			t.Fatal(err)
		}
		got, signer, err := Decode(data, types, t0, 64<<10, time.Minute)
		if err != nil || signer != id || got.Domain() != m.Domain() {
			t.Fatalf("%T: %v, signer %s", m, err, signer)
		}
		// A bid is not an award: each decodes only as its own type.
		if _, _, err := Decode(data, []Type{HeartbeatType}, t0, 64<<10, time.Minute); !errors.Is(err, ErrUnknownType) {
			t.Errorf("%T decoded as a heartbeat: %v", m, err)
		}
	}
	// A bid's signature made for another domain never verifies.
	forged := seal(t, domainSwap{validBid()}, key)
	if _, _, err := Decode(forged, types, t0, 64<<10, time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Errorf("bid signed under the award domain: %v", err)
	}
}

// domainSwap is a bid whose envelope claims the award domain.
type domainSwap struct{ *Bid }

func (domainSwap) Domain() string { return AwardDomain }

func FuzzDecodeMarket(f *testing.F) {
	key, _ := newKey(f)
	for _, m := range []Message{validRequest(), validBid(), validAward(f), validRelease(f),
		&Accept{Job: jobID, Seq: 1, AwardSeq: 1, Sent: t0, ReservedUntil: t0.Add(time.Minute), RTTs: []PeerRTT{{Peer: "p", RTT: time.Millisecond}}}} {
		data, err := Encode(m, key)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	types := []Type{JobRequestType, BidType, AwardType, AcceptType, DeclineType, ReleaseType}
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, _, err := Decode(data, types, t0, 64<<10, time.Minute)
		if err == nil {
			if msg == nil || msg.Validate(t0, time.Minute) != nil {
				t.Fatal("decoded a message that does not validate")
			}
			return
		}
		for _, want := range []error{ErrTooLarge, ErrMalformed, ErrNonCanonical, ErrUnknownType, ErrBadSignature, ErrInvalid, ErrExpired} {
			if errors.Is(err, want) {
				return
			}
		}
		t.Fatalf("error %v wraps no ErrX sentinel", err)
	})
}
