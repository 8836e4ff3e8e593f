package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

func TestTermSafe(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain text, ünïcode ✓", "plain text, ünïcode ✓"},
		{"tab\tand newline\n", "tab\tand newline\n"},
		{"\x1b[2Jcleared", `\x1b[2Jcleared`},
		{"\x1b]0;title\x07", `\x1b]0;title\x07`},
		{"progress\roverwritten", `progress\roverwritten`},
		{"nul\x00 del\x7f bs\x08", `nul\x00 del\x7f bs\x08`},
		{"c1 csi \u009b2J", `c1 csi \u009b2J`},
		{"raw byte \x9b2J", `raw byte \x9b2J`},
		{"bidi \u202egnp.exe", `bidi \u202egnp.exe`},
		{"isolate \u2066x\u2069", `isolate \u2066x\u2069`},
		{"bad utf-8 \xff\xfe", `bad utf-8 \xff\xfe`},
		{"replacement char \uFFFD kept", "replacement char \uFFFD kept"},
		{`backslash \x1b kept`, `backslash \x1b kept`},
	} {
		if got := termSafe(c.in); got != c.want {
			t.Errorf("termSafe(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// safeForTerminal reports whether s holds no control byte but tab and
// newline, no C1 control and no bidi formatting character, and is UTF-8.
func safeForTerminal(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unsafeRune(r) {
			return false
		}
	}
	return true
}

func FuzzTermSafe(f *testing.F) {
	for _, s := range []string{"", "a\tb\n", "\x1b[2J\x1b]0;x\x07\r\u202e", "\xc2\x9b", "\xe2\x80", "\\x1b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := termSafe(s)
		if !safeForTerminal(out) {
			t.Fatalf("termSafe(%q) = %q: a control character is left", s, out)
		}
		if safeAlready(s) && out != s {
			t.Fatalf("termSafe(%q) = %q changed safe text", s, out)
		}
		var b bytes.Buffer // cut anywhere, the writer gives the same
		w := newTermWriter(&b)
		_, _ = w.Write([]byte(s[:len(s)/2]))
		_, _ = w.Write([]byte(s[len(s)/2:]))
		_ = w.Flush()
		if !safeForTerminal(b.String()) {
			t.Fatalf("termWriter wrote %q for %q", b.String(), s)
		}
	})
}

// hostileLine is a log line that clears the screen, sets the window title,
// rewrites the line and reverses what follows.
const hostileLine = "\x1b[2J\x1b]0;pwned\x07\rok \u202eexe.txt"

// TestLogsPrintsSanitized: `gpumesh logs` reads the node's log pages and
// prints hostile lines escaped, says how many were dropped, and --json
// keeps the raw text.
func TestLogsPrintsSanitized(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/jobs/j1/logs", func(w http.ResponseWriter, r *http.Request) {
		p := market.LogPage{Lines: []market.LogLine{}, Next: 1, Final: true, Counts: market.LogCounts{Lines: 1, Bytes: 1, Dropped: 3, Cap: 16 << 20}}
		if r.URL.Query().Get("from") == "0" {
			p.Lines = append(p.Lines, market.LogLine{Rank: 2, Text: hostileLine})
		}
		_ = json.NewEncoder(w).Encode(p)
	})
	dir := nodeServing(t, mux)
	var out, errOut bytes.Buffer
	if code := Run(context.Background(), []string{"logs", "j1", "--data-dir", dir}, &out, &errOut); code != 0 {
		t.Fatalf("logs = exit %d: %s", code, errOut.String())
	}
	if want := `[2] \x1b[2J\x1b]0;pwned\x07\rok \u202eexe.txt` + "\n"; out.String() != want {
		t.Errorf("logs printed %q, want %q", out.String(), want)
	}
	if !strings.Contains(errOut.String(), "3 later lines dropped") {
		t.Errorf("logs did not say lines were dropped: %q", errOut.String())
	}
	out.Reset()
	if code := Run(context.Background(), []string{"logs", "j1", "--json", "--data-dir", dir}, &out, &errOut); code != 0 {
		t.Fatalf("logs --json = exit %d: %s", code, errOut.String())
	}
	var l market.LogLine
	if err := json.Unmarshal(out.Bytes(), &l); err != nil || l.Text != hostileLine {
		t.Errorf("logs --json gave %q (%v), want the raw line", l.Text, err)
	}
}

// TestSubmitPrintsSanitized: submit follows a job's events and its log
// pages together and prints what the network said (log lines, event
// texts, the failure reason, on stdout and stderr) escaped.
func TestSubmitPrintsSanitized(t *testing.T) {
	hostile := market.JobView{ID: "j1", State: market.StateFailed, Error: "provider said " + hostileLine}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(market.JobView{ID: "j1", State: market.StateBidding})
	})
	mux.HandleFunc("GET /api/v1/jobs/j1/events", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(market.Event{Kind: "failed", Text: "event " + hostileLine})
	})
	mux.HandleFunc("GET /api/v1/jobs/j1/logs", func(w http.ResponseWriter, r *http.Request) {
		p := market.LogPage{Lines: []market.LogLine{}, Next: 1, Final: true}
		if r.URL.Query().Get("from") == "0" {
			p.Lines = append(p.Lines, market.LogLine{Rank: 0, Text: "log " + hostileLine})
		}
		_ = json.NewEncoder(w).Encode(p)
	})
	mux.HandleFunc("GET /api/v1/jobs/j1", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(hostile)
	})
	dir := nodeServing(t, mux)
	var out, errOut bytes.Buffer
	if code := Run(context.Background(), []string{"submit", "--workers", "1", "--data-dir", dir}, &out, &errOut); code != ExitFailure {
		t.Fatalf("submit = exit %d, want %d: %s", code, ExitFailure, errOut.String())
	}
	escaped := `\x1b[2J\x1b]0;pwned\x07\rok \u202eexe.txt`
	for _, want := range []string{"[0] log " + escaped, "event " + escaped, "provider said " + escaped} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("submit output lacks %q:\n%s", want, out.String())
		}
	}
	for name, s := range map[string]string{"stdout": out.String(), "stderr": errOut.String()} {
		if !safeForTerminal(s) {
			t.Errorf("%s holds a control character: %q", name, s)
		}
	}
}

// TestPeersPrintsSanitized: every command's human output is made safe,
// not only the job commands': `gpumesh peers` prints the agent each peer
// announced through identify, which that peer chose. --json keeps it raw.
func TestPeersPrintsSanitized(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/peers", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode([]api.Peer{{ID: "12D3KooWpeer", Direction: "inbound", Agent: hostileLine}})
	})
	dir := nodeServing(t, mux)
	var out, errOut bytes.Buffer
	if code := Run(context.Background(), []string{"peers", "--data-dir", dir}, &out, &errOut); code != 0 {
		t.Fatalf("peers = exit %d: %s", code, errOut.String())
	}
	if strings.ContainsAny(out.String(), "\x1b\x07\r\u202e") {
		t.Errorf("peers printed control characters: %q", out.String())
	}
	if !strings.Contains(out.String(), `\x1b[2J\x1b]0;pwned\x07\rok \u202eexe.txt`) {
		t.Errorf("peers did not print the agent escaped: %q", out.String())
	}
	out.Reset()
	if code := Run(context.Background(), []string{"peers", "--json", "--data-dir", dir}, &out, &errOut); code != 0 {
		t.Fatalf("peers --json = exit %d: %s", code, errOut.String())
	}
	var ps []api.Peer
	if err := json.Unmarshal(out.Bytes(), &ps); err != nil || len(ps) != 1 || ps[0].Agent != hostileLine {
		t.Errorf("peers --json gave %+v (%v), want the raw agent", ps, err)
	}
}

// nodeServing serves mux as a running node's API for the test and returns
// a data dir whose api file points the CLI at it.
func nodeServing(t *testing.T, mux *http.ServeMux) string {
	t.Helper()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	if err := api.WriteAddrFile(dir, srv.URL); err != nil {
		t.Fatal(err)
	}
	return dir
}
