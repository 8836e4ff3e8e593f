package protocoltest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/anchor"
	"github.com/gpumesh/gpumesh/p2p/capacity"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// recordTypes maps every type of the source tree that implements a libp2p
// record's Codec (a signed message) to its schema. A new signed message
// fails TestEverySignedMessageHasASchema until it is added here, with its
// schema under docs/protocol/schemas and a case in signedMessages.
var recordTypes = map[string]string{
	"gossip.Heartbeat":          "heartbeat",
	"gossip.JobRequest":         "job-request",
	"gossip.Bid":                "bid",
	"gossip.Award":              "award",
	"gossip.Accept":             "accept",
	"gossip.Decline":            "decline",
	"gossip.Release":            "release",
	"gossip.RTTProbe":           "rtt-probe",
	"gossip.RTTRow":             "rtt-row",
	"gossip.AnchorAnnouncement": "anchor-announcement",
	"run.RunRequest":            "run-request",
	"run.MemberUpdate":          "net-member",
	"capacity.Record":           "capacity-record",
	"ledger.Receipt":            "receipt",
	"ledger.Countersignature":   "receipt-countersign",
	"anchor.Checkpoint":         "checkpoint",
}

// notSent are record types in the tree that no node sends: the benchmark's
// probe lives only inside `make bench`.
var notSent = map[string]bool{"bench.probe": true}

// codecTypes finds every method named Codec with a receiver in the
// non-test Go files of the module, as "folder.Type".
func codecTypes(t *testing.T) []string {
	t.Helper()
	root := filepath.Join(Dir(), "..", "..")
	var found []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || fn.Name.Name != "Codec" || len(fn.Recv.List) != 1 {
				continue
			}
			typ := fn.Recv.List[0].Type
			if star, ok := typ.(*ast.StarExpr); ok {
				typ = star.X
			}
			if id, ok := typ.(*ast.Ident); ok {
				found = append(found, filepath.Base(filepath.Dir(path))+"."+id.Name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk the source tree: %v", err)
	}
	return found
}

func TestEverySignedMessageHasASchema(t *testing.T) {
	found := codecTypes(t)
	if len(found) < len(recordTypes) {
		t.Fatalf("found only %d record types in the tree (%v): the walk is broken", len(found), found)
	}
	built := signedMessages(t)
	for _, typ := range found {
		if notSent[typ] {
			continue
		}
		name, ok := recordTypes[typ]
		if !ok {
			t.Errorf("%s is a signed message with no schema: add docs/protocol/schemas/<name>.json, its row in docs/protocol/README.md and envelope-1.md, and an entry in recordTypes and signedMessages", typ)
			continue
		}
		if _, ok := built[name]; !ok {
			t.Errorf("%s (%s) is not built by signedMessages", typ, name)
		}
	}
}

// TestEverySchemaIsUsed: each schema compiles and belongs to a message.
func TestEverySchemaIsUsed(t *testing.T) {
	names, err := Names()
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{"market-ack": true, "run-ack": true, "run-event": true,
		"settle-request": true, "settle-offer": true, "settle-answer": true}
	for _, n := range recordTypes {
		used[n] = true
	}
	for _, n := range names {
		if _, err := Schema(n); err != nil {
			t.Error(err)
		}
		if !used[n] {
			t.Errorf("schema %s belongs to no message", n)
		}
	}
	for n := range used {
		if !slices.Contains(names, n) {
			t.Errorf("message %s has no schema file", n)
		}
	}
}

// TestSchemasRefuseBadMessages: the schemas are strict where the decoders
// are: a zero seq, an unknown field, a seq past 2^64 or 2^53 - 1.
func TestSchemasRefuseBadMessages(t *testing.T) {
	for _, bad := range []string{
		`{"seq":0,"sent":"2026-12-07T16:00:00Z","expires":"2026-12-07T16:01:00Z","agent":"a"}`,
		`{"seq":1,"sent":"2026-12-07T16:00:00Z","expires":"2026-12-07T16:01:00Z","agent":"a","from":"x"}`,
		`{"seq":18446744073709551616,"sent":"2026-12-07T16:00:00Z","expires":"2026-12-07T16:01:00Z","agent":"a"}`,
		`{"seq":9007199254740992,"sent":"2026-12-07T16:00:00Z","expires":"2026-12-07T16:01:00Z","agent":"a"}`,
		`{"seq":1,"sent":"yesterday","expires":"2026-12-07T16:01:00Z","agent":"a"}`,
	} {
		if err := Validate("heartbeat", []byte(bad)); err == nil {
			t.Errorf("heartbeat schema accepts %s", bad)
		}
	}
}

// decoders decode a docs example with the Go code that decodes the message
// off the wire; for signed messages that is its UnmarshalRecord.
var decoders = map[string]func([]byte) error{
	"heartbeat":           func(b []byte) error { return new(gossip.Heartbeat).UnmarshalRecord(b) },
	"job-request":         func(b []byte) error { return new(gossip.JobRequest).UnmarshalRecord(b) },
	"bid":                 func(b []byte) error { return new(gossip.Bid).UnmarshalRecord(b) },
	"award":               func(b []byte) error { return new(gossip.Award).UnmarshalRecord(b) },
	"accept":              func(b []byte) error { return new(gossip.Accept).UnmarshalRecord(b) },
	"rtt-probe":           func(b []byte) error { return new(gossip.RTTProbe).UnmarshalRecord(b) },
	"rtt-row":             func(b []byte) error { return new(gossip.RTTRow).UnmarshalRecord(b) },
	"decline":             func(b []byte) error { return new(gossip.Decline).UnmarshalRecord(b) },
	"release":             func(b []byte) error { return new(gossip.Release).UnmarshalRecord(b) },
	"anchor-announcement": func(b []byte) error { return new(gossip.AnchorAnnouncement).UnmarshalRecord(b) },
	"run-request":         func(b []byte) error { return new(run.RunRequest).UnmarshalRecord(b) },
	"net-member":          func(b []byte) error { return new(run.MemberUpdate).UnmarshalRecord(b) },
	"capacity-record":     func(b []byte) error { return new(capacity.Record).UnmarshalRecord(b) },
	"receipt":             func(b []byte) error { return new(ledger.Receipt).UnmarshalRecord(b) },
	"receipt-countersign": func(b []byte) error { return new(ledger.Countersignature).UnmarshalRecord(b) },
	"checkpoint":          func(b []byte) error { return new(anchor.Checkpoint).UnmarshalRecord(b) },
	"market-ack":          func(b []byte) error { return strict(b, new(market.Ack)) },
	"run-ack":             func(b []byte) error { return strict(b, new(run.Ack)) },
	"run-event":           func(b []byte) error { return strict(b, new(run.Event)) },
}

// strict decodes b into v refusing unknown fields, so a docs example with a
// misspelt field fails here rather than in a reader's client.
func strict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

var exampleTag = regexp.MustCompile(`^<!-- example: ([a-z0-9-]+) -->$`)

type example struct {
	file, name string
	line       int
	body       []byte
}

// examples finds every block tagged <!-- example: NAME --> followed by a
// ```json fence in docs/protocol.
func examples(t *testing.T) []example {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(Dir(), "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []example
	for _, page := range pages {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		var cur *example
		inBlock, n := false, 0
		for sc.Scan() {
			n++
			line := sc.Text()
			switch {
			case cur == nil && !inBlock:
				if m := exampleTag.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
					cur = &example{file: filepath.Base(page), name: m[1], line: n}
				}
			case !inBlock:
				if strings.TrimSpace(line) != "```json" {
					t.Errorf("%s:%d: example %s is not followed by a ```json block", cur.file, cur.line, cur.name)
					cur = nil
					continue
				}
				inBlock = true
			case strings.TrimSpace(line) == "```":
				out = append(out, *cur)
				cur, inBlock = nil, false
			default:
				cur.body = append(append(cur.body, line...), '\n')
			}
		}
	}
	return out
}

func TestDocExamplesDecode(t *testing.T) {
	exs := examples(t)
	if len(exs) < 5 {
		t.Fatalf("found %d examples in docs/protocol, want at least 5: the scanner is broken", len(exs))
	}
	for _, ex := range exs {
		decode, ok := decoders[ex.name]
		if !ok {
			t.Errorf("%s:%d: example of %q, which no decoder knows", ex.file, ex.line, ex.name)
			continue
		}
		if err := decode(ex.body); err != nil {
			t.Errorf("%s:%d: example %s does not decode: %v", ex.file, ex.line, ex.name, err)
		}
		if err := Validate(ex.name, ex.body); err != nil {
			t.Errorf("%s:%d: example %v", ex.file, ex.line, err)
		}
	}
}
