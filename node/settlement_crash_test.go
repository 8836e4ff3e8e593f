package node_test

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/settle"
	"github.com/gpumesh/gpumesh/ledger/settle/contracts/contractstest"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// settleCrashEnv carries the crash child's settlement (settleCrashSpec, JSON).
const settleCrashEnv = "GPUMESH_SETTLE_CRASH"

// settleCrashSpec is what the parent tells the crash child.
type settleCrashSpec struct {
	Dir       string `json:"dir"`
	URL       string `json:"url"`
	Contract  string `json:"contract"`
	Token     string `json:"token"`
	ChainID   uint64 `json:"chain_id"`
	Requester string `json:"requester"` // hex key: signs the voucher
	Gas       string `json:"gas"`       // hex key: pays for the redemption
}

// config is the provider's: the test profile, offering nothing, settling on the spec's contract.
func (s settleCrashSpec) config(t testing.TB) config.Config {
	t.Helper()
	c, err := config.ForProfile("test")
	if err != nil {
		t.Fatal(err)
	}
	c.Offer.Enabled = false
	c.GPU.SampleInterval = p2p.Duration(time.Minute)
	c.GPU.History = p2p.Duration(time.Minute)
	c.Settlement.Contract, c.Settlement.Token, c.Settlement.ChainID = s.Contract, s.Token, s.ChainID
	return c
}

// chain opens the spec's contract as a node does, sending with the gas key.
func (s settleCrashSpec) chain(t testing.TB) node.SettlementChain {
	t.Helper()
	c := s.config(t)
	c.Anchor.RPCURL = s.URL
	k, err := ethcrypto.HexToECDSA(s.Gas)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := node.OpenSettlementChain(context.Background(), c, k)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// stallAfterRedeem submits a redemption and, once it is mined, says so on
// stdout and never returns: the node cannot record it before it is killed.
type stallAfterRedeem struct{ node.SettlementChain }

func (s stallAfterRedeem) Redeem(ctx context.Context, sv *settle.SignedVoucher) (common.Hash, error) {
	h, err := s.SettlementChain.Redeem(ctx, sv)
	if err != nil {
		fmt.Printf("redeem-error %v\n", err)
		return h, err
	}
	fmt.Printf("submitted %s\n", h.Hex())
	<-ctx.Done() // the parent kills the process first
	return common.Hash{}, ctx.Err()
}

// countRedeems counts the redemptions submitted through it.
type countRedeems struct {
	node.SettlementChain
	n *atomic.Int32
}

func (c countRedeems) Redeem(ctx context.Context, sv *settle.SignedVoucher) (common.Hash, error) {
	c.n.Add(1)
	return c.SettlementChain.Redeem(ctx, sv)
}

// TestSettleCrashChild is the child of TestSettlementCrashBetweenRedeemAndRecord:
// a provider node holding one voucher (seeded with its receipt on first
// start) redeems it, and stalls once the redemption is mined, before
// recording it. It does nothing unless run by that test.
func TestSettleCrashChild(t *testing.T) {
	raw := os.Getenv(settleCrashEnv)
	if raw == "" {
		t.Skip("run by TestSettlementCrashBetweenRedeemAndRecord")
	}
	var s settleCrashSpec
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatal(err)
	}
	self, _, err := node.LoadOrCreateIdentity(filepath.Join(s.Dir, node.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.New(node.Options{DataDir: s.Dir, Config: s.config(t), SettlementChain: stallAfterRedeem{s.chain(t)},
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
	if err == nil {
		err = n.Start(context.Background())
	}
	if err != nil {
		fmt.Printf("start-error %v\n", err)
		os.Exit(3)
	}
	if err := seedHeldVoucher(t, n, self, s); err != nil {
		fmt.Printf("seed-error %v\n", err)
		os.Exit(3)
	}
	fmt.Println("seeded")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = n.Redeem(ctx, true)
	fmt.Printf("redeem-returned %v\n", err)
	os.Exit(4)
}

// seedHeldVoucher logs a countersigned receipt with n as provider and the
// voucher the spec's requester signed for it (and n's signed work), as the
// market would.
func seedHeldVoucher(t testing.TB, n *node.Node, self crypto.PrivKey, s settleCrashSpec) error {
	signed, _, err := crashReceipt(self, crashParty(t), "settle-crash")
	if err != nil {
		return err
	}
	v, err := ledger.Prepare(signed)
	if err != nil {
		return err
	}
	rc := v.Receipt()
	reqKey, err := ethcrypto.HexToECDSA(s.Requester)
	if err != nil {
		return err
	}
	provKey, err := settle.LoadWallet(filepath.Join(n.DataDir(), settle.WalletFile))
	if err != nil {
		return err
	}
	d := settle.Domain{ChainID: s.ChainID, Contract: common.HexToAddress(s.Contract)}
	token, payer, payee := common.HexToAddress(s.Token), settle.Address(reqKey), settle.Address(provKey)
	units, err := settle.ToUnits(rc.Amount, settle.MicrosDecimals)
	if err != nil {
		return err
	}
	sv, err := settle.SignVoucher(reqKey, d, settle.NextVoucher(nil, payer, payee, token, units))
	if err != nil {
		return err
	}
	w, err := settle.WorkFor(&rc, token, settle.MicrosDecimals, payer)
	if err != nil {
		return err
	}
	sw, err := settle.SignWork(provKey, d, w)
	if err != nil {
		return err
	}
	vb, err := sv.Encode()
	if err != nil {
		return err
	}
	wb, err := sw.Encode()
	if err != nil {
		return err
	}
	rec := ledger.VoucherRecord{Receipt: rc.ID, Role: ledger.VoucherHeld, Channel: market.Channel(d, payer, payee, token),
		Nonce: sv.Voucher.Nonce, Cumulative: sv.Voucher.Cumulative.String(), Amount: rc.Amount, Voucher: vb, Work: wb}
	_, err = n.Ledger().AppendWithVouchers(context.Background(), []ledger.Verified{v}, []ledger.VoucherRecord{rec})
	return err
}

// TestSettlementCrashBetweenRedeemAndRecord: a provider killed (-9, a
// real subprocess) after its redemption is mined and before it recorded
// it loses no money and submits nothing twice on restart: the chain is
// asked what it holds, the redemption is recorded as done, and the
// provider holds exactly the voucher less its fee.
func TestSettlementCrashBetweenRedeemAndRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("a subprocess on the dev chain")
	}
	rig := contractstest.Deploy(t, time.Hour)
	reqKey := contractstest.FundedKey(t, rig.URL)
	const deposit = 1_000_000_000
	rig.Deposit(t, reqKey, deposit)
	spec := settleCrashSpec{
		Dir: t.TempDir(), URL: rig.URL, Contract: rig.Owner.Address().Hex(), Token: rig.Token.Hex(), ChainID: rig.ChainID(),
		Requester: hex.EncodeToString(ethcrypto.FromECDSA(reqKey)), Gas: hex.EncodeToString(ethcrypto.FromECDSA(contractstest.FundedKey(t, rig.URL))),
	}
	raw, _ := json.Marshal(spec)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSettleCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), settleCrashEnv+"="+string(raw))
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(90 * time.Second)
	var tx string
	for tx == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				_ = cmd.Wait()
				t.Fatalf("child ended before it submitted\nstderr:\n%s", stderr.String())
			}
			if strings.HasPrefix(line, "submitted ") {
				tx = strings.TrimPrefix(line, "submitted ")
			} else if strings.Contains(line, "error") {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("child: %s\nstderr:\n%s", line, stderr.String())
			}
		case <-deadline:
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("child did not submit a redemption in time\nstderr:\n%s", stderr.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	t.Logf("child killed after redemption %s was mined", tx)

	// Restart in this process on the same data dir, counting submissions.
	var submits atomic.Int32
	n, err := node.New(node.Options{DataDir: spec.Dir, Config: spec.config(t), SettlementChain: countRedeems{spec.chain(t), &submits},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	held, err := n.Ledger().LatestVouchers(ledger.VoucherHeld)
	if err != nil || len(held) != 1 {
		t.Fatalf("held vouchers after the crash: %+v, %v; want the one seeded", held, err)
	}
	if r, found, err := n.Ledger().RedemptionOf(held[0].Channel); err != nil || !found || r.State != ledger.RedeemSubmitting {
		t.Fatalf("redemption record after the kill: %+v found %v, %v; want one left submitting", r, found, err)
	}
	cum, _ := new(big.Int).SetString(held[0].Cumulative, 10)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := n.Redeem(ctx, true)
	if err != nil || len(res) != 1 || !res[0].Redeemed || !strings.Contains(res[0].Reason, "unrecorded submission") {
		t.Fatalf("redeem after restart: %+v, %v; want the unrecorded submission found on chain", res, err)
	}
	if got := submits.Load(); got != 0 {
		t.Errorf("%d redemptions submitted after restart, want 0", got)
	}
	if r, _, _ := n.Ledger().RedemptionOf(held[0].Channel); r.State != ledger.RedeemDone || r.Cumulative != cum.String() {
		t.Errorf("redemption record %+v, want done at %s", r, cum)
	}
	if res, err := n.Redeem(ctx, true); err != nil || len(res) != 0 || submits.Load() != 0 {
		t.Errorf("a second redeem: %+v, %v (%d submitted); want nothing to do", res, err, submits.Load())
	}
	fee := feeOf(cum)
	if got, want := rig.Balance(t, wallet(t, n)), new(big.Int).Sub(cum, fee); got.Cmp(want) != 0 {
		t.Errorf("provider holds %s, want %s: paid once, less its fee", got, want)
	}
	if got, want := rig.Balance(t, rig.Treasury), new(big.Int).Mul(fee, big.NewInt(2)); got.Cmp(want) != 0 {
		t.Errorf("treasury holds %s, want %s", got, want)
	}
	if got, want := rig.Escrow(t, settle.Address(reqKey)), new(big.Int).Sub(big.NewInt(deposit), new(big.Int).Add(cum, fee)); got.Cmp(want) != 0 {
		t.Errorf("escrow %s, want %s: charged once", got, want)
	}
}
