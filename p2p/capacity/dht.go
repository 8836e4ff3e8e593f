package capacity

import (
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"
)

// Namespace is the DHT namespace of capacity records: their keys are
// "/capacity/" followed by the provider's peer ID in binary form, and the
// DHT runs Validator on every record under it.
const Namespace = "capacity"

// MaxSkew is how far ahead of our clock a record may be dated.
const MaxSkew = 2 * time.Minute

// Key is the DHT key of id's capacity record.
func Key(id peer.ID) string { return "/" + Namespace + "/" + string(id) }

// PeerOfKey returns the peer a capacity key belongs to.
func PeerOfKey(key string) (peer.ID, error) {
	prefix := "/" + Namespace + "/"
	if len(key) <= len(prefix) || key[:len(prefix)] != prefix {
		return "", fmt.Errorf("%w: key is not in the %s namespace", ErrInvalid, Namespace)
	}
	id, err := peer.IDFromBytes([]byte(key[len(prefix):]))
	if err != nil {
		return "", fmt.Errorf("%w: key holds no peer ID: %v", ErrInvalid, err)
	}
	return id, nil
}

// Seal signs r with key and returns the bytes stored in the DHT.
func Seal(r *Record, key crypto.PrivKey) ([]byte, error) {
	env, err := record.Seal(r, key)
	if err != nil {
		return nil, fmt.Errorf("sign capacity record: %w", err)
	}
	data, err := env.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode capacity record: %w", err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes signed, at most %d", ErrInvalid, len(data), MaxSize)
	}
	return data, nil
}

// Open checks the signature of a signed record and returns it with its
// signer. It checks neither contents nor time: Validate does.
func Open(data []byte) (*Record, peer.ID, error) {
	if len(data) > MaxSize {
		return nil, "", fmt.Errorf("%w: %d bytes, at most %d", ErrInvalid, len(data), MaxSize)
	}
	r := new(Record)
	env, err := record.ConsumeTypedEnvelope(data, r)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	signer, err := peer.IDFromPublicKey(env.PublicKey)
	if err != nil {
		return nil, "", fmt.Errorf("%w: signer key: %v", ErrInvalid, err)
	}
	return r, signer, nil
}

// Verify opens a record found under key and checks that the key's peer
// signed it and that its contents are valid at now.
func Verify(key string, data []byte, now time.Time) (*Record, peer.ID, error) {
	id, err := PeerOfKey(key)
	if err != nil {
		return nil, "", err
	}
	r, signer, err := Open(data)
	if err != nil {
		return nil, "", err
	}
	if signer != id {
		return nil, "", fmt.Errorf("%w: signed by %s, stored under %s", ErrInvalid, signer, id)
	}
	if err := r.Validate(now, MaxSkew); err != nil {
		return nil, "", err
	}
	return r, id, nil
}

// Validator is the DHT's record.Validator for the capacity namespace: a
// record is valid only under the key of the peer that signed it, with valid
// contents and not expired; among valid records the highest sequence number
// wins, so an old record replayed to a DHT server that holds a newer one is
// refused.
type Validator struct {
	// Now is the clock; time.Now if nil.
	Now func() time.Time
}

func (v Validator) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// Validate implements record.Validator.
func (v Validator) Validate(key string, value []byte) error {
	_, _, err := Verify(key, value, v.now())
	return err
}

// Select implements record.Validator: the index of the valid record with the
// highest sequence number (the first of equals).
func (v Validator) Select(key string, values [][]byte) (int, error) {
	best, bestSeq := -1, uint64(0)
	now := v.now()
	for i, val := range values {
		r, _, err := Verify(key, val, now)
		if err != nil {
			continue
		}
		if best < 0 || r.Seq > bestSeq {
			best, bestSeq = i, r.Seq
		}
	}
	if best < 0 {
		return 0, errors.New("no valid capacity record")
	}
	return best, nil
}
