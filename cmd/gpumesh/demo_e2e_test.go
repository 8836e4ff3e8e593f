package main_test

import (
	"encoding/json"
	"math/big"
	"regexp"
	"strings"
	"testing"
)

// demoSettlement is the settlement part of `gpumesh demo --json`: amounts in
// base units of the 6-decimals test stablecoin, in decimal.
type demoSettlement struct {
	FeeBP    [2]int64 `json:"fee_bp"`
	Deposit  string   `json:"deposit"`
	Vouchers []struct {
		Receipt, Provider, Amount, Cumulative string
		Nonce                                 uint64
	} `json:"vouchers"`
	Redemptions []struct {
		Provider, Amount, Paid, Balance, Tx string
		RequesterFee                        string `json:"requester_fee"`
		ProviderFee                         string `json:"provider_fee"`
		Gas                                 uint64
	} `json:"redemptions"`
	Treasury     string `json:"treasury_balance"`
	EscrowLeft   string `json:"escrow_left"`
	Transactions []struct {
		What string
		Gas  uint64
	} `json:"transactions"`
	Checked bool `json:"checked"`
}

// TestDemo: `gpumesh demo` runs a job end to end in one process, verifies a
// receipt against its anchor and pays for the job on its embedded chain:
// a deposit, a voucher per receipt, one redemption per provider, the money
// moved exactly as the receipts say (checked here from its --json report).
func TestDemo(t *testing.T) {
	out, story, code := gpumesh(t, "demo", "--json", "--providers", "2", "--workers", "2", "--points", "200000")
	t.Logf("gpumesh demo:\n%s%s", story, out)
	if code != 0 {
		t.Fatalf("demo = exit %d", code)
	}
	for _, want := range []string{"[0] rank 0 of 2", "[1] rank 1 of 2", "placement:", "countersigned by the researcher",
		"anchored the researcher's ledger (2 entries)", "is in the anchored tree", "carries the checkpoint's commitment (checked through --rpc)",
		"verified: 5 checks passed", "deposited it all: escrow $10", "vouchers the researcher signed", "each provider redeems its latest voucher",
		"checked: every provider got its receipts' sum", "demo done"} {
		if !strings.Contains(story, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if !regexp.MustCompile(`pi ~ 3\.1[0-9]+ from 400000 points`).MatchString(story) {
		t.Error("demo output lacks the cluster's estimate of pi")
	}
	var rep struct {
		State      string         `json:"state"`
		Receipts   []string       `json:"receipts"`
		Verified   bool           `json:"verified"`
		Settlement demoSettlement `json:"settlement"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("demo --json: %v", err)
	}
	if rep.State != "succeeded" || len(rep.Receipts) != 2 || !rep.Verified {
		t.Errorf("demo --json: state %q, %d receipts, verified %v", rep.State, len(rep.Receipts), rep.Verified)
	}
	checkDemoMoney(t, rep.Settlement)

	if _, _, code := gpumesh(t, "demo", "--workers", "5", "--providers", "2"); code != 2 {
		t.Errorf("demo with more workers than providers = exit %d, want 2", code)
	}
}

// checkDemoMoney checks, from the demo's report alone, that each provider
// redeemed the sum of its vouchers' amounts (its last cumulative), was paid
// that less its fee, that the treasury holds both sides' fees and that the
// escrow lost exactly the sums and the requester's fees.
func checkDemoMoney(t *testing.T, s demoSettlement) {
	t.Helper()
	num := func(x string) *big.Int {
		n, ok := new(big.Int).SetString(x, 10)
		if !ok {
			t.Fatalf("amount %q is not decimal", x)
		}
		return n
	}
	fee := func(x *big.Int, bp int64) *big.Int {
		return new(big.Int).Div(new(big.Int).Mul(x, big.NewInt(bp)), big.NewInt(10_000))
	}
	if s.FeeBP != [2]int64{25, 25} || !s.Checked {
		t.Errorf("fees %v bp, checked %v; want 25 each side, checked", s.FeeBP, s.Checked)
	}
	owed, last := map[string]*big.Int{}, map[string]*big.Int{}
	for _, v := range s.Vouchers {
		if owed[v.Provider] == nil {
			owed[v.Provider] = new(big.Int)
		}
		owed[v.Provider].Add(owed[v.Provider], num(v.Amount))
		last[v.Provider] = num(v.Cumulative)
	}
	if len(s.Vouchers) != 2 || len(owed) != 2 || len(s.Redemptions) != 2 {
		t.Fatalf("%d vouchers to %d providers, %d redemptions; want 2, 2, 2", len(s.Vouchers), len(owed), len(s.Redemptions))
	}
	fees, charged := new(big.Int), new(big.Int)
	for _, r := range s.Redemptions {
		want := owed[r.Provider]
		if want == nil || want.Sign() <= 0 || last[r.Provider].Cmp(want) != 0 {
			t.Fatalf("provider %s redeemed %s; its vouchers sum to %v, the last cumulative %v", r.Provider, r.Amount, want, last[r.Provider])
		}
		rFee, pFee := fee(want, 25), fee(want, 25)
		paid := new(big.Int).Sub(want, pFee)
		if num(r.Amount).Cmp(want) != 0 || num(r.Paid).Cmp(paid) != 0 || num(r.Balance).Cmp(paid) != 0 ||
			num(r.ProviderFee).Cmp(pFee) != 0 || num(r.RequesterFee).Cmp(rFee) != 0 {
			t.Errorf("provider %s: %+v; want %s redeemed, %s paid and held, fees %s and %s", r.Provider, r, want, paid, rFee, pFee)
		}
		if r.Gas == 0 || r.Tx == "" {
			t.Errorf("provider %s's redemption: tx %q, gas %d", r.Provider, r.Tx, r.Gas)
		}
		fees.Add(fees, rFee).Add(fees, pFee)
		charged.Add(charged, want).Add(charged, rFee)
	}
	if num(s.Treasury).Cmp(fees) != 0 || fees.Sign() <= 0 {
		t.Errorf("treasury holds %s, want the fees %s (more than nothing)", s.Treasury, fees)
	}
	if left := new(big.Int).Sub(num(s.Deposit), charged); num(s.EscrowLeft).Cmp(left) != 0 || s.Deposit != "10000000" {
		t.Errorf("escrow left %s of deposit %s, want %s", s.EscrowLeft, s.Deposit, left)
	}
	deposited := false
	for _, tx := range s.Transactions {
		deposited = deposited || tx.What == "researcher deposits into escrow" && tx.Gas > 0
	}
	if !deposited {
		t.Errorf("no deposit among the transactions: %+v", s.Transactions)
	}
}
