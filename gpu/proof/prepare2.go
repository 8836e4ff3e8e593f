package proof

import (
	"encoding/binary"
	"fmt"
	"time"
)

// A version 2 exchange starts with a Prepare2 and a Ready2 before the
// challenge: a GPU prover needs seconds to start (PyTorch's import, the
// CUDA context), which must not count against its speed; the seed is
// released, and the clock started, only once the prover says it is ready.

// Wire sizes of the warm-up messages.
const (
	// Prepare2Size is the size of every encoded Prepare2.
	Prepare2Size = headerSize + 4 + 1 + 4 + 4 + 4 + 8
	// Ready2Size is the size of the encoded ready message.
	Ready2Size = headerSize
)

// Message kinds of the warm-up.
const (
	kindPrepare byte = 'P'
	kindReady   byte = 'Y'
)

// DefaultWarmup is how long a prover may take to get ready.
const DefaultWarmup = time.Minute

// Prepare2 announces a version 2 challenge's parameters, without its seed:
// the prover gets ready (a helper started, its device initialized) and
// answers Ready2; the challenge that follows must have these parameters.
type Prepare2 Params2

// Validate returns every problem with p under l, as Challenge2.Validate.
func (p Prepare2) Validate(l Limits2) error {
	return Challenge2{Version: ChallengeVersion2, N: p.N, Type: p.Type, Pool: p.Pool, Products: p.Products, Samples: p.Samples, Deadline: p.Deadline}.Validate(l)
}

// Matches reports whether ch has p's parameters.
func (p Prepare2) Matches(ch Challenge2) bool {
	return Params2(p) == Params2{N: ch.N, Type: ch.Type, Pool: ch.Pool, Products: ch.Products, Samples: ch.Samples, Deadline: ch.Deadline}
}

// PrepareFor returns the Prepare2 that announces ch.
func PrepareFor(ch Challenge2) Prepare2 {
	return Prepare2{N: ch.N, Type: ch.Type, Pool: ch.Pool, Products: ch.Products, Samples: ch.Samples, Deadline: ch.Deadline}
}

// IsPrepare2 reports whether data is a version 2 prepare message, the
// first frame of a version 2 exchange.
func IsPrepare2(data []byte) bool {
	return len(data) >= headerSize && data[0] == kindPrepare && data[1] == WireVersion2
}

// Marshal encodes the prepare message; it refuses one that does not
// validate with the widest limits.
func (p Prepare2) Marshal() ([]byte, error) {
	if err := p.Validate(widest2); err != nil {
		return nil, fmt.Errorf("marshal prepare: %w", err)
	}
	b := header2(kindPrepare, Prepare2Size)
	b = binary.LittleEndian.AppendUint32(b, clampU32(p.N))
	b = append(b, p.Type.code())
	b = binary.LittleEndian.AppendUint32(b, clampU32(p.Pool))
	b = binary.LittleEndian.AppendUint32(b, clampU32(p.Products))
	b = binary.LittleEndian.AppendUint32(b, clampU32(p.Samples))
	return binary.LittleEndian.AppendUint64(b, uint64(p.Deadline)), nil
}

// UnmarshalPrepare2 decodes a prepare message and validates it under l.
func UnmarshalPrepare2(data []byte, l Limits2) (Prepare2, error) {
	if err := tooLarge("prepare", len(data), Prepare2Size); err != nil {
		return Prepare2{}, err
	}
	d := decoder{b: data}
	d.header2(kindPrepare, "prepare")
	var p Prepare2
	p.N = int(d.u32("n"))
	code := d.u8("number type")
	p.Pool = int(d.u32("pool"))
	p.Products = int(d.u32("products"))
	p.Samples = int(d.u32("samples"))
	p.Deadline = time.Duration(d.u64("deadline"))
	t, err := d.typed("prepare", code)
	if err != nil {
		return Prepare2{}, err
	}
	p.Type = t
	if err := p.Validate(l); err != nil {
		return Prepare2{}, err
	}
	return p, nil
}

// Ready2 returns the encoded ready message: the prover is ready for the
// challenge.
func Ready2() []byte { return []byte{kindReady, WireVersion2} }

// CheckReady2 returns nil if data is the ready message, else an error
// wrapping ErrMalformed.
func CheckReady2(data []byte) error {
	d := decoder{b: data}
	d.header2(kindReady, "ready")
	return d.finish("ready")
}
