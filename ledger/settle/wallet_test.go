package settle

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWalletCreatedOnceThenLoaded(t *testing.T) {
	path := filepath.Join(t.TempDir(), WalletFile)
	if _, err := LoadWallet(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadWallet before creation: %v, want ErrNotExist", err)
	}
	k1, created, err := LoadOrCreateWallet(path)
	if err != nil || !created {
		t.Fatalf("first use: created %v, %v", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	k2, created, err := LoadOrCreateWallet(path)
	if err != nil || created {
		t.Fatalf("second use: created %v, %v", created, err)
	}
	if Address(k1) != Address(k2) {
		t.Errorf("second use gave %s, first %s", Address(k2), Address(k1))
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*"))
	if len(left) != 0 {
		t.Errorf("temp files left behind: %v", left)
	}
}

func TestWalletLosesNoRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), WalletFile)
	// Two first uses that both saw no file: the second links over nothing
	// and takes the first's key.
	k1, _, err := LoadOrCreateWallet(path)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(filepath.Dir(path), "other")
	if err := os.WriteFile(tmp, []byte("00"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(tmp, path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("link over an existing wallet: %v, want ErrExist (the race guard relies on it)", err)
	}
	k2, err := LoadWallet(path)
	if err != nil || Address(k1) != Address(k2) {
		t.Errorf("wallet changed: %v", err)
	}
}

func TestWalletCorruptIsNotReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), WalletFile)
	if err := os.WriteFile(path, []byte("not a key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateWallet(path); err == nil {
		t.Fatal("corrupt wallet accepted")
	}
	if b, _ := os.ReadFile(path); string(b) != "not a key" {
		t.Errorf("corrupt wallet overwritten with %q", b)
	}
}

func TestWalletPermissionsFixed(t *testing.T) {
	path := filepath.Join(t.TempDir(), WalletFile)
	if _, _, err := LoadOrCreateWallet(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadWallet(path); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v after load, want 0600", fi.Mode().Perm())
	}
}

func TestConfigValidate(t *testing.T) {
	good := DefaultConfig()
	if err := good.Validate("settlement"); err != nil {
		t.Errorf("defaults: %v", err)
	}
	if good.Enabled() {
		t.Error("settlement on by default")
	}
	on := good
	on.Contract = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
	on.Token = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
	if err := on.Validate("settlement"); err != nil {
		t.Errorf("good config: %v", err)
	}
	if on.Threshold() != 10_000_000 {
		t.Errorf("threshold %d micros, want 10000000", on.Threshold())
	}
	for name, c := range map[string]Config{
		"bad contract":       {Contract: "0x12", TokenDecimals: 6},
		"zero contract":      {Contract: "0x0000000000000000000000000000000000000000", TokenDecimals: 6},
		"bad token":          {Token: "usdc", TokenDecimals: 6},
		"few decimals":       {TokenDecimals: 2},
		"native with 6":      {Contract: on.Contract, TokenDecimals: 6, RedeemThreshold: 1},
		"negative threshold": {TokenDecimals: 6, RedeemThreshold: -1},
		"short interval":     {TokenDecimals: 6, RedeemInterval: 1},
		"never redeems":      {Contract: on.Contract, Token: on.Token, TokenDecimals: 6},
	} {
		if err := c.Validate("settlement"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
