package node

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/node/datadir"
)

// KeyFile is the identity key's file name inside the data dir.
const KeyFile = "identity.key"

// LoadOrCreateIdentity reads the node's Ed25519 key from path, or creates one
// and writes it atomically with mode 0600 if the file does not exist. A file
// that exists but does not hold a key is an error, never silently replaced:
// a new key is a new peer ID, and the old one's reputation and receipts stay
// with the old key.
func LoadOrCreateIdentity(path string) (key crypto.PrivKey, created bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			return nil, false, fmt.Errorf("generate identity: %w", err)
		}
		raw, err := crypto.MarshalPrivateKey(key)
		if err != nil {
			return nil, false, fmt.Errorf("encode identity: %w", err)
		}
		if err := datadir.WriteFile(path, raw, 0o600); err != nil {
			return nil, false, fmt.Errorf("write identity %s: %w", path, err)
		}
		return key, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read identity: %w", err)
	}
	if key, err = parseIdentity(path, data); err != nil {
		return nil, false, err
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return nil, false, fmt.Errorf("identity key %s is readable by others and cannot be fixed: %w", path, err)
		}
	}
	return key, false, nil
}

// ReadIdentity returns the peer ID of the key at path, without creating one:
// for `gpumesh id` when no node runs.
func ReadIdentity(path string) (peer.ID, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("no identity at %s yet: start the node once with `gpumesh run` (%w)", path, err)
	}
	key, err := parseIdentity(path, data)
	if err != nil {
		return "", err
	}
	return peer.IDFromPrivateKey(key)
}

// parseIdentity decodes the key file's bytes, naming the file if they are not an Ed25519 key.
func parseIdentity(path string, data []byte) (crypto.PrivKey, error) {
	key, err := crypto.UnmarshalPrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("identity key %s is corrupted (%v); restore it from a backup, or move it away to start with a new peer ID", path, err)
	}
	if key.Type() != crypto.Ed25519 {
		return nil, fmt.Errorf("identity key %s is %s, want Ed25519", path, key.Type())
	}
	// libp2p keeps the public half as stored: one that is not the seed's
	// would give a peer ID under which none of the node's signatures verify.
	raw, err := key.Raw()
	if err != nil || len(raw) != ed25519.PrivateKeySize ||
		!bytes.Equal(ed25519.NewKeyFromSeed(raw[:ed25519.SeedSize])[ed25519.SeedSize:], raw[ed25519.SeedSize:]) {
		return nil, fmt.Errorf("identity key %s is corrupted (its public key is not its private key's); restore it from a backup, or move it away to start with a new peer ID", path)
	}
	return key, nil
}
