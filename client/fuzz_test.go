package client

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/gpumesh/gpumesh/ledger/anchor"
	"github.com/gpumesh/gpumesh/node/api"
)

// noChain answers every anchor question with "not checked".
type noChain struct{}

func (noChain) VerifyAnchor(context.Context, *anchor.Anchor) (api.AnchorCheck, error) {
	return api.AnchorCheck{Reason: "no chain in this test"}, nil
}

// FuzzVerify: a receipt proof from anywhere (JSON as the API and
// `receipts show --json` give it) never panics Verify, which either
// passes it or says which check failed, with ErrNotVerified.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"receipt":{"id":"ab"},"signed":"AAEC","entry":{"index":3,"encoded":"AAEC"},"inclusion":{"size":1,"proof":[]}}`))
	f.Add([]byte(`{"entry":{"index":-1},"inclusion":{"size":-5}}`))
	f.Add([]byte(`{"anchor":{"envelope":"AAAA","tx":"0x00"},"inclusion":{"size":18446744073709551615}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		var p api.ReceiptProof
		if json.Unmarshal(data, &p) != nil {
			return
		}
		rep, err := verifyProof(context.Background(), p, noChain{})
		if rep.OK != (err == nil) {
			t.Fatalf("OK %v with error %v", rep.OK, err)
		}
		if err != nil && !errors.Is(err, ErrNotVerified) {
			t.Fatalf("error %v does not wrap ErrNotVerified", err)
		}
	})
}
