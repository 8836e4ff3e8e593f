// Package executortest builds the executors' test programs for tests in
// any package: the Go programs under scheduler/executor/testdata/wasm,
// compiled with GOOS=wasip1 GOARCH=wasm by the go command that runs the
// tests, once per source version, into a folder of os.TempDir.
package executortest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
)

// TB is the part of testing.TB the builder needs.
type TB interface {
	Helper()
	Skip(args ...any)
	Fatal(args ...any)
}

var (
	mu    sync.Mutex
	built = map[string]string{} // program -> module path
)

// WasmModule returns the path of testdata/wasm/<name> built as a WASI
// module. It skips the test when no go command can build it.
func WasmModule(tb TB, name string) string {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	p, skip, err := build(name)
	if skip != "" {
		tb.Skip(skip)
	}
	if err != nil {
		tb.Fatal(err)
	}
	built[name] = p
	return p
}

// Source is the folder of the wasm test programs.
func Source() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "wasm")
}

func build(name string) (path, skip string, err error) {
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		if gobin, err = exec.LookPath("go"); err != nil {
			return "", "cannot build the wasm test programs: no go command in GOROOT or PATH", nil
		}
	}
	src := filepath.Join(Source(), name)
	b, err := os.ReadFile(filepath.Join(src, "main.go"))
	if err != nil {
		return "", "", err
	}
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version(), name)
	h.Write(b)
	dir := filepath.Join(os.TempDir(), "gpumesh-wasm-"+name+"-"+hex.EncodeToString(h.Sum(nil))[:16])
	path = filepath.Join(dir, name+".wasm")
	if _, err := os.Stat(path); err == nil {
		return path, "", nil
	}
	tmp, err := os.MkdirTemp(os.TempDir(), "gpumesh-wasm-build-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command(gobin, "build", "-o", filepath.Join(tmp, name+".wasm"), ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("build wasm test program %s: %v\n%s", name, err, out)
	}
	// Another test binary may have built it meanwhile: either copy is good.
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, fs.ErrExist) {
		if _, serr := os.Stat(path); serr != nil {
			return "", "", err
		}
	}
	return path, "", nil
}
