package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"
)

// Signature domains: a signature made for any other record type never
// verifies as one of these.
const (
	// ReceiptDomain is the domain of the provider's signature over a Receipt.
	ReceiptDomain = "gpumesh-receipt"
	// CountersignDomain is the domain of the requester's countersignature.
	CountersignDomain = "gpumesh-receipt-countersign"
)

// Envelope payload types, versioned.
var (
	receiptCodec     = []byte("/gpumesh/receipt/1")
	countersignCodec = []byte("/gpumesh/receipt-countersign/1")
)

// MaxSignedSize bounds the marshalled form of a Signed receipt.
const MaxSignedSize = 16 << 10

// signedVersion is the first byte of a marshalled Signed.
const signedVersion = 1

func init() {
	record.RegisterType(&Receipt{})
	record.RegisterType(&Countersignature{})
}

// Domain implements record.Record.
func (*Receipt) Domain() string { return ReceiptDomain }

// Codec implements record.Record.
func (*Receipt) Codec() []byte { return receiptCodec }

// MarshalRecord implements record.Record.
func (r *Receipt) MarshalRecord() ([]byte, error) { return json.Marshal(r) }

// UnmarshalRecord implements record.Record.
func (r *Receipt) UnmarshalRecord(b []byte) error { return json.Unmarshal(b, r) }

// Countersignature is what the requester signs: that it accepts the
// receipt with this ID exactly as in the provider's envelope with this hash.
type Countersignature struct {
	// V is ReceiptVersion.
	V int `json:"v"`
	// ReceiptID is the countersigned receipt's ID.
	ReceiptID string `json:"receipt_id"`
	// ProviderEnvelope is the hex SHA-256 of the provider's marshalled envelope.
	ProviderEnvelope string `json:"provider_envelope"`
}

// Domain implements record.Record.
func (*Countersignature) Domain() string { return CountersignDomain }

// Codec implements record.Record.
func (*Countersignature) Codec() []byte { return countersignCodec }

// MarshalRecord implements record.Record.
func (c *Countersignature) MarshalRecord() ([]byte, error) { return json.Marshal(c) }

// UnmarshalRecord implements record.Record.
func (c *Countersignature) UnmarshalRecord(b []byte) error { return json.Unmarshal(b, c) }

// Signed is a receipt as it travels and is stored: the provider's envelope
// and, once countersigned, the requester's.
type Signed struct {
	// Provider is the provider's marshalled envelope holding the Receipt.
	Provider []byte
	// Requester is the requester's marshalled envelope holding the
	// Countersignature; empty until countersigned.
	Requester []byte
}

// Marshal encodes s: a version byte, then each envelope with a uvarint
// length prefix.
func (s Signed) Marshal() ([]byte, error) {
	n := 1 + 2*binary.MaxVarintLen64 + len(s.Provider) + len(s.Requester)
	if n > MaxSignedSize+2*binary.MaxVarintLen64 {
		return nil, fmt.Errorf("%w: %d bytes of envelopes, max %d", ErrTooLarge, len(s.Provider)+len(s.Requester), MaxSignedSize)
	}
	b := make([]byte, 0, n)
	b = append(b, signedVersion)
	b = binary.AppendUvarint(b, uint64(len(s.Provider)))
	b = append(b, s.Provider...)
	b = binary.AppendUvarint(b, uint64(len(s.Requester)))
	b = append(b, s.Requester...)
	if len(b) > MaxSignedSize {
		return nil, fmt.Errorf("%w: %d bytes, max %d", ErrTooLarge, len(b), MaxSignedSize)
	}
	return b, nil
}

// UnmarshalSigned decodes what Signed.Marshal encoded. It checks form and
// size only; Verify checks the signatures.
func UnmarshalSigned(b []byte) (Signed, error) {
	if len(b) > MaxSignedSize {
		return Signed{}, fmt.Errorf("%w: %d bytes, max %d", ErrTooLarge, len(b), MaxSignedSize)
	}
	if len(b) == 0 || b[0] != signedVersion {
		return Signed{}, fmt.Errorf("%w: not version %d", ErrMalformed, signedVersion)
	}
	rest := b[1:]
	part := func(name string) ([]byte, error) {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > uint64(len(rest)-k) {
			return nil, fmt.Errorf("%w: bad length of %s envelope", ErrMalformed, name)
		}
		p := rest[k : k+int(n)]
		rest = rest[k+int(n):]
		if len(p) == 0 {
			return nil, nil
		}
		return bytes.Clone(p), nil
	}
	var s Signed
	var err error
	if s.Provider, err = part("provider"); err != nil {
		return Signed{}, err
	}
	if s.Requester, err = part("requester"); err != nil {
		return Signed{}, err
	}
	if len(rest) != 0 {
		return Signed{}, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(rest))
	}
	return s, nil
}

// Sign checks r and seals it with the provider's key. key must be the key
// of r.Provider.
func Sign(key crypto.PrivKey, r Receipt) (Signed, error) {
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return Signed{}, fmt.Errorf("sign receipt: %w", err)
	}
	if id.String() != r.Provider {
		return Signed{}, fmt.Errorf("%w: key is %s, provider is %s", ErrWrongSigner, id, r.Provider)
	}
	if err := r.Check(); err != nil {
		return Signed{}, fmt.Errorf("sign receipt: %w", err)
	}
	env, err := record.Seal(&r, key)
	if err != nil {
		return Signed{}, fmt.Errorf("sign receipt: %w", err)
	}
	b, err := env.Marshal()
	if err != nil {
		return Signed{}, fmt.Errorf("sign receipt: %w", err)
	}
	return Signed{Provider: b}, nil
}

// Countersign opens s, checks the receipt and the provider's signature, and
// adds the requester's countersignature. key must be the key of the
// receipt's Requester. A requester should compare the receipt with what it
// observed (OpenReceipt) before countersigning.
func Countersign(key crypto.PrivKey, s Signed) (Signed, error) {
	r, err := OpenReceipt(s)
	if err != nil {
		return Signed{}, err
	}
	if err := r.Check(); err != nil {
		return Signed{}, fmt.Errorf("countersign receipt: %w", err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return Signed{}, fmt.Errorf("countersign receipt: %w", err)
	}
	if id.String() != r.Requester {
		return Signed{}, fmt.Errorf("%w: key is %s, requester is %s", ErrWrongSigner, id, r.Requester)
	}
	sum := sha256.Sum256(s.Provider)
	c := &Countersignature{V: ReceiptVersion, ReceiptID: r.ID, ProviderEnvelope: hex.EncodeToString(sum[:])}
	env, err := record.Seal(c, key)
	if err != nil {
		return Signed{}, fmt.Errorf("countersign receipt: %w", err)
	}
	b, err := env.Marshal()
	if err != nil {
		return Signed{}, fmt.Errorf("countersign receipt: %w", err)
	}
	return Signed{Provider: bytes.Clone(s.Provider), Requester: b}, nil
}

// OpenReceipt returns the receipt in s after checking the provider's
// envelope: its signature, and that its signer is the receipt's Provider.
// It does not check the countersignature or the arithmetic; Verify does.
func OpenReceipt(s Signed) (Receipt, error) {
	var r Receipt
	if len(s.Provider) == 0 {
		return Receipt{}, ErrUnsigned
	}
	signer, err := consume(s.Provider, &r, "provider")
	if err != nil {
		return Receipt{}, err
	}
	if signer.String() != r.Provider {
		return Receipt{}, fmt.Errorf("%w: provider envelope signed by %s, receipt names provider %s", ErrWrongSigner, signer, r.Provider)
	}
	return r, nil
}

// Verify checks everything about s and returns its receipt: the provider's
// signature by Receipt.Provider, the requester's countersignature by
// Receipt.Requester over exactly these provider bytes and this receipt ID,
// and Receipt.Check.
func Verify(s Signed) (Receipt, error) {
	r, err := OpenReceipt(s)
	if err != nil {
		return Receipt{}, err
	}
	if len(s.Requester) == 0 {
		return Receipt{}, fmt.Errorf("%w: receipt %s is not countersigned by requester %s", ErrOneSignature, r.ID, r.Requester)
	}
	var c Countersignature
	signer, err := consume(s.Requester, &c, "requester")
	if err != nil {
		return Receipt{}, err
	}
	if signer.String() != r.Requester {
		return Receipt{}, fmt.Errorf("%w: countersigned by %s, receipt names requester %s", ErrWrongSigner, signer, r.Requester)
	}
	sum := sha256.Sum256(s.Provider)
	if c.V != ReceiptVersion || c.ReceiptID != r.ID || c.ProviderEnvelope != hex.EncodeToString(sum[:]) {
		return Receipt{}, fmt.Errorf("%w: countersignature names receipt %q", ErrCountersignMismatch, c.ReceiptID)
	}
	if err := r.Check(); err != nil {
		return Receipt{}, err
	}
	return r, nil
}

// consume checks the envelope data against rec's domain and payload type,
// decodes it into rec and returns the signer.
func consume(data []byte, rec record.Record, who string) (peer.ID, error) {
	env, err := record.UnmarshalEnvelope(data)
	if err != nil {
		return "", fmt.Errorf("%w: %s envelope: %v", ErrMalformed, who, err)
	}
	if !bytes.Equal(env.PayloadType, rec.Codec()) {
		return "", fmt.Errorf("%w: %s envelope holds %q, want %q", ErrMalformed, who, env.PayloadType, rec.Codec())
	}
	if _, err := record.ConsumeTypedEnvelope(data, rec); err != nil {
		if errors.Is(err, record.ErrInvalidSignature) {
			return "", fmt.Errorf("%w: %s envelope", ErrBadSignature, who)
		}
		return "", fmt.Errorf("%w: %s envelope: %v", ErrMalformed, who, err)
	}
	signer, err := peer.IDFromPublicKey(env.PublicKey)
	if err != nil {
		return "", fmt.Errorf("%w: %s signer key: %v", ErrMalformed, who, err)
	}
	return signer, nil
}

// Verified is a signed receipt that passed Verify, ready for
// Log.AppendVerified. Only Prepare makes one.
type Verified struct {
	r    Receipt
	data []byte // the Signed, marshalled
}

// Receipt returns the verified receipt.
func (v Verified) Receipt() Receipt { return v.r }

// Prepare verifies s (Verify) and marshals it for the log.
func Prepare(s Signed) (Verified, error) {
	r, err := Verify(s)
	if err != nil {
		return Verified{}, err
	}
	data, err := s.Marshal()
	if err != nil {
		return Verified{}, fmt.Errorf("receipt %s: %w", r.ID, err)
	}
	return Verified{r: r, data: data}, nil
}
