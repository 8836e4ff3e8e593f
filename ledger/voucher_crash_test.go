package ledger

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

const voucherCrashDirEnv = "GPUMESH_LEDGER_VOUCHER_CRASH_DIR"

// TestVoucherCrashChild is the child of TestVoucherCrashRecovery: it logs
// receipts, each with its voucher in one channel, until killed, printing
// "ack <id>" for each acknowledged. It does nothing unless run by that test.
func TestVoucherCrashChild(t *testing.T) {
	dir := os.Getenv(voucherCrashDirEnv)
	if dir == "" {
		t.Skip("run by TestVoucherCrashRecovery")
	}
	p, q := fixedParty(t, 1), fixedParty(t, 2)
	l, err := Open(dir, Options{Self: p.id})
	if err != nil {
		fmt.Printf("open-error %v\n", err)
		os.Exit(3)
	}
	latest, _, err := l.LatestVoucher(VoucherHeld, "ch")
	if err != nil {
		fmt.Printf("open-error %v\n", err)
		os.Exit(3)
	}
	run := os.Getpid()
	for i, nonce := 0, latest.Nonce+1; ; i, nonce = i+1, nonce+1 {
		v, err := Prepare(signBoth(t, p, q, receipt(p, q, fmt.Sprintf("vcrash-%d-%d", run, i), 0, 1, 60)))
		if err == nil {
			_, err = l.AppendWithVouchers(context.Background(), []Verified{v}, []VoucherRecord{voucherRec(VoucherHeld, v.Receipt().ID, "ch", nonce)})
		}
		if err != nil {
			fmt.Printf("append-error %v\n", err)
			os.Exit(4)
		}
		fmt.Printf("ack %s\n", v.Receipt().ID)
	}
}

// TestVoucherCrashRecovery kills a process logging receipts with their
// vouchers at random moments and checks after each kill that every
// acknowledged receipt kept its voucher, and that no receipt was logged
// without one nor a voucher without its receipt: the log holds exactly as
// many receipts as the channel's latest nonce, each with its voucher.
func TestVoucherCrashRecovery(t *testing.T) {
	if os.Getenv(voucherCrashDirEnv) != "" {
		t.Skip("in the child")
	}
	rounds := 6
	if testing.Short() {
		rounds = 3
	}
	dir := t.TempDir()
	p := fixedParty(t, 1)
	var acked []string
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestVoucherCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), voucherCrashDirEnv+"="+dir)
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
		killAt := time.Duration(20+rand.IntN(200)) * time.Millisecond
		var timer <-chan time.Time
		deadline := time.After(20 * time.Second)
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
					if timer == nil {
						timer = time.After(killAt)
					}
				case strings.HasPrefix(line, "open-error"), strings.HasPrefix(line, "append-error"):
					_ = cmd.Process.Kill()
					t.Fatalf("round %d: child: %s", round, line)
				}
			case <-timer:
				_ = cmd.Process.Signal(syscall.SIGKILL)
				timer = nil
			case <-deadline:
				_ = cmd.Process.Kill()
				t.Fatalf("round %d: child acknowledged nothing in 20 s", round)
			}
		}
		var ee *exec.ExitError
		if err := cmd.Wait(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child ended with %v, want killed", round, err)
		}
		l, err := Open(dir, Options{Self: p.id})
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		for _, id := range acked {
			if _, err := l.VoucherFor(VoucherHeld, id); err != nil {
				t.Fatalf("round %d: the voucher of acknowledged receipt %s is lost: %v", round, id, err)
			}
		}
		latest, _, err := l.LatestVoucher(VoucherHeld, "ch")
		if err != nil || int64(latest.Nonce) != l.Size() {
			t.Fatalf("round %d: latest voucher nonce %d (%v), log of %d receipts: a receipt without its voucher or the reverse", round, latest.Nonce, err, l.Size())
		}
		for i := range l.Size() {
			e, err := l.Get(i)
			var r Receipt
			if err == nil {
				var s Signed
				if s, err = e.Signed(); err == nil {
					r, err = OpenReceipt(s)
				}
			}
			if err == nil {
				_, err = l.VoucherFor(VoucherHeld, r.ID)
			}
			if err != nil {
				t.Fatalf("round %d: entry %d: %v", round, i, err)
			}
		}
		if err := l.Verify(context.Background()); err != nil {
			t.Fatalf("round %d: Verify: %v", round, err)
		}
		t.Logf("round %d: killed after %s; %d acknowledged in all, log holds %d", round, killAt, len(acked), l.Size())
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged")
	}
}
