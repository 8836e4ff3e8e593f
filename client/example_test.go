package client_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gpumesh/gpumesh/client"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// Example starts three CPU providers on loopback, dials them with a
// client, runs a 2-worker wasm job, follows it to the end, fetches its
// outputs and verifies its receipts.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bootstrap, stop, err := startProviders(ctx, 3) // a network to join
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()
	if err := research(ctx, bootstrap); err != nil {
		fmt.Println(err)
	}
	// Output:
	// offers: 3
	// [0] args=["pi"]
	// [0] rank=0
	// [1] args=["pi"]
	// [1] rank=1
	// job: succeeded on 2 workers
	// rank-0/out.txt: HELLO FROM A RESEARCHER
	// rank-1/out.txt: HELLO FROM A RESEARCHER
	// receipt of rank 0 verified: true
	// receipt of rank 1 verified: true
}

// research is what a researcher's program does with a client.
func research(ctx context.Context, bootstrap []string) error {
	c, err := client.Dial(ctx, client.Options{
		Network:   "local",
		Bootstrap: bootstrap,
		Listen:    []string{"/ip4/127.0.0.1/tcp/0"},
		// Providers sharing one loaded machine cannot be timed fairly:
		// skip the proof-of-compute check before awards here (a client
		// on a real network keeps the default, market.VerifyAll).
		Configure: func(c *config.Config) { c.Market.VerifyClass = market.VerifyOff },
	})
	if err != nil {
		return err
	}
	defer c.Close()

	found, err := c.WaitOffers(ctx, "pool=cpu", 3)
	if err != nil {
		return err
	}
	fmt.Println("offers:", len(found.Offers))

	// The "copy" test program uppercases /inputs/in.txt into
	// /outputs/out.txt. Inputs are files here; each worker sees
	// /inputs/<base name>.
	tmp, err := os.MkdirTemp("", "gpumesh-client-example-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	in := filepath.Join(tmp, "in.txt")
	if err := os.WriteFile(in, []byte("hello from a researcher\n"), 0o644); err != nil {
		return err
	}
	module, err := wasmModule("copy")
	if err != nil {
		return err
	}
	job, err := c.SubmitWasm(ctx, market.Spec{Workers: 2, Inputs: []string{in}, Args: []string{"pi"}}, module)
	if err != nil {
		return err
	}

	var lines []string
	for u, err := range c.Follow(ctx, job.ID) {
		if err != nil {
			return err
		}
		if u.Log != nil && u.Log.Stream == "stdout" {
			lines = append(lines, fmt.Sprintf("[%d] %s", u.Log.Rank, u.Log.Text))
		}
	}
	slices.Sort(lines) // the two workers' lines interleave as they please
	fmt.Println(strings.Join(lines, "\n"))

	v, err := c.Wait(ctx, job.ID)
	if err != nil {
		return err
	}
	fmt.Println("job:", v.State, "on", len(v.Cluster), "workers")
	if v.State != market.StateSucceeded {
		return errors.New(v.Error)
	}

	out := filepath.Join(tmp, "results")
	if err := c.Results(ctx, job.ID, out); err != nil {
		return err
	}
	for r := range 2 {
		b, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("rank-%d", r), "out.txt"))
		if err != nil {
			return err
		}
		fmt.Printf("rank-%d/out.txt: %s", r, b)
	}

	proofs, err := c.Receipts(ctx, job.ID)
	if err != nil {
		return err
	}
	slices.SortFunc(proofs, func(a, b api.ReceiptProof) int { return a.Receipt.Rank - b.Receipt.Rank })
	for _, p := range proofs {
		rep, err := c.Verify(ctx, p) // signatures, ledger entry, inclusion proof
		if err != nil {
			return err
		}
		fmt.Println("receipt of rank", p.Receipt.Rank, "verified:", rep.OK)
	}
	return nil
}

// startProviders starts n CPU providers on loopback in the local network,
// and returns the first one's addresses (the client's bootstrap) and a
// function that stops them all.
func startProviders(ctx context.Context, n int) (bootstrap []string, stop func(), err error) {
	root, err := os.MkdirTemp("", "gpumesh-client-providers-")
	if err != nil {
		return nil, nil, err
	}
	var nodes []*node.Node
	stop = func() {
		for _, nd := range nodes {
			_ = nd.Close()
		}
		_ = os.RemoveAll(root)
	}
	for i := range n {
		nd, err := startProvider(ctx, filepath.Join(root, fmt.Sprint(i)), bootstrap)
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("provider %d: %w", i, err)
		}
		nodes = append(nodes, nd)
		if i == 0 {
			for _, a := range nd.Network().ListenAddrs() {
				bootstrap = append(bootstrap, a.String())
			}
		}
	}
	return bootstrap, stop, nil
}

// startProvider starts one provider of the test profile in dir.
func startProvider(ctx context.Context, dir string, bootstrap []string) (*node.Node, error) {
	c, err := config.ForProfile("test")
	if err != nil {
		return nil, err
	}
	c.Network = "local"
	c.P2P.Bootstrap = bootstrap
	c.Offer.Enabled = true
	nd, err := node.New(node.Options{DataDir: dir, Config: c, Log: slog.New(slog.DiscardHandler), NoAPI: true})
	if err != nil {
		return nil, err
	}
	if err := nd.Start(ctx); err != nil {
		_ = nd.Close()
		return nil, err
	}
	return nd, nil
}

// wasmModule builds a test program of executortest as a WASI module.
func wasmModule(name string) ([]byte, error) {
	var tb errTB
	path := executortest.WasmModule(&tb, name)
	if tb.err != nil {
		return nil, tb.err
	}
	return os.ReadFile(path)
}

// errTB is executortest.TB outside a test: it keeps the first failure.
type errTB struct{ err error }

func (*errTB) Helper()             {}
func (t *errTB) Skip(args ...any)  { t.fail(args) }
func (t *errTB) Fatal(args ...any) { t.fail(args) }
func (t *errTB) fail(args []any) {
	if t.err == nil {
		t.err = fmt.Errorf("build the wasm module: %s", fmt.Sprint(args...))
	}
}
