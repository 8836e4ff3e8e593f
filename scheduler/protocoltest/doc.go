// Package protocoltest checks the written wire protocol (docs/protocol)
// against the Go code: every message the code emits validates against its
// JSON Schema under docs/protocol/schemas, and every example in the docs
// decodes with the Go decoder. It holds only test helpers; the checks are
// its tests, and other packages' tests may call Validate for their own
// unexported messages.
package protocoltest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Dir is the docs/protocol folder of the source tree this file is in.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "docs", "protocol")
}

// SchemaPath is the path of the schema of the named message ("bid").
func SchemaPath(name string) string {
	return filepath.Join(Dir(), "schemas", name+".json")
}

var (
	mu       sync.Mutex
	compiled = map[string]*jsonschema.Schema{}
)

// Schema compiles, once, the schema of the named message.
func Schema(name string) (*jsonschema.Schema, error) {
	mu.Lock()
	defer mu.Unlock()
	if s, ok := compiled[name]; ok {
		return s, nil
	}
	s, err := jsonschema.NewCompiler().Compile(SchemaPath(name))
	if err != nil {
		return nil, fmt.Errorf("compile schema %s: %w", name, err)
	}
	compiled[name] = s
	return s, nil
}

// Validate checks the JSON payload against the named message's schema.
// Numbers are read exactly (as json.Number), so 64-bit values keep every
// digit.
func Validate(name string, payload []byte) error {
	s, err := Schema(name)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("%s payload is not JSON: %w", name, err)
	}
	if err := s.Validate(inst); err != nil {
		return fmt.Errorf("%s payload %s: %w", name, payload, err)
	}
	return nil
}

// Names lists the messages that have a schema, from the schema files.
func Names() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(Dir(), "schemas"))
	if err != nil {
		return nil, fmt.Errorf("list schemas: %w", err)
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			names = append(names, n)
		}
	}
	return names, nil
}
