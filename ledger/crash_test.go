package ledger

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

const crashDirEnv = "GPUMESH_LEDGER_CRASH_DIR"

// fixedParty derives a party from a seed, so the crash child and the
// parent agree on keys.
func fixedParty(t testing.TB, seed byte) party {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(bytes.NewReader(bytes.Repeat([]byte{seed}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := peer.IDFromPrivateKey(k)
	return party{k, id}
}

// TestCrashChild is the child of TestCrashRecovery: it appends receipts
// from four goroutines until killed, printing "ack <id>" for each one
// Append acknowledged. It does nothing unless run by that test.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run by TestCrashRecovery")
	}
	p, q := fixedParty(t, 1), fixedParty(t, 2)
	l, err := Open(dir, Options{Self: p.id})
	if err != nil {
		fmt.Printf("open-error %v\n", err)
		os.Exit(3)
	}
	fmt.Printf("open %d\n", l.Size())
	var out sync.Mutex
	var wg sync.WaitGroup
	run := os.Getpid()
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				r := receipt(p, q, fmt.Sprintf("crash-%d-%d-%d", run, w, i), 0, 1, 60)
				if _, err := l.Append(context.Background(), signBoth(t, p, q, r)); err != nil {
					out.Lock()
					fmt.Printf("append-error %v\n", err)
					out.Unlock()
					return
				}
				out.Lock()
				fmt.Printf("ack %s\n", r.ID)
				out.Unlock()
			}
		}()
	}
	wg.Wait()
	os.Exit(4)
}

// TestCrashRecovery kills a process appending to the log with SIGKILL at
// random moments, repeatedly, and checks after each kill that the log
// reopens with every acknowledged receipt, passes Verify, and takes more.
func TestCrashRecovery(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in the child")
	}
	rounds := 12
	if testing.Short() {
		rounds = 6
	}
	dir := t.TempDir()
	p := fixedParty(t, 1)
	var acked []string
	for round := 0; round < rounds; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Kill at a random moment after the child has acknowledged something.
		killAt := time.Duration(50+rand.IntN(400)) * time.Millisecond
		var timer <-chan time.Time
		deadline := time.After(20 * time.Second)
		roundAcks := 0
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
					if timer == nil {
						timer = time.After(killAt)
					}
				case strings.HasPrefix(line, "open-error"), strings.HasPrefix(line, "append-error"):
					cmd.Process.Kill()
					t.Fatalf("round %d: child: %s", round, line)
				}
			case <-timer:
				cmd.Process.Signal(syscall.SIGKILL)
				timer = nil
			case <-deadline:
				cmd.Process.Kill()
				t.Fatalf("round %d: child acknowledged nothing in 20 s", round)
			}
		}
		err = cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child ended with %v, want killed", round, err)
		}

		l, err := Open(dir, Options{Self: p.id})
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		for _, id := range acked {
			if _, err := l.ByReceipt(id); err != nil {
				t.Fatalf("round %d: acknowledged receipt %s lost: %v", round, id, err)
			}
		}
		if err := l.Verify(context.Background()); err != nil {
			t.Fatalf("round %d: Verify after kill: %v", round, err)
		}
		t.Logf("round %d: killed after %s, %d acknowledged this round, %d in all, log holds %d", round, killAt, roundAcks, len(acked), l.Size())
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	t.Logf("%d receipts acknowledged over %d kills; files: %d", len(acked), rounds, len(files))
}
