package protocoltest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// This file checks the nested blocks of the run request's spec (wasm,
// docker, process, limits) and the run event's log line: each Go-built
// block validates, and each bad input the schema refuses, the Go receiver
// refuses too, but for unknown fields, which Go ignores (envelope-1.md).

var digestA, digestB = "sha256:" + job + job, "sha256:" + strings.Repeat("ab", 32)

// runRequestWith is a run request as a requester builds it for spec, with
// the files the spec needs.
func runRequestWith(self, other peer.ID, spec executor.Spec, files ...run.File) *run.RunRequest {
	spec.Version = executor.SpecVersion
	spec.Limits = executor.Limits{Wall: time.Hour, CPU: 2 * time.Hour, MemoryBytes: 8 << 30, OutputBytes: 1 << 30, PIDs: 256}
	files = append(files, run.File{Name: run.InputPrefix + "data.bin", Digest: digestB, Size: 42})
	return &run.RunRequest{Job: job, Seq: seq, Sent: t0, Ranks: []int{1}, WorldSize: 2, Peers: []string{other.String(), self.String()},
		Spec: spec, Files: files, Env: map[string]string{"EPOCHS": "3"}}
}

// specRequests are run requests with every kind of executor block.
func specRequests(t *testing.T) map[string]*run.RunRequest {
	t.Helper()
	_, self := newKey(t)
	_, other := newKey(t)
	return map[string]*run.RunRequest{
		"wasm": runRequestWith(self, other, executor.Spec{Executor: "wasm", Wasm: &executor.WasmSpec{Digest: digestA}, Args: []string{"-n", "3"}},
			run.File{Name: run.ModuleFile, Digest: digestA, Size: 1234}),
		"docker image": runRequestWith(self, other, executor.Spec{Executor: "docker", Docker: &executor.DockerSpec{
			Image: "ghcr.io/lab/train@" + digestA, Entrypoint: []string{"python", "train.py"}, GPUs: 2, Network: true, Privileged: true, HostNetwork: true}}),
		"docker archive": runRequestWith(self, other, executor.Spec{Executor: "docker", Docker: &executor.DockerSpec{Archive: digestA}},
			run.File{Name: run.ImageFile, Digest: digestA, Size: 1 << 20}),
		"process": runRequestWith(self, other, executor.Spec{Executor: "process", Process: &executor.ProcessSpec{Command: "train", PerDevice: true}, Args: []string{"--fast"}}),
	}
}

// edit decodes a JSON payload (numbers exact), applies f, and encodes it again.
func edit(t *testing.T, payload []byte, f func(m map[string]any)) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// obj is the object at the path of keys under m.
func obj(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		m = m[k].(map[string]any)
	}
	return m
}

// goRunRequest is what a provider does with a run request's payload:
// decode it, then validate it.
func goRunRequest(b []byte) error {
	var r run.RunRequest
	if err := r.UnmarshalRecord(b); err != nil {
		return err
	}
	return r.Validate(t0, time.Minute)
}

// goEvent is what a requester does with an event frame: decode, validate.
func goEvent(b []byte) error {
	var e run.Event
	if err := json.Unmarshal(b, &e); err != nil {
		return err
	}
	return e.Validate()
}

// badCase is a payload edit that the schema refuses; goIgnores marks the
// edits the Go receiver accepts (an unknown field), as documented.
type badCase struct {
	name      string
	base      string
	edit      func(m map[string]any)
	goIgnores bool
}

func TestRunRequestSpecBlocks(t *testing.T) {
	key, _ := newKey(t)
	payloads := map[string][]byte{}
	for name, req := range specRequests(t) {
		if err := req.Validate(t0, time.Minute); err != nil {
			t.Fatalf("%s: the Go-built request is invalid: %v", name, err)
		}
		_, payload := sealed(t, key, req)
		if err := Validate("run-request", payload); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		payloads[name] = payload
	}
	spec := func(m map[string]any) map[string]any { return obj(m, "spec") }
	set := func(keys []string, k string, v any) func(m map[string]any) {
		return func(m map[string]any) { obj(m, keys...)[k] = v }
	}
	long := strings.Repeat("x", 4097)
	for _, c := range []badCase{
		{"version 2", "wasm", set([]string{"spec"}, "version", 2), false},
		{"wasm and docker sections", "wasm", set([]string{"spec"}, "docker", map[string]any{"image": "alpine"}), false},
		{"executor docker with a wasm section", "wasm", set([]string{"spec"}, "executor", "docker"), false},
		{"executor named gpu", "wasm", set([]string{"spec"}, "executor", "gpu"), false},
		{"wasm module in the spec", "wasm", set([]string{"spec", "wasm"}, "module", "AGFzbQ=="), false},
		{"wasm digest not sha256", "wasm", set([]string{"spec", "wasm"}, "digest", "md5:00"), false},
		{"wasm without digest", "wasm", func(m map[string]any) { delete(obj(m, "spec", "wasm"), "digest") }, false},
		{"docker image and archive", "docker archive", set([]string{"spec", "docker"}, "image", "alpine"), false},
		{"docker neither image nor archive", "docker image", set([]string{"spec", "docker"}, "image", ""), false},
		{"docker image with a space", "docker image", set([]string{"spec", "docker"}, "image", "alpine latest"), false},
		{"docker image of 256 bytes", "docker image", set([]string{"spec", "docker"}, "image", strings.Repeat("a", 256)), false},
		{"docker archive not sha256", "docker archive", set([]string{"spec", "docker"}, "archive", "sha256:abc"), false},
		{"docker 257 entrypoint words", "docker image", set([]string{"spec", "docker"}, "entrypoint", make([]string, 257)), false},
		{"docker entrypoint word with NUL", "docker image", set([]string{"spec", "docker"}, "entrypoint", []string{"a\x00b"}), false},
		{"docker entrypoint word of 4097 bytes", "docker image", set([]string{"spec", "docker"}, "entrypoint", []string{long}), false},
		{"docker gpus -1", "docker image", set([]string{"spec", "docker"}, "gpus", -1), false},
		{"docker gpus 65", "docker image", set([]string{"spec", "docker"}, "gpus", 65), false},
		{"docker gpus as a string", "docker image", set([]string{"spec", "docker"}, "gpus", "2"), false},
		{"process per_device as a string", "process", set([]string{"spec", "process"}, "per_device", "yes"), false},
		{"257 args", "process", set([]string{"spec"}, "args", make([]string, 257)), false},
		{"an arg of 4097 bytes", "process", set([]string{"spec"}, "args", []string{long}), false},
		{"negative wall time", "wasm", set([]string{"spec", "limits"}, "wall_ns", -1), false},
		{"negative memory", "docker image", set([]string{"spec", "limits"}, "memory_bytes", -1), false},
		{"pids as a fraction", "process", set([]string{"spec", "limits"}, "pids", 1.5), false},
		{"cpu past int64", "process", set([]string{"spec", "limits"}, "cpu_ns", json.Number("9223372036854775808")), false},
		{"unknown field in wasm", "wasm", set([]string{"spec", "wasm"}, "entry", "_start"), true},
		{"unknown field in docker", "docker image", set([]string{"spec", "docker"}, "user", "root"), true},
		{"unknown field in process", "process", set([]string{"spec", "process"}, "shell", true), true},
		{"unknown field in limits", "wasm", set([]string{"spec", "limits"}, "gpu_ns", 1), true},
		{"unknown field in spec", "wasm", func(m map[string]any) { spec(m)["image"] = "x" }, true},
	} {
		b := edit(t, payloads[c.base], c.edit)
		if err := Validate("run-request", b); err == nil {
			t.Errorf("%s: the schema accepts %s", c.name, b)
		}
		switch err := goRunRequest(b); {
		case c.goIgnores && err != nil:
			t.Errorf("%s: the Go receiver refuses it (%v); the docs say it ignores unknown fields", c.name, err)
		case !c.goIgnores && err == nil:
			t.Errorf("%s: the schema refuses it but the Go receiver accepts it", c.name)
		}
	}
}

func TestRunEventLogLine(t *testing.T) {
	good, err := json.Marshal(run.Event{Kind: run.KindLog, Rank: 1, Line: &executor.Line{At: t0, Stream: "stderr", Text: strings.Repeat("é", executor.MaxLine/2)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := goEvent(good); err != nil {
		t.Fatalf("the Go-built event is invalid: %v", err)
	}
	if err := Validate("run-event", good); err != nil {
		t.Error(err)
	}
	set := func(k string, v any) func(m map[string]any) { return func(m map[string]any) { obj(m, "line")[k] = v } }
	for _, c := range []badCase{
		{name: "stream stdin", edit: set("stream", "stdin")},
		{name: "no stream", edit: func(m map[string]any) { delete(obj(m, "line"), "stream") }},
		{name: "text of 16385 bytes", edit: set("text", strings.Repeat("x", executor.MaxLine+1))},
		{name: "text as a number", edit: set("text", 3)},
		{name: "at not a time", edit: set("at", "yesterday")},
		{name: "a log event without its line", edit: func(m map[string]any) { delete(m, "line") }},
		{name: "unknown field in the line", edit: set("fd", 2), goIgnores: true},
	} {
		b := edit(t, good, c.edit)
		if err := Validate("run-event", b); err == nil {
			t.Errorf("%s: the schema accepts %.200s", c.name, b)
		}
		switch err := goEvent(b); {
		case c.goIgnores && err != nil:
			t.Errorf("%s: the Go receiver refuses it (%v); the docs say it ignores unknown fields", c.name, err)
		case !c.goIgnores && err == nil:
			t.Errorf("%s: the schema refuses it but the Go receiver accepts it", c.name)
		}
	}
}
