package cli

import (
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

// TestDemoCheckCatchesMoneyThatDoesNotAddUp: the demo's own check accepts
// balances exactly as the receipts say (25 bp each side, rounded down) and
// names every balance that differs by even one base unit.
func TestDemoCheckCatchesMoneyThatDoesNotAddUp(t *testing.T) {
	a, b := common.HexToAddress("0xa"), common.HexToAddress("0xb")
	owed := map[common.Address]*big.Int{a: big.NewInt(2_262), b: big.NewInt(1_000_000)}
	good := func() *demoMoney {
		return &demoMoney{out: demoSettlement{FeeBP: [2]uint16{25, 25}, Redemptions: []demoRedemption{
			{Provider: a.Hex(), Amount: "2262", Paid: "2257", RequesterFee: "5", ProviderFee: "5", Balance: "2257"},
			{Provider: b.Hex(), Amount: "1000000", Paid: "997500", RequesterFee: "2500", ProviderFee: "2500", Balance: "997500"},
		}, TreasuryHeld: "5010", EscrowLeft: "8995233"}}
	}
	if err := good().check(owed); err != nil {
		t.Fatalf("exact balances refused: %v", err)
	}
	for name, tc := range map[string]struct {
		spoil func(m *demoMoney)
		want  string
	}{
		"provider balance":  {func(m *demoMoney) { m.out.Redemptions[0].Balance = "2258" }, "provider " + a.Hex()},
		"requester fee":     {func(m *demoMoney) { m.out.Redemptions[1].RequesterFee = "2499" }, "provider " + b.Hex()},
		"treasury":          {func(m *demoMoney) { m.out.TreasuryHeld = "5009" }, "treasury holds 5009"},
		"escrow":            {func(m *demoMoney) { m.out.EscrowLeft = "8995234" }, "escrow holds 8995234"},
		"missed redemption": {func(m *demoMoney) { m.out.Redemptions = m.out.Redemptions[:1] }, "redeemed nothing"},
	} {
		m := good()
		tc.spoil(m)
		if err := m.check(owed); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s spoiled: check = %v, want an error naming %q", name, err, tc.want)
		}
	}
}
