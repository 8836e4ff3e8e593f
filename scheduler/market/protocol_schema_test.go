package market

import (
	"encoding/json"
	"testing"

	"github.com/gpumesh/gpumesh/scheduler/protocoltest"
)

// TestSettleMessagesMatchTheirSchemas: the unsigned frames of
// /gpumesh/receipt/1, encoded as the market encodes them, validate against
// docs/protocol/schemas (the signed messages and acks are checked in
// scheduler/protocoltest; these types are this package's own).
func TestSettleMessagesMatchTheirSchemas(t *testing.T) {
	signed := []byte{1, 3, 'a', 'b', 'c', 0}
	cases := []struct {
		name string
		msg  any
	}{
		{"settle-request", settleRequest{Job: "0123456789abcdef0123456789abcdef", Ranks: []int{0, 1}}},
		{"settle-request", settleRequest{Job: "0123456789abcdef0123456789abcdef", Ranks: []int{2}, Attempt: 1, Replaces: "ab", Lost: true, ObservedMS: 60000}},
		{"settle-offer", settleOffer{Receipts: [][]byte{signed, signed}}},
		{"settle-offer", settleOffer{Error: "no such run"}},
		{"settle-answer", settleAnswer{Countersigned: [][]byte{signed}, Refused: map[string]string{"ab": "ran 10s, observed 5s"}}},
		{"settle-answer", settleAnswer{}},
	}
	for _, c := range cases {
		b, err := json.Marshal(c.msg)
		if err != nil {
			t.Fatal(err)
		}
		if err := protocoltest.Validate(c.name, b); err != nil {
			t.Error(err)
		}
	}
}

// TestSettleSchemasMatchGoTypes: every JSON field of the settle frames is
// a property of its schema and every property a field
// (protocoltest.Drift; the exported messages are checked there).
func TestSettleSchemasMatchGoTypes(t *testing.T) {
	for name, v := range map[string]any{"settle-request": settleRequest{}, "settle-offer": settleOffer{}, "settle-answer": settleAnswer{}} {
		problems, err := protocoltest.Drift(name, v)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("schema %s: %s", name, p)
		}
	}
}
