package node

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gpumesh/gpumesh/p2p/coord"
)

// TestDecodeCoordMsg: a valid coordinate or none passes; garbage, an
// invalid coordinate and an oversized frame are refused as ErrBadCoord.
func TestDecodeCoordMsg(t *testing.T) {
	good, _ := json.Marshal(coordMsg{Coord: &coord.Coordinate{Vec: make([]float64, coord.Dimensions), Error: 1.5}})
	bad := `{"coord":{"vec":[1,2],"error":1}}`
	cases := []struct {
		in string
		ok bool
	}{
		{string(good), true},
		{`{}`, true},
		{`{"coord":null,"future":1}`, true},
		{bad, false},
		{`{"coord":{"vec":[1e400,0,0,0,0,0,0,0]}}`, false},
		{`not json`, false},
		{`{"coord":` + strings.Repeat(" ", coordFrameMax) + `null}`, false},
	}
	for _, c := range cases {
		_, err := decodeCoordMsg([]byte(c.in))
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrBadCoord)) {
			t.Errorf("decode %.40q: %v, want ok %v", c.in, err, c.ok)
		}
	}
}

// FuzzDecodeCoordMsg: whatever a peer sends on CoordProtocol, the decoder
// returns a valid coordinate or none, or ErrBadCoord, and never panics.
func FuzzDecodeCoordMsg(f *testing.F) {
	good, _ := json.Marshal(coordMsg{Coord: &coord.Coordinate{Vec: make([]float64, coord.Dimensions), Error: 1.5, Height: 1e-5}})
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"coord":{"vec":[1,2],"error":-1}}`))
	f.Add([]byte(`{"coord":{"vec":[NaN]}}`))
	f.Add([]byte{0xff, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeCoordMsg(b)
		if err != nil {
			if !errors.Is(err, ErrBadCoord) {
				t.Fatalf("error %v is not ErrBadCoord", err)
			}
			return
		}
		if m.Coord != nil {
			if err := m.Coord.Validate(); err != nil {
				t.Fatalf("accepted an invalid coordinate: %v", err)
			}
		}
	})
}
