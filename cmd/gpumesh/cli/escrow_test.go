package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ethcrypto "github.com/ethereum/go-ethereum/crypto"

	"github.com/gpumesh/gpumesh/ledger/settle"
	"github.com/gpumesh/gpumesh/ledger/settle/contracts/contractstest"
	"github.com/gpumesh/gpumesh/node/config"
)

// chainDir is a data dir whose config names rig's contract and token and
// whose wallet holds ETH for gas and tokens test stablecoin units.
func chainDir(t *testing.T, rig *contractstest.Rig, tokens int64) (dir string, wallet string) {
	t.Helper()
	dir = t.TempDir()
	key := contractstest.FundedKey(t, rig.URL)
	if err := os.WriteFile(filepath.Join(dir, settle.WalletFile), []byte(hex.EncodeToString(ethcrypto.FromECDSA(key))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("[anchor]\nrpc_url = %q\nchain_id = %d\n[settlement]\ncontract = %q\ntoken = %q\n",
		rig.URL, rig.ChainID(), rig.Owner.Address().Hex(), rig.Token.Hex())
	if err := os.WriteFile(filepath.Join(dir, config.FileName), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := settle.Address(key)
	if tokens > 0 {
		rig.Mint(t, addr, tokens)
	}
	return dir, addr.Hex()
}

// runChain runs a chain command with --json and returns its output, or
// the error text when it fails.
func runChain(t *testing.T, dir string, args ...string) (chainOut, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append(args, "--json", "--data-dir", dir)
	if code := Run(context.Background(), args, &out, &errOut); code != ExitOK {
		return chainOut{}, errOut.String()
	}
	var o chainOut
	if err := json.Unmarshal(out.Bytes(), &o); err != nil {
		t.Fatalf("%v --json: %v: %s", args, err, out.String())
	}
	return o, ""
}

// TestEscrowCommands on the dev chain: a deposit in dollars moves the
// token's units; a withdrawal asks, says when it is ready, refuses to
// complete before, and completes after the notice; bad amounts are refused
// before anything is sent, named.
func TestEscrowCommands(t *testing.T) {
	rig := contractstest.Deploy(t, time.Hour)
	dir, wallet := chainDir(t, rig, 5_000_000)
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"escrow", "deposit", "abc"}, `amount "abc"`},
		{[]string{"escrow", "deposit", "1e3"}, `amount "1e3"`},
		{[]string{"escrow", "deposit", "0"}, "must be more than 0"},
		{[]string{"escrow", "deposit", "0.0000001"}, `amount "0.0000001"`},
		{[]string{"escrow", "deposit", "6"}, "holds 5"},
		{[]string{"escrow", "withdraw"}, "escrow is empty"},
		{[]string{"escrow", "deposit"}, "accepts 1 arg"},
	} {
		if _, msg := runChain(t, dir, bad.args...); !strings.Contains(msg, bad.want) {
			t.Errorf("%v: error %q, want it to say %q", bad.args, msg, bad.want)
		}
	}
	w := settle.Address(mustKey(t, dir))
	if got := rig.Escrow(t, w); got.Sign() != 0 {
		t.Fatalf("escrow %s after refused commands, want 0", got)
	}
	o, msg := runChain(t, dir, "escrow", "deposit", "3.5")
	if msg != "" || o.Action != "deposited" || o.Units != "3500000" || o.Wallet != wallet || o.Balances == nil || o.Balances.Escrow.Int64() != 3_500_000 || o.Balances.Wallet.Int64() != 1_500_000 {
		t.Fatalf("deposit 3.5: %+v %s", o, msg)
	}
	if _, msg := runChain(t, dir, "escrow", "withdraw", "4"); !strings.Contains(msg, "escrow holds 3.5") {
		t.Errorf("withdraw over the escrow: %q", msg)
	}
	o, msg = runChain(t, dir, "escrow", "withdraw", "1.25")
	if msg != "" || o.Action != "withdraw_requested" || o.Units != "1250000" || o.ReadyAt == nil {
		t.Fatalf("withdraw 1.25: %+v %s", o, msg)
	}
	o, msg = runChain(t, dir, "escrow", "withdraw")
	if msg != "" || o.Action != "withdraw_waiting" || o.ReadyAt == nil || !strings.Contains(o.Message, "ready at") {
		t.Fatalf("withdraw before the notice: %+v %s", o, msg)
	}
	rig.IncreaseTime(t, time.Hour+time.Second)
	o, msg = runChain(t, dir, "escrow", "withdraw")
	if msg != "" || o.Action != "withdrawn" || o.Units != "1250000" || o.Balances.Escrow.Int64() != 2_250_000 || o.Balances.Wallet.Int64() != 2_750_000 {
		t.Fatalf("withdraw after the notice: %+v %s", o, msg)
	}
	var human, errOut bytes.Buffer
	if code := Run(context.Background(), []string{"escrow", "deposit", "$0.25", "--data-dir", dir}, &human, &errOut); code != ExitOK ||
		!strings.Contains(human.String(), "deposited 0.25 into escrow") || !strings.Contains(human.String(), "escrow   2.5") {
		t.Errorf("human deposit: exit %d\n%s%s", code, human.String(), errOut.String())
	}
}

// TestStakeCommands on the dev chain: stake in dollars, unstake asks and
// completes after the notice; over-asking refused before any write.
func TestStakeCommands(t *testing.T) {
	rig := contractstest.Deploy(t, time.Hour)
	dir, _ := chainDir(t, rig, 2_000_000)
	if _, msg := runChain(t, dir, "stake", "3"); !strings.Contains(msg, "holds 2 of the stake token") {
		t.Errorf("stake over the balance: %q", msg)
	}
	if _, msg := runChain(t, dir, "unstake"); !strings.Contains(msg, "nothing is staked") {
		t.Errorf("unstake with nothing staked: %q", msg)
	}
	o, msg := runChain(t, dir, "stake", "1.5")
	if msg != "" || o.Action != "staked" || o.Units != "1500000" || o.Balances.Stake.Int64() != 1_500_000 {
		t.Fatalf("stake 1.5: %+v %s", o, msg)
	}
	if _, msg := runChain(t, dir, "unstake", "2"); !strings.Contains(msg, "the stake is 1.5") {
		t.Errorf("unstake over the stake: %q", msg)
	}
	if o, msg = runChain(t, dir, "unstake"); msg != "" || o.Action != "unstake_requested" || o.Units != "1500000" || o.ReadyAt == nil {
		t.Fatalf("unstake: %+v %s", o, msg)
	}
	if o, msg = runChain(t, dir, "unstake"); msg != "" || o.Action != "unstake_waiting" {
		t.Fatalf("unstake before the notice: %+v %s", o, msg)
	}
	rig.IncreaseTime(t, time.Hour+time.Second)
	if o, msg = runChain(t, dir, "unstake"); msg != "" || o.Action != "unstaked" || o.Units != "1500000" || o.Balances.Stake.Sign() != 0 || o.Balances.Wallet.Int64() != 2_000_000 {
		t.Fatalf("unstake after the notice: %+v %s", o, msg)
	}
}

// mustKey loads dir's wallet.
func mustKey(t *testing.T, dir string) *ecdsa.PrivateKey {
	t.Helper()
	k, err := settle.LoadWallet(filepath.Join(dir, settle.WalletFile))
	if err != nil {
		t.Fatal(err)
	}
	return k
}
