package market

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

// FuzzSettleWallets: the receipt stream's settle request and offer from a
// hostile peer, decoded as the provider and requester do, with their
// wallet fields parsed: never a panic, and a wallet accepted only when it
// is 0x and 40 hex digits naming a non-zero address.
func FuzzSettleWallets(f *testing.F) {
	f.Add([]byte(`{"job":"0123456789abcdef0123456789abcdef","ranks":[0],"payer":"0x5FbDB2315678afecb367f032d93F642f64180aa3"}`))
	f.Add([]byte(`{"receipts":[],"payout":"0x0000000000000000000000000000000000000000"}`))
	f.Add([]byte(`{"payer":"5FbDB2315678afecb367f032d93F642f64180aa3ab"}`))
	f.Add([]byte(`{"payout":"0x5FbDB2315678afecb367f032d93F642f64180aZ3"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var req settleRequest
		if json.Unmarshal(b, &req) == nil {
			checkWallet(t, req.Payer)
		}
		var offer settleOffer
		if json.Unmarshal(b, &offer) == nil {
			checkWallet(t, offer.Payout)
		}
	})
}

func checkWallet(t *testing.T, s string) {
	t.Helper()
	a, err := parseWallet(s)
	switch {
	case err != nil:
		if a != (common.Address{}) {
			t.Fatalf("parseWallet(%q) refused with an address %s", s, a)
		}
	case s == "":
		if a != (common.Address{}) {
			t.Fatalf("empty wallet gave %s", a)
		}
	case len(s) != 42 || !strings.HasPrefix(strings.ToLower(s), "0x") || a == (common.Address{}) || !strings.EqualFold(a.Hex(), s):
		t.Fatalf("parseWallet(%q) accepted as %s", s, a)
	}
}

func TestParseWallet(t *testing.T) {
	for s, ok := range map[string]bool{
		"": true, "0x5FbDB2315678afecb367f032d93F642f64180aa3": true,
		"0x0000000000000000000000000000000000000000": false, "0x5FbDB2315678afecb367f032d93F642f64180aa": false,
		"5FbDB2315678afecb367f032d93F642f64180aa3ab": false, "0xZZbDB2315678afecb367f032d93F642f64180aa3": false,
	} {
		if _, err := parseWallet(s); (err == nil) != ok {
			t.Errorf("parseWallet(%q): %v, want ok %v", s, err, ok)
		}
	}
}
