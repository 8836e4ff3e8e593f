package executor

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// perDeviceJob is a per-device shell job of worker 1 of 2 holding three
// devices, running script.
func perDeviceJob(t *testing.T, script string) Job {
	t.Helper()
	return Job{ID: "j", Dir: jobDir(t), Env: map[string]string{"GPUMESH_RANK": "1", "GPUMESH_WORLD_SIZE": "2"},
		Devices: []Device{{Index: 0, UUID: "GPU-a"}, {Index: 2, UUID: "GPU-c"}, {Index: 3, UUID: "GPU-d"}},
		Spec: Spec{Version: SpecVersion, Executor: "process", Process: &ProcessSpec{Command: "sh", PerDevice: true},
			Args: []string{script}}}
}

// waitLines waits for h and returns its result and log lines.
func waitLines(t *testing.T, h Handle) (Result, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := h.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lines, _, closed := h.Logs().Lines(0)
	if !closed {
		t.Error("logs still open after the work ended")
	}
	var out []string
	for _, l := range lines {
		out = append(out, l.Text)
	}
	sort.Strings(out)
	return res, out
}

// TestProcessPerDevice: a per-device worker holding three devices runs
// three processes, each seeing only its own device and told its local
// and global rank (worker 1 of 2: ranks 3, 4, 5 of 6), its lines marked
// with its local rank.
func TestProcessPerDevice(t *testing.T) {
	p := newShell(t, Limits{})
	h, err := p.Start(context.Background(), perDeviceJob(t,
		`echo "cuda=$CUDA_VISIBLE_DEVICES local=$LOCAL_RANK/$LOCAL_WORLD_SIZE rank=$RANK/$WORLD_SIZE node=$NODE_RANK master=$MASTER_ADDR"`))
	if err != nil {
		t.Fatal(err)
	}
	res, got := waitLines(t, h)
	if res.Status != StatusSucceeded {
		t.Fatalf("status %s (%s), logs %q", res.Status, res.Reason, got)
	}
	want := []string{
		"[local_rank 0] cuda=GPU-a local=0/3 rank=3/6 node=1 master=",
		"[local_rank 1] cuda=GPU-c local=1/3 rank=4/6 node=1 master=",
		"[local_rank 2] cuda=GPU-d local=2/3 rank=5/6 node=1 master=",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("logs\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestProcessPerDeviceOneWorker: a one-worker job without a network gets
// loopback as MASTER_ADDR, so its processes can form a group.
func TestProcessPerDeviceOneWorker(t *testing.T) {
	job := perDeviceJob(t, `echo "rank=$RANK/$WORLD_SIZE master=$MASTER_ADDR:$MASTER_PORT"`)
	job.Env = map[string]string{"GPUMESH_RANK": "0", "GPUMESH_WORLD_SIZE": "1"}
	job.Devices = job.Devices[:2]
	h, err := newShell(t, Limits{}).Start(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	res, got := waitLines(t, h)
	want := "[local_rank 0] rank=0/2 master=127.0.0.1:29500\n[local_rank 1] rank=1/2 master=127.0.0.1:29500"
	if res.Status != StatusSucceeded || strings.Join(got, "\n") != want {
		t.Errorf("status %s, logs %q, want %q", res.Status, got, want)
	}
}

// TestProcessPerDeviceFailure: one process failing fails the worker, the
// result names it, and the others are stopped rather than left waiting.
func TestProcessPerDeviceFailure(t *testing.T) {
	h, err := newShell(t, Limits{}).Start(context.Background(),
		perDeviceJob(t, `if [ "$LOCAL_RANK" = 1 ]; then echo broken; exit 3; fi; exec sleep 60`))
	if err != nil {
		t.Fatal(err)
	}
	res, got := waitLines(t, h)
	if res.Status != StatusFailed || res.ExitCode != 3 || !strings.HasPrefix(res.Reason, "local rank 1 of 3:") {
		t.Errorf("result %+v, want failed with exit 3 naming local rank 1", res)
	}
	if fmt.Sprint(got) != "[[local_rank 1] broken]" {
		t.Errorf("logs %q, want local rank 1's line", got)
	}
}

// TestProcessPerDeviceOneDevice: per_device on a worker with one device
// runs one process, as without it.
func TestProcessPerDeviceOneDevice(t *testing.T) {
	job := perDeviceJob(t, `echo "local=$LOCAL_RANK cuda=$CUDA_VISIBLE_DEVICES"`)
	job.Devices = job.Devices[:1]
	h, err := newShell(t, Limits{}).Start(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	res, got := waitLines(t, h)
	if res.Status != StatusSucceeded || fmt.Sprint(got) != "[local= cuda=GPU-a]" {
		t.Errorf("status %s, logs %q", res.Status, got)
	}
}

// TestOverrideEnv: names in over replace env's, others stay.
func TestOverrideEnv(t *testing.T) {
	got := overrideEnv([]string{"A=1", "RANK=1", "B=x=y"}, map[string]string{"RANK": "4", "C": "2"})
	if want := "A=1 B=x=y C=2 RANK=4"; strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !regexp.MustCompile(`^\[local_rank \d+\] $`).MatchString(fmt.Sprintf("[local_rank %d] ", 7)) {
		t.Error("prefix format")
	}
}

// TestLogsPrefixWriters: two processes writing the same stream in pieces
// that interleave each get whole lines, marked with their prefix.
func TestLogsPrefixWriters(t *testing.T) {
	logs := NewLogs(0, nil)
	a, b := logs.PrefixWriter("stdout", "[local_rank 0] "), logs.PrefixWriter("stdout", "[local_rank 1] ")
	for _, w := range []struct {
		w *LogWriter
		s string
	}{{a, "hel"}, {b, "wor"}, {a, "lo\nsec"}, {b, "ld\n"}, {a, "ond"}} {
		if _, err := w.w.Write([]byte(w.s)); err != nil {
			t.Fatal(err)
		}
	}
	logs.Close()
	lines, _, _ := logs.Lines(0)
	var got []string
	for _, l := range lines {
		got = append(got, l.Stream+":"+l.Text)
	}
	want := "stdout:[local_rank 0] hello|stdout:[local_rank 1] world|stdout:[local_rank 0] second"
	if strings.Join(got, "|") != want {
		t.Errorf("got %q, want %q", strings.Join(got, "|"), want)
	}
}

// TestLogsPrefixedLongLine: a prefixed line longer than MaxLine is split
// so that every Line, prefix included, stays within MaxLine (the run
// protocol refuses longer ones), and no byte is lost.
func TestLogsPrefixedLongLine(t *testing.T) {
	logs := NewLogs(0, nil)
	const prefix = "[local_rank 3] "
	w := logs.PrefixWriter("stderr", prefix)
	body := strings.Repeat("x", 2*MaxLine+100)
	if _, err := w.Write([]byte(body + "\n")); err != nil {
		t.Fatal(err)
	}
	logs.Close()
	lines, _, _ := logs.Lines(0)
	var joined strings.Builder
	for _, l := range lines {
		if len(l.Text) > MaxLine {
			t.Errorf("line of %d bytes, over MaxLine %d", len(l.Text), MaxLine)
		}
		text, ok := strings.CutPrefix(l.Text, prefix)
		if !ok {
			t.Fatalf("line without its prefix: %.40q", l.Text)
		}
		joined.WriteString(text)
	}
	if joined.String() != body || len(lines) != 3 {
		t.Errorf("%d lines carrying %d bytes, want 3 carrying %d", len(lines), joined.Len(), len(body))
	}
}
