// Package gpumesh_test checks the shape of the code base: every package is
// documented, and imports between gpumesh packages point one way
// (cmd and client -> node -> scheduler -> gossip -> p2p, with gpu and ledger beside
// gossip and knowing nothing about networking, and internal's leaf helpers
// below them all).
package gpumesh_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/gpumesh/gpumesh"

// mayImport lists, for each top-level folder, the top-level folders its
// packages may import. A folder may always import its own sub-packages.
var mayImport = map[string][]string{
	"cmd":       {"node", "scheduler", "gossip", "p2p", "gpu", "ledger", "internal"},
	"client":    {"node", "scheduler", "gossip", "p2p", "gpu", "ledger", "internal"}, // the library researchers import; beside cmd
	"bench":     {"node", "scheduler", "gossip", "p2p", "gpu", "ledger", "internal"},
	"node":      {"scheduler", "gossip", "p2p", "gpu", "ledger", "internal"},
	"scheduler": {"gossip", "p2p", "gpu", "ledger", "internal"},
	"gossip":    {"p2p", "internal"},
	"p2p":       {"internal"},
	"gpu":       {"internal"},
	"ledger":    {"internal"},
	"internal":  {}, // leaf helpers every layer may use; they import no gpumesh package
	"scripts":   {}, // release and CI tools (scripts/archive): standard library only
}

type pkg struct {
	ImportPath   string
	Name         string
	Doc          string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.ImportPath != module { // the root holds only this test
			pkgs = append(pkgs, p)
		}
	}
	return pkgs
}

func top(importPath string) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(importPath, module), "/")
	return strings.SplitN(rel, "/", 2)[0]
}

func TestEveryPackageIsDocumented(t *testing.T) {
	for _, p := range listPackages(t) {
		if p.Doc == "" {
			t.Errorf("package %s has no package doc comment", p.ImportPath)
		}
	}
}

func TestImportsPointOneWay(t *testing.T) {
	for _, p := range listPackages(t) {
		from := top(p.ImportPath)
		allowed, known := mayImport[from]
		if !known {
			t.Errorf("package %s is in top-level folder %q, which has no import rule", p.ImportPath, from)
			continue
		}
		imports := append(append(p.Imports, p.TestImports...), p.XTestImports...)
		for _, imp := range imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			to := top(imp)
			if to == from {
				continue
			}
			ok := false
			for _, a := range allowed {
				ok = ok || a == to
			}
			if !ok {
				t.Errorf("%s imports %s: %s may import only %v", p.ImportPath, imp, from, allowed)
			}
		}
	}
}
