package node_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/node"
)

// FuzzReadIdentity: any bytes as the identity key file. A key that loads
// is Ed25519, signs what its public key (and so its peer ID) verifies,
// loads the same through LoadOrCreateIdentity without the file being
// replaced, and re-encodes to a key file that loads to the same key. A
// file that does not load is never replaced by a new key.
func FuzzReadIdentity(f *testing.F) {
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		f.Fatal(err)
	}
	good, err := crypto.MarshalPrivateKey(key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	raw, _ := key.Raw()
	// The legacy form: seed, public key, public key again.
	f.Add(keyFile(raw))
	f.Add(keyFile(append(bytes.Clone(raw), raw[32:]...)))
	flipped := bytes.Clone(good)
	flipped[len(flipped)-1] ^= 1 // the public half no longer matches the seed
	f.Add(flipped)
	secp, _, _ := crypto.GenerateSecp256k1Key(nil)
	other, _ := crypto.MarshalPrivateKey(secp)
	f.Add(other)
	f.Add([]byte{})
	f.Add([]byte("not a key"))
	f.Add(good[:len(good)-1])
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, node.KeyFile)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		id, err := node.ReadIdentity(path)
		k, created, lerr := node.LoadOrCreateIdentity(path)
		if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
			t.Fatalf("the key file was rewritten")
		}
		if (err == nil) != (lerr == nil) {
			t.Fatalf("ReadIdentity: %v, LoadOrCreateIdentity: %v", err, lerr)
		}
		if err != nil {
			if id != "" || k != nil || created {
				t.Fatalf("failed (%v) but returned %q, %v, created %t", err, id, k, created)
			}
			return
		}
		if created {
			t.Fatal("created a key over an existing file")
		}
		if k.Type() != crypto.Ed25519 {
			t.Fatalf("loaded a %s key", k.Type())
		}
		if want, _ := peer.IDFromPrivateKey(k); want != id {
			t.Fatalf("ReadIdentity says %s, the key is %s", id, want)
		}
		msg := []byte("gpumesh identity")
		sig, err := k.Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := id.ExtractPublicKey()
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := pub.Verify(msg, sig); !ok {
			t.Fatalf("the key's signature does not verify under its own peer ID %s", id)
		}
		enc, err := crypto.MarshalPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		back, err := crypto.UnmarshalPrivateKey(enc)
		if err != nil || !back.Equals(k) {
			t.Fatalf("re-encoded key does not load back: %v", err)
		}
	})
}

// keyFile is the protobuf key file libp2p writes (field 1: the key type,
// field 2: its bytes) for an Ed25519 key of exactly these bytes: 64, or the
// legacy 96 (seed, public key, public key again).
func keyFile(raw []byte) []byte {
	return append([]byte{0x08, byte(crypto.Ed25519), 0x12, byte(len(raw))}, raw...)
}
