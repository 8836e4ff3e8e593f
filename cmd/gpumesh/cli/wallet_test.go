package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/gpumesh/gpumesh/ledger/settle"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
)

func runWallet(t *testing.T, dir string, args ...string) (walletOut, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append([]string{"wallet", "--json", "--data-dir", dir}, args...)
	if code := Run(context.Background(), args, &out, &errOut); code != ExitOK {
		t.Fatalf("wallet: exit %d: %s", code, errOut.String())
	}
	var w walletOut
	if err := json.Unmarshal(out.Bytes(), &w); err != nil {
		t.Fatalf("wallet --json: %v: %s", err, out.String())
	}
	return w, errOut.String()
}

func TestWalletCommandCreatesThenShows(t *testing.T) {
	dir := t.TempDir()
	first, _ := runWallet(t, dir)
	if !first.Created || !common.IsHexAddress(first.Address) {
		t.Fatalf("first run: %+v, want a created wallet with an address", first)
	}
	if !strings.HasPrefix(first.Settlement, "off: ") {
		t.Errorf("settlement %q, want off by default", first.Settlement)
	}
	second, _ := runWallet(t, dir)
	if second.Created || second.Address != first.Address {
		t.Errorf("second run: %+v, want the same wallet, not created", second)
	}
	key, err := settle.LoadWallet(filepath.Join(dir, settle.WalletFile))
	if err != nil || settle.Address(key).Hex() != first.Address {
		t.Errorf("wallet file holds another key (%v)", err)
	}
	var human, errOut bytes.Buffer
	if code := Run(context.Background(), []string{"wallet", "--data-dir", dir}, &human, &errOut); code != ExitOK {
		t.Fatalf("wallet: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(human.String(), first.Address) || !strings.Contains(human.String(), "settlement off") {
		t.Errorf("human output %q lacks the address or the settlement state", human.String())
	}
}

// fakeBalances is a chain that knows one wallet's balances.
type fakeBalances struct{ node.SettlementChain }

func (fakeBalances) Balances(context.Context, common.Address, common.Address) (settle.Balances, error) {
	return settle.Balances{Wallet: big.NewInt(12_500_000), Escrow: big.NewInt(3_000_000), PendingWithdrawal: big.NewInt(1_000_000), Stake: big.NewInt(0)}, nil
}

func TestWalletCommandBalances(t *testing.T) {
	dir := t.TempDir()
	cfg := "[anchor]\nchain_id = 31337\n[settlement]\ncontract = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"\ntoken = \"0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512\"\n"
	if err := os.WriteFile(filepath.Join(dir, config.FileName), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	w, _ := runWallet(t, dir)
	if w.Settlement != "on" || w.Balances != nil || !strings.Contains(w.BalancesError, "anchor.rpc_url") {
		t.Errorf("without a chain: %+v, want settlement on and a reason for no balances naming anchor.rpc_url", w)
	}
	fake := func(context.Context, config.Config, *ecdsa.PrivateKey) (settle.BalanceReader, func(), error) {
		return fakeBalances{}, func() {}, nil
	}
	w, err := readWallet(context.Background(), dir, "", fake)
	if err != nil || w.Balances == nil || w.Balances.Escrow.Int64() != 3_000_000 || w.ChainID != 31337 || w.TokenDecimals != 6 {
		t.Fatalf("with a chain: %+v, %v", w, err)
	}
	var human bytes.Buffer
	printWallet(&globals{stdout: &human}, w)
	for _, want := range []string{"wallet   12.5", "escrow   3 (1 asked back", "stake    0"} {
		if !strings.Contains(human.String(), want) {
			t.Errorf("human output lacks %q:\n%s", want, human.String())
		}
	}
}
