package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gpumesh/gpumesh/node/api"
)

// TestPrintSettlement: each redemption's paid amount and both fees in
// dollars, a failure named, the totals; nothing to do said so.
func TestPrintSettlement(t *testing.T) {
	var out bytes.Buffer
	g := &globals{stdout: &out}
	printSettlement(g, api.Settlement{Decimals: 6, Redemptions: []api.Redemption{
		{Channel: "a", Redeemed: true, Amount: "2000000", Paid: "1995000", RequesterFee: "5000", ProviderFee: "5000", Tx: "0x1"},
		{Channel: "b", Err: "submit: over the escrow"},
		{Channel: "c", Redeemed: true, Reason: "found redeemed on chain after an unrecorded submission"},
	}})
	for _, want := range []string{
		"a  settled 2: paid 1.995, fees 0.005 (requester) + 0.005 (provider)  tx 0x1",
		"b  failed: submit: over the escrow",
		"c  found redeemed on chain",
		"paid 1.995 in all; fees 0.01 to the treasury",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	printSettlement(g, api.Settlement{Decimals: 6})
	if !strings.Contains(out.String(), "nothing to redeem") {
		t.Errorf("empty settlement printed %q", out.String())
	}
}
