// Package evmtest gives tests the local EVM dev chain that scripts/test.sh
// starts (Foundry's anvil, at GPUMESH_EVM_RPC) and funded accounts on it.
package evmtest

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	ethcrypto "github.com/ethereum/go-ethereum/crypto"
)

// AnvilKey is anvil's first dev account key (public knowledge: anvil funds
// it at start).
const AnvilKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

// RPC returns the dev chain's JSON-RPC URL from GPUMESH_EVM_RPC. It skips
// the test when there is none, or when it does not answer; with
// GPUMESH_REQUIRE_EVM=1 (set by scripts/test.sh once the chain is up) it
// fails the test instead.
func RPC(tb testing.TB) string {
	tb.Helper()
	required := os.Getenv("GPUMESH_REQUIRE_EVM") == "1"
	u := os.Getenv("GPUMESH_EVM_RPC")
	if u == "" {
		msg := "GPUMESH_EVM_RPC is not set: no EVM dev chain to anchor on (scripts/test.sh starts anvil and sets it)"
		if required {
			tb.Fatal(msg + ", yet GPUMESH_REQUIRE_EVM=1")
		}
		tb.Skip(msg)
	}
	if _, err := call(u, "eth_chainId", "[]"); err != nil {
		if required {
			tb.Fatalf("the dev chain at %s does not answer (GPUMESH_REQUIRE_EVM=1): %v", u, err)
		}
		tb.Skipf("the dev chain at %s does not answer: %v", u, err)
	}
	return u
}

// FundedKey makes a fresh account holding 10 ETH on the dev chain at rpc
// (anvil's anvil_setBalance) and returns its private key in hex: one per
// node, so that nodes never race for the same nonce.
func FundedKey(tb testing.TB, rpc string) string {
	tb.Helper()
	k, err := ethcrypto.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	addr := ethcrypto.PubkeyToAddress(k.PublicKey).Hex()
	if _, err := call(rpc, "anvil_setBalance", fmt.Sprintf(`["%s","0x8AC7230489E80000"]`, addr)); err != nil {
		tb.Fatalf("fund %s: %v", addr, err)
	}
	return hex.EncodeToString(ethcrypto.FromECDSA(k))
}

// call makes one JSON-RPC call and returns its result.
func call(rpc, method, params string) (json.RawMessage, error) {
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":%q,"params":%s}`, method, params)
	resp, err := http.Post(rpc, "application/json", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	if out.Error != nil {
		return nil, fmt.Errorf("%s: %s", method, out.Error.Message)
	}
	return out.Result, nil
}
