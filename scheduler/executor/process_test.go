package executor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// jobDir makes a job folder with inputs/in.txt and an empty outputs/.
func jobDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"inputs", "outputs"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "inputs", "in.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func newShell(t *testing.T, lim Limits) *Process {
	t.Helper()
	p, err := NewProcess(ProcessConfig{Allow: map[string][]string{"sh": {"/bin/sh", "-c"}}, Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func runShell(t *testing.T, p *Process, script string, lim Limits) (Result, []Line, string) {
	t.Helper()
	dir := jobDir(t)
	h, err := p.Start(context.Background(), Job{ID: "j", Dir: dir, Limits: lim, Env: map[string]string{"GPUMESH_RANK": "2"},
		Spec: Spec{Version: SpecVersion, Executor: "process", Process: &ProcessSpec{Command: "sh"}, Args: []string{script}}})
	if err != nil {
		t.Fatal(err)
	}
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
	return res, lines, dir
}

func TestProcessRunsAllowlistedCommand(t *testing.T) {
	p := newShell(t, Limits{})
	res, lines, dir := runShell(t, p, `echo rank=$GPUMESH_RANK; tr a-z A-Z < $GPUMESH_INPUTS/in.txt > $GPUMESH_OUTPUTS/out.txt; echo oops >&2; printf tail`, Limits{})
	if res.Status != StatusSucceeded || res.ExitCode != 0 {
		t.Fatalf("result %+v", res)
	}
	var text []string
	for _, l := range lines {
		text = append(text, l.Stream+":"+l.Text)
	}
	if got := strings.Join(text, "|"); !strings.Contains(got, "stdout:rank=2") || !strings.Contains(got, "stderr:oops") || !strings.Contains(got, "stdout:tail") {
		t.Errorf("logs %q: want the rank, the stderr line and the unterminated last line", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "outputs", "out.txt")); string(b) != "HELLO\n" {
		t.Errorf("output %q", b)
	}
}

func TestProcessRefusesAndStops(t *testing.T) {
	p := newShell(t, Limits{})
	_, err := p.Start(context.Background(), Job{Dir: jobDir(t), Spec: Spec{Version: SpecVersion, Executor: "process", Process: &ProcessSpec{Command: "rm"}}})
	if !errors.Is(err, ErrNotAllowed) || !strings.Contains(err.Error(), `"rm"`) {
		t.Errorf("command not allowlisted: %v, want ErrNotAllowed naming it", err)
	}
	if _, err := NewProcess(ProcessConfig{Allow: map[string][]string{"x": {"relative/path"}}}); err == nil {
		t.Error("a relative program path was accepted")
	}
	cases := []struct {
		name, script string
		lim          Limits
		status       Status
		reason       string
	}{
		{"wall limit", "sleep 30", Limits{Wall: 300 * time.Millisecond}, StatusLimit, "wall time"},
		{"cpu limit", "while :; do :; done", Limits{CPU: time.Second}, StatusLimit, "CPU time"},
		{"output limit", "yes", Limits{OutputBytes: 1 << 20}, StatusLimit, "output over"},
		{"outputs folder limit", "head -c 100000 /dev/zero > $GPUMESH_OUTPUTS/big", Limits{OutputBytes: 50000}, StatusLimit, "an output file over 50000 bytes"},
		{"exit code", "exit 3", Limits{}, StatusFailed, "exit status 3"},
		{"children killed with the job", "sleep 30 & sleep 30", Limits{Wall: 300 * time.Millisecond}, StatusLimit, "wall time"},
	}
	for _, c := range cases {
		start := time.Now()
		res, _, _ := runShell(t, p, c.script, c.lim)
		if res.Status != c.status || !strings.Contains(res.Reason, c.reason) {
			t.Errorf("%s: %s %q, want %s %q", c.name, res.Status, res.Reason, c.status, c.reason)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("%s took %s", c.name, took)
		}
	}
}

func TestProcessCancel(t *testing.T) {
	p := newShell(t, Limits{})
	h, err := p.Start(context.Background(), Job{Dir: jobDir(t), Spec: Spec{Version: SpecVersion, Executor: "process", Process: &ProcessSpec{Command: "sh"}, Args: []string{"sleep 30"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if res, _ := h.Wait(ctx); res.Status != StatusCancelled {
		t.Errorf("after Cancel: %+v", res)
	}
}

func TestLimitsCapAndSpecValidate(t *testing.T) {
	got := Limits{Wall: time.Hour, MemoryBytes: 10}.Cap(Limits{Wall: time.Minute, CPU: time.Second, MemoryBytes: 100})
	if got != (Limits{Wall: time.Minute, CPU: time.Second, MemoryBytes: 10}) {
		t.Errorf("Cap = %+v", got)
	}
	if got := (Limits{Wall: 2 * time.Hour}).Or(DefaultProcessLimits); got.Wall != 2*time.Hour || got.MemoryBytes != DefaultProcessLimits.MemoryBytes {
		t.Errorf("Or = %+v: a provider's own limit must stand, zero fields take the defaults", got)
	}
	good := Spec{Version: SpecVersion, Executor: "process", Process: &ProcessSpec{Command: "sh"}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]Spec{
		"version 2":        {Version: 2, Executor: "process", Process: &ProcessSpec{}},
		"two sections":     {Version: 1, Executor: "process", Process: &ProcessSpec{}, Wasm: &WasmSpec{}},
		"section mismatch": {Version: 1, Executor: "wasm", Process: &ProcessSpec{}},
		"unknown executor": {Version: 1, Executor: "vm", Process: &ProcessSpec{}},
		"negative limit":   {Version: 1, Executor: "process", Process: &ProcessSpec{}, Limits: Limits{Wall: -1}},
		"huge argument":    {Version: 1, Executor: "process", Process: &ProcessSpec{}, Args: []string{strings.Repeat("a", 5000)}},
	} {
		if err := s.Validate(); !errors.Is(err, ErrBadSpec) {
			t.Errorf("%s: %v, want ErrBadSpec", name, err)
		}
	}
}

func TestLogsSplitLinesAndLimit(t *testing.T) {
	over := 0
	l := NewLogs(20, func() { over++ })
	w := l.Writer("stdout")
	_, _ = w.Write([]byte("ab\ncd"))
	_, _ = w.Write([]byte("ef\n"))
	lines, next, closed := l.Lines(0)
	if len(lines) != 2 || lines[0].Text != "ab" || lines[1].Text != "cdef" || closed {
		t.Fatalf("lines %+v", lines)
	}
	_, _ = w.Write([]byte("0123456789abcdef\n")) // 8 + 17 > 20: cut at the limit, no newline yet
	_, _ = w.Write([]byte("more"))
	l.Close() // the partial line becomes a line
	select {
	case <-next:
	default:
		t.Error("readers were not told of the last line")
	}
	lines, _, closed = l.Lines(2)
	if over != 1 || !l.Over() || !closed || len(lines) != 1 || lines[0].Text != "0123456789ab" {
		t.Errorf("after the limit: over %d, lines %+v, closed %v", over, lines, closed)
	}
}
