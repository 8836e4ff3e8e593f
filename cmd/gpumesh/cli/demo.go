package cli

import (
	"context"
	"crypto/ecdsa"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"

	"github.com/gpumesh/gpumesh/ledger/anchor"
	"github.com/gpumesh/gpumesh/ledger/anchor/evm"
	"github.com/gpumesh/gpumesh/ledger/settle"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

//go:generate env GOOS=wasip1 GOARCH=wasm go build -trimpath -ldflags=-s -o demowork/demowork.wasm ./demowork

// demoWork is the demo's WASI module (demowork/main.go, built by go generate).
//
//go:embed demowork/demowork.wasm
var demoWork []byte

// demoJobDuration is the demo job's wall-clock limit: its cap (the price
// cap per device-hour over it) is what the researcher's escrow must cover.
const demoJobDuration = 10 * time.Minute

// demoFlags are gpumesh demo's flags.
type demoFlags struct {
	providers int
	workers   int
	points    int64
	keep      bool
}

func newDemoCmd(g *globals) *cobra.Command {
	f := &demoFlags{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "See it work: a local network in this process runs a job end to end",
		Long: `demo starts a small gpumesh network inside this one process: CPU providers
offering wasm work (local demo peers, labelled demo=local in their capacity
records) and a researcher node, all on loopback, on an in-process EVM
chain where the demo deploys the Settlement contract and a test stablecoin
and deposits the researcher's 10 test dollars into escrow. The researcher
submits a K-worker wasm job (a Monte Carlo estimate of pi), streams its
logs, shows the cluster chosen and why, the receipts both sides signed and
the voucher signed with each, the anchor transaction, and verifies one
receipt from scratch. Then each provider redeems its latest voucher once
and the demo prints what moved (balances, fees, escrow left, gas) and
checks it against the receipts, exiting 1 if it does not add up. With
--json the story goes to stderr and a report to stdout. Nothing leaves
this machine; the data dirs are removed at the end unless --keep.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.providers < 1 || f.providers > 32 || f.workers < 1 || f.workers > f.providers || f.points < 1 {
				return usageError{fmt.Errorf("want 1 <= --workers (%d) <= --providers (%d) <= 32 and --points > 0", f.workers, f.providers)}
			}
			return runDemo(cmd.Context(), g, f)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.providers, "providers", 3, "local demo providers to start")
	fl.IntVar(&f.workers, "workers", 2, "workers K of the demo job")
	fl.Int64Var(&f.points, "points", 4_000_000, "Monte Carlo points each worker throws")
	fl.BoolVar(&f.keep, "keep", false, "keep the nodes' data dirs (their ledgers, results, logs)")
	return cmd
}

// demoNet is the demo's network: its nodes, chain and folder.
type demoNet struct {
	root    string
	chain   *evm.Simulated
	money   *demoMoney
	nodes   []*node.Node // [0] is the researcher
	wallets map[*node.Node]common.Address
	keys    map[*node.Node]*ecdsa.PrivateKey
	log     *os.File
}

// close stops every node and the chain, and removes the folder unless keep.
func (d *demoNet) close(keep bool) {
	var wg sync.WaitGroup
	for _, n := range d.nodes {
		wg.Go(func() { _ = n.Close() })
	}
	wg.Wait()
	if d.chain != nil {
		_ = d.chain.Close()
	}
	if d.log != nil {
		_ = d.log.Close()
	}
	if !keep {
		_ = os.RemoveAll(d.root)
	}
}

// startDemoNet starts the chain, the researcher and the providers.
func startDemoNet(ctx context.Context, providers int) (*demoNet, error) {
	root, err := os.MkdirTemp("", "gpumesh-demo-")
	if err != nil {
		return nil, err
	}
	d := &demoNet{root: root}
	if d.log, err = os.Create(filepath.Join(root, "demo.log")); err != nil {
		return d, err
	}
	logger := slog.New(slog.NewTextHandler(d.log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	acfg := anchor.DefaultConfig()
	acfg.Simulated = true
	if d.chain, err = evm.NewSimulated(acfg); err != nil {
		return d, err
	}
	if d.money, err = deployDemoMoney(ctx, d.chain); err != nil {
		return d, err
	}
	d.wallets, d.keys = map[*node.Node]common.Address{}, map[*node.Node]*ecdsa.PrivateKey{}
	var mu sync.Mutex
	start := func(i int, boot []string) (*node.Node, error) {
		c, err := config.ForProfile("test")
		if err != nil {
			return nil, err
		}
		c.P2P.Bootstrap = boot
		c.Offer.Enabled = i > 0
		c.Offer.Attributes = []string{"demo=local"}
		c.Anchor.Simulated = true
		c.Log.Level = "info"
		d.money.configure(&c)
		dir := filepath.Join(root, "researcher")
		if i > 0 {
			dir = filepath.Join(root, "provider-"+strconv.Itoa(i))
		}
		sc, key, err := d.money.nodeChain(ctx, dir)
		if err != nil {
			return nil, err
		}
		n, err := node.New(node.Options{DataDir: dir, Config: c, Log: logger.With("node", filepath.Base(dir)), Chain: d.chain, SettlementChain: sc})
		if err != nil {
			return nil, err
		}
		if err := n.Start(ctx); err != nil {
			_ = n.Close()
			return nil, err
		}
		mu.Lock()
		d.wallets[n], d.keys[n] = settle.Address(key), key
		mu.Unlock()
		return n, nil
	}
	researcher, err := start(0, nil)
	if err != nil {
		return d, fmt.Errorf("researcher: %w", err)
	}
	d.nodes = append(d.nodes, researcher)
	var boot []string
	for _, a := range researcher.Network().ListenAddrs() {
		boot = append(boot, a.String())
	}
	var errs []error
	var wg sync.WaitGroup
	for i := 1; i <= providers; i++ {
		wg.Go(func() {
			n, err := start(i, boot)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("provider %d: %w", i, err))
				return
			}
			d.nodes = append(d.nodes, n)
		})
	}
	wg.Wait()
	return d, errors.Join(errs...)
}

// heardAll waits until the researcher has heard from every provider: a
// heartbeat, or (past the capacity topic's transition, when it hears no
// provider's heartbeat) a direct coordinate exchange.
func (d *demoNet) heardAll(ctx context.Context) error {
	for {
		heard := 0
		for _, n := range d.nodes[1:] {
			if _, _, ok := d.nodes[0].LastHeard(n.PeerID()); ok {
				heard++
			}
		}
		if heard == len(d.nodes)-1 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the researcher heard %d of %d providers: %w", heard, len(d.nodes)-1, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// demoReport is the demo's --json output.
type demoReport struct {
	Job        string         `json:"job"`
	State      string         `json:"state"`
	Workers    int            `json:"workers"`
	Providers  int            `json:"providers"`
	Receipts   []string       `json:"receipts"`
	AnchorTx   string         `json:"anchor_tx"`
	AnchorGas  uint64         `json:"anchor_gas"`
	Verified   bool           `json:"verified"`
	Settlement demoSettlement `json:"settlement"`
}

// runDemo runs the whole demo, writing what happens to g.stdout; with
// --json the story goes to stderr and one demoReport to stdout.
func runDemo(ctx context.Context, g *globals, f *demoFlags) (err error) {
	w := g.stdout
	story := *g // the narrative, and the verification's table, as text
	if g.json {
		w = g.stderr
		story.json, story.stdout = false, g.stderr
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	fmt.Fprintf(w, "gpumesh demo: starting %d local demo providers (CPU, wasm executor; labelled demo=local) and a researcher in this process, on loopback, anchoring and settling on an in-process EVM chain\n", f.providers)
	d, err := startDemoNet(ctx, f.providers)
	defer func() {
		d.close(f.keep)
		if f.keep {
			fmt.Fprintf(w, "\ndata dirs and logs kept in %s\n", d.root)
		}
	}()
	if err != nil {
		return err
	}
	if err := d.heardAll(ctx); err != nil {
		return err
	}
	researcher := d.nodes[0]
	fmt.Fprintf(w, "network up in %s: researcher %s, providers", time.Since(began).Round(time.Millisecond), researcher.PeerID())
	for _, n := range d.nodes[1:] {
		fmt.Fprintf(w, " %s", shortPeer(n.PeerID().String()))
	}
	fmt.Fprintln(w)
	if err := d.money.deposit(ctx, w, d.keys[researcher]); err != nil {
		return err
	}

	module := filepath.Join(d.root, "demowork.wasm")
	if err := os.WriteFile(module, demoWork, 0o644); err != nil {
		return err
	}
	spec := market.Spec{Workers: f.workers, Module: module, Args: []string{strconv.FormatInt(f.points, 10)}, Duration: p2p.Duration(demoJobDuration)}
	v, err := researcher.Market().Submit(ctx, spec)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\njob %s submitted: %d workers, wasm module %s (%d KiB), at most %s (escrow covers its cap)\n", v.ID, f.workers, v.Spec.Workload, len(demoWork)>>10, demoJobDuration)
	if v, err = followLocal(ctx, w, researcher.Market(), v.ID); err != nil {
		return err
	}
	fmt.Fprintln(w)
	printOutcome(w, v)
	if v.State != market.StateSucceeded {
		return fmt.Errorf("job %s failed: %s", v.ID, v.Error)
	}
	if err := printPi(w, v); err != nil {
		return err
	}
	ids, err := printDemoReceipts(w, researcher, v)
	if err != nil {
		return err
	}
	owed, peers, err := d.money.vouchers(w, researcher, v)
	if err != nil {
		return err
	}
	// Anchor the researcher's ledger now rather than at its next epoch.
	if err := researcher.Anchorer().Flush(ctx); err != nil {
		return fmt.Errorf("anchor: %w", err)
	}
	st := researcher.Anchoring()
	if st.Last == nil {
		return fmt.Errorf("anchor: none confirmed: %+v", st)
	}
	fmt.Fprintf(w, "\nanchored the researcher's ledger (%d entries) on the simulated chain (id %d): tx %s in block %d, %d gas\n",
		st.Anchored, st.Last.ChainID, st.Last.Tx, st.Last.Block, st.Last.GasUsed)
	// The same checks as `gpumesh receipts verify`, from the bytes the
	// researcher's node hands over, the chain checked directly.
	fmt.Fprintf(w, "\nverifying receipt %s from scratch (as `gpumesh receipts verify --require-anchor` does):\n", ids[0])
	if err := story.verifyOne(ctx, researcher, false, d.chain, verifyFlags{requireAnchor: true}, ids[0]); err != nil {
		return err
	}
	if err := d.money.redeem(ctx, w, d.nodes[1:], d.wallets, owed, peers); err != nil {
		return err
	}
	fmt.Fprintf(w, "\ndemo done in %s\n", time.Since(began).Round(time.Millisecond))
	if g.json {
		return g.printJSON(demoReport{Job: v.ID, State: string(v.State), Workers: f.workers, Providers: f.providers, Receipts: ids,
			AnchorTx: st.Last.Tx.String(), AnchorGas: st.Last.GasUsed, Verified: true, Settlement: d.money.out})
	}
	return nil
}

// followLocal prints a job's events and its log lines as they happen
// until it is final.
func followLocal(ctx context.Context, w io.Writer, m *market.Market, id string) (market.JobView, error) {
	from, logFrom := 0, int64(0)
	for {
		events, next, final, ok := m.Watch(id, from)
		if !ok {
			return market.JobView{}, fmt.Errorf("job %s vanished", id)
		}
		for _, e := range events {
			printEvent(w, e)
		}
		from += len(events)
		var logged <-chan struct{}
		for {
			page, changed, err := m.Logs(id, logFrom, market.MaxLogPageLines)
			if err != nil {
				break // the events go on; a broken page only stops the lines
			}
			for _, l := range page.Lines {
				printEvent(w, market.Event{At: l.At, Kind: "log", Text: fmt.Sprintf("[%d] %s", l.Rank, termSafe(l.Text))})
			}
			logFrom, logged = page.Next, changed
			if len(page.Lines) == 0 {
				break
			}
		}
		if final {
			v, _ := m.Job(id)
			return v, nil
		}
		select {
		case <-next:
		case <-logged:
		case <-ctx.Done():
			return market.JobView{}, ctx.Err()
		}
	}
}

// printPi combines the ranks' counts into the job's answer.
func printPi(w io.Writer, v market.JobView) error {
	var samples, inside int64
	for r := range v.Spec.Workers {
		b, err := os.ReadFile(filepath.Join(v.Results, "rank-"+strconv.Itoa(r), "pi.json"))
		if err != nil {
			return fmt.Errorf("rank %d's output: %w", r, err)
		}
		var part struct{ Samples, Inside int64 }
		if err := json.Unmarshal(b, &part); err != nil || part.Samples < 1 {
			return fmt.Errorf("rank %d's output %q: %v", r, b, err)
		}
		samples += part.Samples
		inside += part.Inside
	}
	fmt.Fprintf(w, "\nthe cluster's answer: pi ~ %.6f from %d points\n", 4*float64(inside)/float64(samples), samples)
	return nil
}

// printDemoReceipts lists the job's receipts in the researcher's ledger and
// returns their IDs.
func printDemoReceipts(w io.Writer, researcher *node.Node, v market.JobView) ([]string, error) {
	entries, err := researcher.Ledger().ByJob(v.ID)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("no receipts for job %s in the researcher's ledger", v.ID)
	}
	fmt.Fprintf(w, "\nreceipts, signed by each provider and countersigned by the researcher, in both ledgers:\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENTRY\tRECEIPT\tPROVIDER\tRANK\tGPU TIME\tAMOUNT\tFEES (EACH SIDE)\tSTATUS")
	var ids []string
	for _, e := range entries {
		r, err := e.Receipt()
		if err != nil {
			return nil, err
		}
		ids = append(ids, r.ID)
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t$%.6f\t$%.6f\t%s\n", e.Index, r.ID[:12], shortPeer(r.Provider), r.Rank,
			time.Duration(r.GPUMillis)*time.Millisecond, float64(r.Amount)/1e6, float64(r.ProviderFee)/1e6, r.Status)
	}
	tw.Flush()
	return ids, nil
}
