package protocoltest

import (
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// TestSchemasMatchGoTypes: every JSON field each Go message type emits,
// nested ones included, is a property of its schema, and every property is
// a field. The settle frames, unexported in scheduler/market, are checked
// there; the checkpoint, which travels as an unexported wire struct, by
// TestCheckpointFieldsMatchSchema.
func TestSchemasMatchGoTypes(t *testing.T) {
	types := map[string]any{
		"market-ack": market.Ack{}, "run-ack": run.Ack{}, "run-event": run.Event{},
	}
	for name, rec := range signedMessages(t) {
		if name != "checkpoint" {
			types[name] = rec
		}
	}
	for name, v := range types {
		problems, err := Drift(name, v)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("schema %s: %s", name, p)
		}
	}
}

// TestDriftFindsDrift: the walk sees a field the schema lacks, a property
// no field emits and a nested struct under a loose schema node, at depth.
func TestDriftFindsDrift(t *testing.T) {
	type docker struct {
		executor.DockerSpec
		User string `json:"user"`
	}
	type spec struct { // no wasm and process
		Version  int             `json:"version"`
		Executor string          `json:"executor"`
		Docker   *docker         `json:"docker"`
		Args     []string        `json:"args"`
		Limits   executor.Limits `json:"limits"`
	}
	type req struct {
		run.RunRequest
		Spec spec `json:"spec"` // shadows the embedded one
	}
	problems, err := Drift("run-request", req{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`run-request.spec.docker: Go field "user" (protocoltest.docker) is not in the schema`,
		`run-request.spec: schema property "process" is no field of Go type protocoltest.spec`,
		`run-request.spec: schema property "wasm" is no field of Go type protocoltest.spec`,
	}
	if strings.Join(problems, "\n") != strings.Join(want, "\n") {
		t.Errorf("drift found\n%s\nwant\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
	loose, err := Drift("run-ack", struct {
		OK     bool               `json:"ok"`
		Reason struct{ Code int } `json:"reason"`
	}{})
	if err != nil {
		t.Fatal(err)
	}
	if len(loose) != 4 { // reason lists no properties; busy, heartbeat_ns and cached missing
		t.Errorf("drift found %q in a type lacking 3 fields with a struct for a string", loose)
	}
}

// TestCheckpointFieldsMatchSchema: a checkpoint travels as an unexported
// wire struct whose fields are all always sent, so the keys of one
// marshalled are exactly its schema's properties.
func TestCheckpointFieldsMatchSchema(t *testing.T) {
	payload, err := signedMessages(t)["checkpoint"].MarshalRecord()
	if err != nil {
		t.Fatal(err)
	}
	var sent map[string]json.RawMessage
	if err := json.Unmarshal(payload, &sent); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(SchemaPath("checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	var schema schemaNode
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(sent)), slices.Sorted(maps.Keys(schema.Properties)); !slices.Equal(got, want) {
		t.Errorf("a checkpoint sends %v, its schema lists %v", got, want)
	}
}
