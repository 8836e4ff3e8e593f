package settle

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/gpumesh/gpumesh/internal/atomicfile"
)

// WalletFile is the wallet key's file name inside the data dir.
const WalletFile = "wallet.key"

// maxWalletFile bounds what is read from the wallet file.
const maxWalletFile = 256

// LoadOrCreateWallet reads the secp256k1 wallet key at path, or creates one
// when the file does not exist: written crash-safe (temp file, sync, rename,
// as the identity key) with mode 0600 to a private name, then linked into
// place, which fails if another process created the wallet meanwhile, so
// that two first uses agree on one key. A file that exists but holds no key
// is an error, never replaced: the old key may be owed money.
func LoadOrCreateWallet(path string) (key *ecdsa.PrivateKey, created bool, err error) {
	key, err = LoadWallet(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	key, err = crypto.GenerateKey()
	if err != nil {
		return nil, false, fmt.Errorf("generate wallet: %w", err)
	}
	var suffix [8]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return nil, false, fmt.Errorf("generate wallet: %w", err)
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".new-"+hex.EncodeToString(suffix[:]))
	data := []byte(hex.EncodeToString(crypto.FromECDSA(key)) + "\n")
	if err := atomicfile.WriteFile(tmp, data, 0o600); err != nil {
		return nil, false, fmt.Errorf("write wallet %s: %w", path, err)
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		key, err := LoadWallet(path) // another process won the race: use its key
		return key, false, err
	} else if err != nil {
		return nil, false, fmt.Errorf("write wallet %s: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return nil, false, fmt.Errorf("write wallet %s: %w", path, err)
	}
	return key, true, nil
}

// LoadWallet reads the wallet key at path without creating one; the error
// wraps fs.ErrNotExist when there is none yet. A key file readable by others
// is made 0600.
func LoadWallet(path string) (*ecdsa.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read wallet: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxWalletFile+1))
	if err != nil {
		return nil, fmt.Errorf("read wallet: %w", err)
	}
	key, kerr := crypto.HexToECDSA(string(bytes.TrimSpace(data)))
	if len(data) > maxWalletFile || kerr != nil {
		return nil, fmt.Errorf("wallet key %s is corrupted (not a hex secp256k1 key); restore it from a backup: vouchers signed to or by it are redeemable only with it", path)
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return nil, fmt.Errorf("wallet key %s is readable by others and cannot be fixed: %w", path, err)
		}
	}
	return key, nil
}

// Address is the wallet address of key.
func Address(key *ecdsa.PrivateKey) common.Address {
	return crypto.PubkeyToAddress(key.PublicKey)
}

// syncDir makes a rename or link in dir durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" { // Windows cannot sync a folder
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
