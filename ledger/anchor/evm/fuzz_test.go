package evm

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/gpumesh/gpumesh/ledger/anchor"
)

// FuzzParseKey: any text as the anchoring key, from the config file or
// the environment. A key that parses is the secp256k1 scalar those hex
// digits spell (the environment's when set); an error wraps
// anchor.ErrNoKey and never quotes either value.
func FuzzParseKey(f *testing.F) {
	const k = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
	f.Add(k, "")
	f.Add("0x"+k, "")
	f.Add("0X"+strings.ToUpper(k), "")
	f.Add("", "  "+k+"\n")
	f.Add(k, "not hex")
	f.Add(strings.Repeat("0", 64), "")
	f.Add(strings.Repeat("f", 64), "")
	f.Add(k[:63], "")
	f.Fuzz(func(t *testing.T, key, env string) {
		cfg := anchor.Config{Key: anchor.Secret(key)}
		getenv := func(name string) string {
			if name == anchor.DefaultKeyEnv {
				return env
			}
			return ""
		}
		priv, err := parseKey(cfg, getenv)
		if err != nil {
			if priv != nil || !errors.Is(err, anchor.ErrNoKey) {
				t.Fatalf("parseKey: %v, %v", priv, err)
			}
			for _, secret := range []string{strings.TrimSpace(key), strings.TrimSpace(env)} {
				if len(secret) >= 8 && strings.Contains(err.Error(), secret) {
					t.Fatalf("the error quotes the key: %v", err)
				}
			}
			return
		}
		used := strings.TrimSpace(env)
		if used == "" {
			used = key
		}
		digits := strings.TrimPrefix(strings.TrimPrefix(used, "0x"), "0X")
		want, ok := new(big.Int).SetString(digits, 16)
		if !ok || priv.D.Cmp(want) != 0 {
			t.Fatalf("key %x from %q", priv.D, used)
		}
	})
}
