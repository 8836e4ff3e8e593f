package node_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/anchor"
	"github.com/gpumesh/gpumesh/ledger/anchor/evm/evmtest"
	"github.com/gpumesh/gpumesh/ledger/merkle"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/p2p"
)

// The crash child's environment: its data dir and its anchoring key.
const (
	crashDirEnv = "GPUMESH_NODE_CRASH_DIR"
	crashKeyEnv = "GPUMESH_NODE_CRASH_KEY"
	// crashSeedEnv, if set, replays the kill times of an earlier run.
	crashSeedEnv = "GPUMESH_NODE_CRASH_SEED"
)

// crashEvery is the anchoring epoch of the crash test's node, in entries:
// small, so that epochs close at every poll.
const crashEvery = 25

// crashConfig is the test profile anchoring on the dev chain at rpc with
// key, closing an epoch every crashEvery entries or every second.
func crashConfig(t testing.TB, rpc, key string) config.Config {
	t.Helper()
	c, err := config.ForProfile("test")
	if err != nil {
		t.Fatal(err)
	}
	c.Offer.Enabled = false
	c.Anchor.RPCURL = rpc
	c.Anchor.Key = anchor.Secret(key)
	c.Anchor.Every = crashEvery
	c.Anchor.Interval = anchor.Duration(time.Second)
	c.Anchor.Timeout = anchor.Duration(5 * time.Second)
	c.GPU.SampleInterval = p2p.Duration(time.Minute)
	c.GPU.History = p2p.Duration(time.Minute)
	return c
}

// crashParty is the node's counterparty in the crash test's receipts: a
// key both processes derive from the same seed.
func crashParty(t testing.TB) crypto.PrivKey {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// crashReceipt is a receipt for job in which the node (self) is the
// provider and other the requester, signed by both.
func crashReceipt(self, other crypto.PrivKey, job string) (ledger.Signed, string, error) {
	sid, _ := peer.IDFromPrivateKey(self)
	oid, _ := peer.IDFromPrivateKey(other)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	d := sha256.Sum256([]byte(job))
	r := ledger.Receipt{
		Job: job, Provider: sid.String(), Requester: oid.String(), Devices: 1, Class: "CPU-x86", Executor: "wasm",
		Start: t0, End: t0.Add(time.Minute), Issued: t0.Add(time.Minute + time.Millisecond),
		UnitPrice: 2_500_000, ResultDigest: hex.EncodeToString(d[:]), Status: ledger.StatusSucceeded, Seq: 1,
	}
	r.Finalize()
	s, err := ledger.Sign(self, r)
	if err == nil {
		s, err = ledger.Countersign(other, s)
	}
	return s, r.ID, err
}

// crashNode starts a real node on dir with crashConfig; its errors go to w.
func crashNode(t testing.TB, dir, rpc, key string, w io.Writer) (*node.Node, crypto.PrivKey, error) {
	t.Helper()
	self, _, err := node.LoadOrCreateIdentity(filepath.Join(dir, node.KeyFile))
	if err != nil {
		return nil, nil, err
	}
	n, err := node.New(node.Options{DataDir: dir, Config: crashConfig(t, rpc, key),
		Log: slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelError}))})
	if err != nil {
		return nil, nil, err
	}
	if err := n.Start(context.Background()); err != nil {
		return nil, nil, err
	}
	return n, self, nil
}

// TestNodeCrashChild is the child of TestNodeCrashAnchoring: it starts a
// node on the data dir it is given, prints "open <size>", then appends
// receipts to the node's ledger from eight goroutines until it is killed,
// printing "ack <id>" for each one only once Append returned, and
// "confirmed <size> <tx>" for each anchor its anchorer holds as confirmed.
// It pokes the anchorer so that epochs close back to back. It does nothing
// unless run by that test.
func TestNodeCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run by TestNodeCrashAnchoring")
	}
	n, self, err := crashNode(t, dir, os.Getenv("GPUMESH_EVM_RPC"), os.Getenv(crashKeyEnv), os.Stderr)
	if err != nil {
		fmt.Printf("start-error %v\n", err)
		os.Exit(3)
	}
	other := crashParty(t)
	l := n.Ledger()
	fmt.Printf("open %d\n", l.Size())
	var out sync.Mutex
	var wg sync.WaitGroup
	// The anchorer checks the log every poll (a second); poked as often as
	// this, it closes an epoch whenever crashEvery entries are waiting, so
	// that a kill often lands while an anchor is being sent or awaited.
	wg.Go(func() {
		for range time.Tick(10 * time.Millisecond) {
			n.Anchorer().Poke()
		}
	})
	// Each anchor the node holds as confirmed, once.
	wg.Go(func() {
		seen := map[anchor.TxHash]bool{}
		for range time.Tick(20 * time.Millisecond) {
			for _, a := range n.Anchorer().Anchors() {
				if a.State != anchor.StateConfirmed || seen[a.Tx] {
					continue
				}
				seen[a.Tx] = true
				cp, _ := a.Checkpoint()
				out.Lock()
				fmt.Printf("confirmed %d %s\n", cp.Size, a.Tx)
				out.Unlock()
			}
		}
	})
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				s, id, err := crashReceipt(self, other, fmt.Sprintf("crash-%d-%d-%d", os.Getpid(), w, i))
				if err == nil {
					_, err = l.Append(context.Background(), s)
				}
				out.Lock()
				if err != nil {
					fmt.Printf("append-error %v\n", err)
					out.Unlock()
					return
				}
				fmt.Printf("ack %s\n", id)
				out.Unlock()
			}
		})
	}
	wg.Wait()
	os.Exit(4)
}

// syncBuffer is a bytes.Buffer safe for one writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// confirmedSize is the largest checkpoint size among the confirmed
// anchors in dir's anchors file, and how many there are.
func confirmedSize(t *testing.T, dir string) (size int64, count int) {
	t.Helper()
	anchors, err := anchor.LoadAnchors(dir)
	if err != nil {
		t.Fatalf("anchors file after a kill: %v", err)
	}
	for _, a := range anchors {
		if a.State != anchor.StateConfirmed {
			continue
		}
		cp, err := a.Checkpoint()
		if err != nil {
			t.Fatal(err)
		}
		size, count = max(size, cp.Size), count+1
	}
	return size, count
}

// TestNodeCrashAnchoring SIGKILLs a real node, anchoring on the dev chain,
// at random moments while it appends receipts as fast as it can, restarts
// it on the same data dir each time, and then checks on the node opened
// once more that every acknowledged receipt is in its ledger, the whole
// ledger verifies (hash chain, tree, signatures), and anchoring went on
// across the kills: the anchored size grew after restarts, every confirmed
// anchor is on chain and consistent with the log and with the one before,
// and entries appended after the last restart get anchored too.
func TestNodeCrashAnchoring(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in the child")
	}
	rpc := evmtest.RPC(t)
	key := evmtest.FundedKey(t, rpc)
	rounds := 10
	if testing.Short() {
		rounds = 3
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(crashSeedEnv); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s: %v", crashSeedEnv, err)
		}
	}
	t.Logf("kill times seeded with %d (%s=%d replays them)", seed, crashSeedEnv, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	var acked []string
	reported := map[string]int64{} // anchors a child held as confirmed: tx -> size
	var grew int                   // rounds after which the confirmed anchored size was larger than before
	prevAnchored := int64(0)
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestNodeCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashKeyEnv+"="+key)
		var stderr syncBuffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 4096)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		fail := func(format string, args ...any) {
			t.Helper()
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("round %d: %s\nchild's stderr:\n%s", round, fmt.Sprintf(format, args...), stderr.String())
		}
		// Kill at a random moment once the node acknowledged its first
		// receipt; in odd rounds, once it also confirmed an anchor of an
		// epoch that closed after this restart.
		killAfter := time.Duration(rng.IntN(1200)) * time.Millisecond
		afterAnchor := round%2 == 1
		var kill <-chan time.Time
		armed := false
		deadline := time.After(45 * time.Second)
		opened, roundAcks, roundAnchors := int64(-1), 0, 0
	read:
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					break read
				}
				switch {
				case strings.HasPrefix(line, "ack "):
					acked = append(acked, strings.TrimPrefix(line, "ack "))
					roundAcks++
					if !armed && !afterAnchor {
						kill, armed = time.After(killAfter), true
					}
				case strings.HasPrefix(line, "confirmed "):
					var size int64
					var tx string
					if _, err := fmt.Sscanf(line, "confirmed %d %s", &size, &tx); err != nil {
						fail("child: %q: %v", line, err)
					}
					if _, had := reported[tx]; !had && size > opened {
						roundAnchors++
						if !armed && afterAnchor && roundAcks > 0 {
							kill, armed = time.After(killAfter), true
						}
					}
					reported[tx] = size
				case strings.HasPrefix(line, "open "):
					opened, _ = strconv.ParseInt(strings.TrimPrefix(line, "open "), 10, 64)
				case strings.HasPrefix(line, "start-error"), strings.HasPrefix(line, "append-error"):
					fail("child: %s", line)
				}
			case <-kill:
				_ = cmd.Process.Signal(syscall.SIGKILL)
				kill = nil
			case <-deadline:
				fail("the node acknowledged nothing (or, in an odd round, confirmed no new anchor) in 45 s")
			}
		}
		err = cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child ended with %v, want killed\nchild's stderr:\n%s", round, err, stderr.String())
		}
		anchored, confirmed := confirmedSize(t, dir)
		if anchored < prevAnchored {
			t.Fatalf("round %d: the confirmed anchored size went from %d back to %d", round, prevAnchored, anchored)
		}
		if round > 0 && anchored > prevAnchored {
			grew++
		}
		after := "its first ack"
		if afterAnchor {
			after = "its first new anchor"
		}
		t.Logf("round %d: opened at %d entries, killed %s after %s; %d acknowledged (%d in all); %d anchors confirmed in this run, %d in the file up to size %d",
			round, opened, killAfter, after, roundAcks, len(acked), roundAnchors, confirmed, anchored)
		prevAnchored = anchored
	}
	if grew == 0 && rounds > 1 {
		t.Fatalf("the anchored size never grew after a restart (%d restarts)", rounds-1)
	}

	// The node once more, in this process.
	var nlog syncBuffer
	n, self, err := crashNode(t, dir, rpc, key, &nlog)
	if err != nil {
		t.Fatalf("restart after %d kills: %v", rounds, err)
	}
	defer n.Close()
	l := n.Ledger()
	reopened := l.Size()
	for _, id := range acked {
		e, err := l.ByReceipt(id)
		if err != nil {
			t.Fatalf("acknowledged receipt %s lost: %v", id, err)
		}
		if r, err := e.Receipt(); err != nil || r.ID != id {
			t.Fatalf("entry %d holds %q (%v), want receipt %s", e.Index, r.ID, err, id)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Verify re-checks every entry's chain link, tree hashes and both
	// signatures: every acknowledged receipt among them.
	if err := l.Verify(ctx); err != nil {
		t.Fatalf("Verify after %d kills: %v", rounds, err)
	}
	// Entries appended after the last restart are anchored too.
	other := crashParty(t)
	for i := range 2 * crashEvery {
		s, _, err := crashReceipt(self, other, fmt.Sprintf("after-%d", i))
		if err == nil {
			_, err = l.Append(ctx, s)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	final := l.Size()
	nodetest.WaitFor(t, 30*time.Second, func() bool {
		st := n.Anchoring()
		if st.Last == nil {
			return false
		}
		cp, err := st.Last.Checkpoint()
		return err == nil && cp.Size >= final
	}, func() string {
		return fmt.Sprintf("no confirmed anchor of size %d: %+v\n%s", final, n.Anchoring(), nlog.String())
	})

	// Every confirmed anchor is on chain and consistent with the log and
	// with the confirmed anchor before it.
	var confirmed []anchor.Anchor
	txs := map[anchor.TxHash]bool{}
	for _, a := range n.Anchorer().Anchors() {
		if a.State != anchor.StateConfirmed {
			continue
		}
		if txs[a.Tx] {
			t.Fatalf("tx %s recorded as two confirmed anchors", a.Tx)
		}
		txs[a.Tx] = true
		confirmed = append(confirmed, a)
	}
	size := func(a *anchor.Anchor) int64 { cp, _ := a.Checkpoint(); return cp.Size }
	slices.SortStableFunc(confirmed, func(a, b anchor.Anchor) int { return int(size(&a) - size(&b)) })
	var prev *anchor.Anchor
	for i := range confirmed {
		a := &confirmed[i]
		if err := anchor.VerifyOnChain(ctx, n.Chain(), a); err != nil {
			t.Fatalf("anchor %d (%s) on chain: %v", i, a, err)
		}
		cp, _ := a.Checkpoint()
		if root, err := l.RootAt(cp.Size); err != nil || root != cp.Root {
			t.Fatalf("anchor of size %d: the log's root there is %x (%v), the anchor's %x", cp.Size, root[:8], err, cp.Root[:8])
		}
		if prev != nil {
			pcp, _ := prev.Checkpoint()
			proof, err := l.ConsistencyProof(pcp.Size, cp.Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := merkle.VerifyConsistency(pcp.Size, cp.Size, pcp.Root, cp.Root, proof); err != nil {
				t.Fatalf("anchors of size %d and %d: %v", pcp.Size, cp.Size, err)
			}
		}
		prev = a
	}
	if len(confirmed) < 2 {
		t.Fatalf("%d confirmed anchors", len(confirmed))
	}
	// No anchor a killed node had confirmed is lost or replaced.
	for tx, sz := range reported {
		h, err := anchor.ParseTxHash(tx)
		if err != nil {
			t.Fatal(err)
		}
		if !txs[h] {
			t.Fatalf("anchor of size %d in tx %s, confirmed before a kill, is not confirmed after the restarts", sz, tx)
		}
	}
	// Every transaction the account paid for is recorded: the anchorer
	// writes a transaction's hash ahead of submitting it, so no kill leaves
	// an anchor on chain that the node never learns of.
	recorded := map[anchor.TxHash]bool{}
	for _, a := range n.Anchorer().Anchors() {
		recorded[a.Tx] = true
	}
	sent, err := txCount(rpc, confirmed[0].From)
	if err != nil {
		t.Fatal(err)
	}
	if sent != uint64(len(recorded)) {
		t.Fatalf("the anchoring account sent %d transactions; the node records %d", sent, len(recorded))
	}
	t.Logf("%d kill rounds: %d receipts acknowledged, all present; ledger reopened at %d entries, %d after appending; "+
		"anchored size grew after %d of %d restarts; %d anchors confirmed (%d of them by the killed nodes, all kept) and checked on chain, up to size %d; %d transactions sent, all recorded",
		rounds, len(acked), reopened, final, grew, rounds-1, len(confirmed), len(reported), size(prev), sent)
}

// txCount is the number of transactions account has sent on the chain at
// rpc (eth_getTransactionCount).
func txCount(rpc, account string) (uint64, error) {
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"eth_getTransactionCount","params":[%q,"latest"]}`, account)
	resp, err := http.Post(rpc, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out struct {
		Result string `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimPrefix(out.Result, "0x"), 16, 64)
}
