package cli

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/spf13/cobra"

	"github.com/gpumesh/gpumesh/internal/human"
	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/anchor"
	"github.com/gpumesh/gpumesh/ledger/anchor/evm"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/node/datadir"
	"github.com/gpumesh/gpumesh/scheduler/pricing"
)

// receiptSource is what the receipts commands read: a running node's API
// (*api.Client) or, with no node running, its ledger opened directly
// (*api.LedgerView).
type receiptSource interface {
	Receipts(ctx context.Context, q api.ReceiptQuery) (api.Receipts, error)
	Receipt(ctx context.Context, id string) (api.ReceiptProof, error)
	VerifyLedger(ctx context.Context) (api.LedgerCheck, error)
	Balances(ctx context.Context) (api.Balances, error)
	VerifyAnchor(ctx context.Context, a *anchor.Anchor) (api.AnchorCheck, error)
}

// probeTimeout bounds the question "does the node on this data dir answer?".
const probeTimeout = 3 * time.Second

// ledgerOpenError is a ledger that failed its checks as it was opened
// offline: verify --all reports it as a failed check.
type ledgerOpenError struct{ err error }

func (e ledgerOpenError) Error() string { return e.err.Error() }
func (e ledgerOpenError) Unwrap() error { return e.err }

// receiptSource returns the running node's API, or, when no node runs on
// the data dir (no DIR/api, or it does not answer, and nobody holds the
// data dir's lock), a view of DIR/ledger opened directly under that lock.
// close releases what it opened.
func (g *globals) receiptSource(ctx context.Context) (src receiptSource, offline bool, close func(), err error) {
	return g.openReceiptSource(ctx, false)
}

// openReceiptSource is receiptSource; with rebuildHead it reads the ledger
// offline only, and accepts a ledger whose LEDGER_HEAD is missing after
// checking every entry (ledger.Options.RebuildHead).
func (g *globals) openReceiptSource(ctx context.Context, rebuildHead bool) (src receiptSource, offline bool, close func(), err error) {
	dir, err := g.dir()
	if err != nil {
		return nil, false, nil, err
	}
	probeErr := errors.New("no " + api.AddrFile + " file")
	if c, err := g.client(); err == nil {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		_, probeErr = c.Status(pctx)
		cancel()
		if probeErr == nil && rebuildHead {
			return nil, false, nil, usageError{fmt.Errorf("--rebuild-head repairs the ledger offline: stop the node running on %s first", dir)}
		}
		if probeErr == nil {
			return c, false, func() {}, nil
		}
	}
	ledgerDir := filepath.Join(dir, node.LedgerDir)
	if _, err := os.Stat(ledgerDir); err != nil {
		return nil, false, nil, fmt.Errorf("no node is running with data dir %s, and it holds no ledger (%s): start one with `gpumesh run --data-dir %s`", dir, ledgerDir, dir)
	}
	lock, err := datadir.Acquire(dir)
	if errors.Is(err, datadir.ErrLocked) {
		return nil, false, nil, fmt.Errorf("the node holding %s does not answer on its API (%v), and its ledger cannot be read while it holds it: %w", dir, probeErr, err)
	} else if err != nil {
		return nil, false, nil, err
	}
	self, err := node.ReadIdentity(filepath.Join(dir, node.KeyFile))
	if err != nil {
		_ = lock.Release()
		return nil, false, nil, err
	}
	fmt.Fprintf(g.stderr, "(offline: read %s directly)\n", ledgerDir)
	l, err := ledger.Open(ledgerDir, ledger.Options{Self: self, RebuildHead: rebuildHead})
	if err != nil {
		_ = lock.Release()
		return nil, true, nil, ledgerOpenError{err}
	}
	own, aerr := readAnchors(dir)
	if aerr != nil {
		fmt.Fprintf(g.stderr, "warning: %v\n", aerr)
	}
	v := &api.LedgerView{
		Log: l, Self: self, Own: own,
		Status:  anchor.Status{Reason: "no anchor covers it in " + filepath.Join(dir, anchor.FileName)},
		NoChain: "offline: no node to ask; pass --rpc URL to check the chain",
	}
	return v, true, func() { _ = l.Close(); _ = lock.Release() }, nil
}

// readAnchors reads the node's anchors file without changing it (the
// anchorer moves a bad one aside; a reader must not).
func readAnchors(dir string) ([]anchor.Anchor, error) {
	path := filepath.Join(dir, anchor.FileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var f struct {
		Version int             `json:"version"`
		Anchors []anchor.Anchor `json:"anchors"`
	}
	if err := json.Unmarshal(data, &f); err != nil || f.Version != anchor.FileVersion {
		return nil, fmt.Errorf("%s unusable (version %d, %v): receipts are shown as not anchored", path, f.Version, err)
	}
	var out []anchor.Anchor
	for i := range f.Anchors {
		if err := f.Anchors[i].Validate(); err != nil {
			return out, fmt.Errorf("%s: anchor %d: %w", path, i, err)
		}
		out = append(out, f.Anchors[i])
	}
	return out, nil
}

// listFlags select receipts.
type listFlags struct {
	job, peer string
	limit     int
}

func (f *listFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.job, "job", "", "only the receipts of this job")
	cmd.Flags().StringVar(&f.peer, "peer", "", "only the receipts with this peer as provider or requester")
	cmd.Flags().IntVar(&f.limit, "limit", 0, "at most this many, newest first (0 = all)")
}

func newReceiptsCmd(g *globals) *cobra.Command {
	var lf listFlags
	cmd := &cobra.Command{
		Use:   "receipts [list | show ID | verify ID | verify --all | balances]",
		Short: "List, show and verify the signed receipts in this node's ledger",
		Long: `Every job ends in receipts the provider signed and the requester countersigned;
both nodes append them to their ledgers, a hash chain and Merkle tree, and
anchor its root on an EVM chain when anchoring is on.

With no subcommand, list the receipts. When no node runs on the data dir,
the ledger is read directly (offline).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return listReceipts(cmd.Context(), g, lf) },
	}
	lf.add(cmd)
	cmd.AddCommand(newReceiptsListCmd(g), newReceiptsShowCmd(g), newReceiptsVerifyCmd(g), newReceiptsBalancesCmd(g))
	return cmd
}

func newReceiptsListCmd(g *globals) *cobra.Command {
	var lf listFlags
	cmd := &cobra.Command{
		Use:   "list [--job J] [--peer P]",
		Short: "List receipts, newest first",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return listReceipts(cmd.Context(), g, lf) },
	}
	lf.add(cmd)
	return cmd
}

func listReceipts(ctx context.Context, g *globals, lf listFlags) error {
	if lf.limit < 0 {
		return usageError{fmt.Errorf("--limit %d: want a count", lf.limit)}
	}
	src, _, done, err := g.receiptSource(ctx)
	if err != nil {
		return err
	}
	defer done()
	rs, err := src.Receipts(ctx, api.ReceiptQuery{Job: lf.job, Peer: lf.peer, Limit: lf.limit})
	if err != nil {
		return queryError(err)
	}
	if g.json {
		return g.printJSON(rs)
	}
	if len(rs.Receipts) == 0 {
		fmt.Fprintf(g.stdout, "no receipts (ledger of %s: %s)\n", shortPeer(rs.Log), human.Plural(rs.Size, "entry"))
		g.printDamaged(rs.Damaged)
		return nil
	}
	w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "RECEIPT\tJOB\tROLE\tCOUNTERPARTY\tRANK/ATT\tGPU TIME\tAMOUNT\tSTATUS\tANCHORED")
	for _, row := range rs.Receipts {
		r := row.Receipt
		anchored := "no"
		if row.Anchored {
			anchored = "yes"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\t%s\n", shortID(r.ID), shortID(r.Job), row.Role, shortPeer(row.Counterparty),
			r.Rank, r.Attempt, gpuTimeCell(r), money(r.Amount), r.Status, anchored)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "%s in the ledger of %s (%s, %d anchored)\n", human.Plural(len(rs.Receipts), "receipt"), shortPeer(rs.Log), human.Plural(rs.Size, "entry"), rs.Anchored)
	g.printDamaged(rs.Damaged)
	return nil
}

// printDamaged names the ledger entries a list could not show, and how to
// check the whole ledger.
func (g *globals) printDamaged(damaged []api.CorruptEntry) {
	if len(damaged) == 0 {
		return
	}
	for _, d := range damaged {
		fmt.Fprintf(g.stdout, "DAMAGED  entry %d: %s\n", d.Index, d.Error)
	}
	fmt.Fprintf(g.stderr, "warning: %d ledger entries could not be read or failed their check; run `gpumesh receipts verify --all`\n", len(damaged))
}

// queryError turns the API's 400 into a usage error.
func queryError(err error) error {
	var apiErr *api.Error
	if (errors.As(err, &apiErr) && apiErr.Status == http.StatusBadRequest) || errors.Is(err, api.ErrBadRequest) {
		return usageError{err}
	}
	return err
}

// resolveReceipt fetches a receipt by its ID or by an unambiguous prefix
// of it (as the list shows them).
func resolveReceipt(ctx context.Context, src receiptSource, id string) (api.ReceiptProof, error) {
	if id == "" {
		return api.ReceiptProof{}, usageError{errors.New("a receipt ID is required")}
	}
	p, err := src.Receipt(ctx, id)
	var apiErr *api.Error
	notFound := errors.Is(err, api.ErrNotFound) || (errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound)
	if !notFound || len(id) >= 64 {
		return p, err
	}
	rs, lerr := src.Receipts(ctx, api.ReceiptQuery{})
	if lerr != nil {
		return p, err
	}
	var match []string
	for _, row := range rs.Receipts {
		if strings.HasPrefix(row.Receipt.ID, id) && !containsString(match, row.Receipt.ID) {
			match = append(match, row.Receipt.ID)
		}
	}
	switch len(match) {
	case 0:
		return p, fmt.Errorf("no receipt %s in the ledger of %s", id, shortPeer(rs.Log))
	case 1:
		return src.Receipt(ctx, match[0])
	}
	return p, usageError{fmt.Errorf("receipt ID %s is ambiguous: %s", id, strings.Join(match, ", "))}
}

func containsString(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func newReceiptsShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show every field of one receipt, what each side pays and receives, and its proof",
		Args:  oneReceipt,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			src, _, done, err := g.receiptSource(ctx)
			if err != nil {
				return err
			}
			defer done()
			p, err := resolveReceipt(ctx, src, args[0])
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(p)
			}
			printReceipt(g.stdout, p)
			return nil
		},
	}
}

// oneReceipt is the Args check of the commands that take one receipt ID.
func oneReceipt(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("%s takes one receipt ID", cmd.Name())}
	}
	return nil
}

// printReceipt writes every field of p for a person.
func printReceipt(out io.Writer, p api.ReceiptProof) {
	r := p.Receipt
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	me := func(id string) string {
		if id == p.Log {
			return id + " (this node)"
		}
		return id
	}
	fmt.Fprintf(w, "receipt\t%s (v%d, seq %d)\n", r.ID, r.V, r.Seq)
	fmt.Fprintf(w, "job\t%s\n", r.Job)
	fmt.Fprintf(w, "rank\t%d, attempt %d\n", r.Rank, r.Attempt)
	if r.Replaces != "" {
		fmt.Fprintf(w, "replaces\t%s\n", r.Replaces)
	}
	fmt.Fprintf(w, "provider\t%s\n", me(r.Provider))
	fmt.Fprintf(w, "requester\t%s\n", me(r.Requester))
	fmt.Fprintf(w, "role here\t%s\n", p.Role)
	fmt.Fprintf(w, "devices\t%d x %s (pool %s, executor %s)\n", r.Devices, orDash(r.Class), orDash(r.Pool), orDash(r.Executor))
	fmt.Fprintf(w, "start\t%s\n", r.Start.Format(time.RFC3339Nano))
	fmt.Fprintf(w, "end\t%s (%s)\n", r.End.Format(time.RFC3339Nano), r.End.Sub(r.Start))
	fmt.Fprintf(w, "GPU time\t%s (%d GPU-ms)\n", gpuTime(r.GPUMillis), r.GPUMillis)
	if r.GPU != nil {
		fmt.Fprintf(w, "GPUs did\t%s\n", gpuFigures(*r.GPU))
	}
	fmt.Fprintf(w, "unit price\t%s per GPU-hour\n", money(r.UnitPrice))
	fmt.Fprintf(w, "amount\t%s\n", money(r.Amount))
	fmt.Fprintf(w, "fees\t%s from the provider + %s from the requester (%d bp each) to %s\n", money(r.ProviderFee), money(r.RequesterFee), ledger.FeeBP, r.IncentivePool)
	fmt.Fprintf(w, "requester pays\t%s (amount + fee)\n", money(p.RequesterPays))
	fmt.Fprintf(w, "provider receives\t%s (amount - fee)\n", money(p.ProviderReceives))
	fmt.Fprintf(w, "pool receives\t%s\n", money(p.PoolReceives))
	fmt.Fprintf(w, "status\t%s (exit %d)\n", r.Status, r.ExitStatus)
	fmt.Fprintf(w, "result digest\t%s\n", orDash(r.ResultDigest))
	fmt.Fprintf(w, "issued\t%s\n", r.Issued.Format(time.RFC3339Nano))
	fmt.Fprintf(w, "entry\t%d of %d in the ledger of %s, logged %s\n", p.Entry.Index, p.LogSize, p.Log, p.Entry.Time.Format(time.RFC3339))
	fmt.Fprintf(w, "entry hash\t%s\n", p.Entry.Hash)
	fmt.Fprintf(w, "prev hash\t%s\n", p.Entry.Prev)
	fmt.Fprintf(w, "signed\t%d bytes (provider envelope + requester countersignature)\n", len(p.Signed))
	if p.Anchor != nil {
		fmt.Fprintf(w, "anchored\tyes: size %d root %s in tx %s (chain %d, block %d, %s)\n", p.Inclusion.Size, p.Inclusion.Root, p.Anchor.Tx, p.Anchor.ChainID, p.Anchor.Block, p.Anchor.State)
	} else {
		fmt.Fprintf(w, "anchored\tnot yet: %s\n", p.NotAnchored)
		fmt.Fprintf(w, "head\tsize %d root %s\n", p.Inclusion.Size, p.Inclusion.Root)
	}
	fmt.Fprintf(w, "inclusion proof\t%s, in the tree of %d entries\n", human.Plural(len(p.Inclusion.Proof), "hash"), p.Inclusion.Size)
	if p.PeerAnchor != nil {
		fmt.Fprintf(w, "counterparty anchor\t%s\n", p.PeerAnchor.String())
	} else {
		fmt.Fprintf(w, "counterparty anchor\tnone heard\n")
	}
	_ = w.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shortID is the head of a hex ID, enough to tell receipts apart in a table.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func money(m ledger.Micros) string { return pricing.Micros(m).String() }

func gpuTime(ms int64) string { return (time.Duration(ms) * time.Millisecond).String() }

// Outcomes of one verification check.
const (
	checkPass = api.CheckPass
	checkFail = api.CheckFail
	checkWarn = api.CheckWarn
)

// check is one line of `receipts verify`.
type check = api.Check

// report is what `receipts verify` prints with --json.
type report struct {
	Receipt string            `json:"receipt,omitempty"`
	Ledger  string            `json:"ledger"`
	Offline bool              `json:"offline"`
	OK      bool              `json:"ok"`
	Checks  []check           `json:"checks"`
	Proof   *api.ReceiptProof `json:"proof,omitempty"`
}

func (r *report) add(name, outcome, format string, a ...any) {
	r.Checks = append(r.Checks, check{Name: name, Outcome: outcome, Detail: fmt.Sprintf(format, a...)})
}

// verifyFlags are the options of `receipts verify`.
type verifyFlags struct {
	all           bool
	rpc           string
	requireAnchor bool
	rebuildHead   bool
}

func newReceiptsVerifyCmd(g *globals) *cobra.Command {
	var vf verifyFlags
	cmd := &cobra.Command{
		Use:   "verify ID | verify --all",
		Short: "Check a receipt (signatures, ledger entry, inclusion proof, anchor on chain), or the whole ledger",
		Long: `verify ID checks one receipt here, from what the node (or its ledger) hands over,
trusting none of it: both signatures and the arithmetic (ledger.Verify); that
the ledger entry's bytes hash to the entry hash and carry these signed bytes;
the inclusion proof against the anchored checkpoint's root (or the current
head's when not anchored); the checkpoint's signature by the ledger's peer;
and the commitment on chain, through --rpc URL when given, else through the
node's own chain. A receipt not anchored yet is a warning, not a failure,
unless --require-anchor.

verify --all walks the whole ledger: the hash chain, the Merkle tree and
every receipt's signatures, and says which entry is damaged.

A ledger of entries whose LEDGER_HEAD file (its size and root at the last
clean close) is missing is refused, since a lost tail could no longer be
noticed. If only the file was lost, verify --all --rebuild-head, with the
node stopped, checks every entry and then writes a new one.

Exit status: 0 when every check that ran passed, 1 when one failed.`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case vf.all && len(args) > 0:
				return usageError{errors.New("verify takes a receipt ID or --all, not both")}
			case !vf.all && len(args) != 1:
				return usageError{errors.New("verify takes one receipt ID, or --all")}
			case vf.rebuildHead && !vf.all:
				return usageError{errors.New("--rebuild-head goes with --all")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var chain anchor.Backend
			if vf.rpc != "" {
				c, err := readOnlyChain(ctx, vf.rpc)
				if err != nil {
					return usageError{err}
				}
				defer c.Close()
				chain = c
			}
			src, offline, done, err := g.openReceiptSource(ctx, vf.rebuildHead)
			var openErr ledgerOpenError
			if vf.all && errors.As(err, &openErr) {
				rep := &report{Ledger: "", Offline: true}
				rep.add("ledger", checkFail, "%s", where(openErr.err))
				return g.finish(rep, "the ledger")
			}
			if err != nil {
				return err
			}
			defer done()
			if vf.all {
				return g.verifyAll(ctx, src, offline)
			}
			return g.verifyOne(ctx, src, offline, chain, vf, args[0])
		},
	}
	cmd.Flags().BoolVar(&vf.all, "all", false, "verify the whole ledger: hash chain, Merkle tree, every receipt's signatures")
	cmd.Flags().StringVar(&vf.rpc, "rpc", "", "check the anchor on this EVM JSON-RPC endpoint yourself, not through the node")
	cmd.Flags().BoolVar(&vf.requireAnchor, "require-anchor", false, "fail, not warn, when the receipt is not anchored yet")
	cmd.Flags().BoolVar(&vf.rebuildHead, "rebuild-head", false, "with --all and the node stopped: accept a ledger whose LEDGER_HEAD file is missing once every entry checks, and write a new one")
	return cmd
}

// readOnlyChain dials an EVM JSON-RPC endpoint for lookups. evm.Dial needs a
// paying key; verify never sends, so it gets a throwaway one made here and
// forgotten.
func readOnlyChain(ctx context.Context, url string) (evm.Chain, error) {
	k, err := ethcrypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	cfg := anchor.DefaultConfig()
	cfg.RPCURL = url
	cfg.Key = anchor.Secret(hex.EncodeToString(ethcrypto.FromECDSA(k)))
	c, err := evm.Dial(ctx, cfg, func(string) string { return "" })
	if err != nil {
		return nil, fmt.Errorf("--rpc: %w", err)
	}
	return c, nil
}

// where says where a ledger error is: "entry 17: reason" for a
// ledger.CorruptError, the error itself otherwise.
func where(err error) string {
	var ce *ledger.CorruptError
	if errors.As(err, &ce) {
		msg := ce.Reason
		if ce.Err != nil {
			msg += ": " + ce.Err.Error()
		}
		if ce.Index >= 0 {
			return fmt.Sprintf("entry %d: %s", ce.Index, msg)
		}
		return msg
	}
	return err.Error()
}

// finish prints rep and returns the error that sets the exit status.
func (g *globals) finish(rep *report, what string) error {
	var failed []string
	warns := 0
	for _, c := range rep.Checks {
		switch c.Outcome {
		case checkFail:
			failed = append(failed, c.Name+" ("+c.Detail+")")
		case checkWarn:
			warns++
		}
	}
	rep.OK = len(failed) == 0
	if g.json {
		if err := g.printJSON(rep); err != nil {
			return err
		}
	} else {
		w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
		for _, c := range rep.Checks {
			fmt.Fprintf(w, "%s\t%s\t%s\n", strings.ToUpper(c.Outcome), c.Name, c.Detail)
		}
		_ = w.Flush()
	}
	if !rep.OK {
		return fmt.Errorf("%s failed verification: %s", what, strings.Join(failed, "; "))
	}
	if !g.json {
		fmt.Fprintf(g.stdout, "%s verified: %s passed", what, human.Plural(len(rep.Checks)-warns, "check"))
		if warns > 0 {
			fmt.Fprintf(g.stdout, ", %s", human.Plural(warns, "warning"))
		}
		fmt.Fprintln(g.stdout)
	}
	return nil
}

// verifyAll runs the ledger's own check over every entry.
func (g *globals) verifyAll(ctx context.Context, src receiptSource, offline bool) error {
	lc, err := src.VerifyLedger(ctx)
	if err != nil {
		return err
	}
	rep := &report{Ledger: lc.Log, Offline: offline}
	if lc.Corrupt != nil {
		detail := lc.Corrupt.Reason
		if lc.Corrupt.Index >= 0 {
			detail = fmt.Sprintf("entry %d: %s", lc.Corrupt.Index, lc.Corrupt.Error)
		} else {
			detail = lc.Corrupt.Error
		}
		rep.add("ledger", checkFail, "%s", detail)
		return g.finish(rep, "the ledger of "+shortPeer(lc.Log))
	}
	rep.add("hash chain", checkPass, "%s, each linked to the one before", human.Plural(lc.Size, "entry"))
	rep.add("merkle tree", checkPass, "stored hashes recomputed; root %s at size %d", lc.Root, lc.Size)
	rep.add("receipts", checkPass, "%s: both signatures, arithmetic and fee; this node a party to each", human.Plural(int(lc.Size), "receipt"))
	if len(lc.Anchors) == 0 {
		rep.add("anchors", checkWarn, "no confirmed anchor to compare with (anchoring off / pending)")
	}
	for _, m := range lc.Anchors {
		if m.Matches {
			rep.add("anchor", checkPass, "root at size %d is the one anchored in tx %s", m.Size, m.Tx)
		} else {
			rep.add("anchor", checkFail, "size %d, tx %s: %s", m.Size, m.Tx, m.Error)
		}
	}
	return g.finish(rep, "the ledger of "+shortPeer(lc.Log))
}

// verifyOne checks one receipt from what src hands over, trusting none of it.
func (g *globals) verifyOne(ctx context.Context, src receiptSource, offline bool, chain anchor.Backend, vf verifyFlags, id string) error {
	p, err := resolveReceipt(ctx, src, id)
	if err != nil {
		return err
	}
	rep := &report{Receipt: p.Receipt.ID, Ledger: p.Log, Offline: offline}
	if g.json {
		rep.Proof = &p
	}
	what := "receipt " + shortID(p.Receipt.ID)

	// 1-4. Signatures and arithmetic, the entry, the checkpoint, inclusion.
	unanchored := checkWarn
	if vf.requireAnchor {
		unanchored = checkFail
	}
	checks, anchored := api.ProofChecks(p, id, unanchored)
	rep.Checks = append(rep.Checks, checks...)

	// 5. The commitment on chain.
	if p.Anchor != nil && anchored {
		onChain(ctx, rep, src, chain, p.Anchor, "on chain", vf.requireAnchor)
	} else if p.Anchor == nil {
		rep.add("on chain", unanchored, "not anchored yet (anchoring off / pending): %s", p.NotAnchored)
	}
	if p.PeerAnchor != nil {
		if cp, err := p.PeerAnchor.Checkpoint(); err == nil && cp.Log.String() == p.Counterparty {
			// The counterparty's ledger: informational, it proves nothing about this entry.
			onChain(ctx, rep, src, chain, p.PeerAnchor, "counterparty anchor", false)
		}
	}
	return g.finish(rep, what)
}

// onChain checks a on the chain given, else through src (the node's chain).
// A check that cannot run is a warning (a failure when required).
func onChain(ctx context.Context, rep *report, src receiptSource, chain anchor.Backend, a *anchor.Anchor, name string, required bool) {
	unchecked := checkWarn
	if required {
		unchecked = checkFail
	}
	if chain != nil {
		id, _ := chain.ChainID(ctx)
		if err := anchor.VerifyOnChain(ctx, chain, a); err != nil {
			rep.add(name, checkFail, "%v", err)
			return
		}
		rep.add(name, checkPass, "tx %s on chain %d carries the checkpoint's commitment (checked through --rpc)", a.Tx, id)
		return
	}
	ac, err := src.VerifyAnchor(ctx, a)
	rep.Checks = append(rep.Checks, api.OnChainCheck(name, a, ac, err, unchecked, " (checked through the node; --rpc URL to check yourself)"))
}

func newReceiptsBalancesCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "balances",
		Short: "Earnings and spending per incentive pool, from the latest receipt of each piece of work",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			src, _, done, err := g.receiptSource(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			b, err := src.Balances(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(b)
			}
			if len(b.Pools) == 0 {
				fmt.Fprintln(g.stdout, "no receipts yet: nothing earned or spent")
				return nil
			}
			w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "POOL\tEARNED\tSPENT\tPROVIDER FEES\tREQUESTER FEES\tNET\tRECEIPTS")
			for _, p := range b.Pools {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", p.Pool, money(p.Earned), money(p.Spent), money(p.ProviderFees), money(p.RequesterFees), money(p.Net), p.Receipts)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			if len(b.Vouchers) == 0 {
				fmt.Fprintln(g.stdout, "net: what this node is owed (positive) or owes (negative); no settlement yet")
				return nil
			}
			fmt.Fprintln(g.stdout, "net: what this node is owed (positive) or owes (negative); the vouchers below pay for it")
			return printVouchers(g, b.Vouchers)
		},
	}
}

// printVouchers writes the voucher channels of `receipts balances`:
// amounts in the token's base units.
func printVouchers(g *globals, vs []api.VoucherChannel) error {
	w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "\nVOUCHERS\tFROM\tTO\tTOKEN\tNONCE\tCUMULATIVE\tREDEEMED\tREDEEMABLE\tLAST REDEMPTION")
	for _, v := range vs {
		role := "held"
		if v.Role == "signed" {
			role = "signed"
		}
		last := v.Redemption
		if v.Tx != "" {
			last += " " + v.Tx
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", role, v.Requester, v.Provider, v.Token, v.Nonce, v.Cumulative, dash(v.Redeemed), dash(v.Redeemable), dash(last))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(g.stdout, "amounts in the token's base units; held: vouchers this node redeems as provider, signed: those it gave as requester")
	return nil
}

// dash is s, or "-" when empty.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
