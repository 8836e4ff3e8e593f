package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gpumesh/gpumesh/scheduler/executor"
)

// Replay runs rank rk of req again with exec, the way a provider's Server
// runs it: the same folder layout (dir/inputs with a copy of each input,
// dir/outputs), the same arguments, the same environment (req.Env and the
// GPUMESH_ variables from req's job, world size and peers), req's own
// limits under exec's, and the outputs listed the same way within
// maxOutputBytes (DefaultMaxOutputBytes when <= 0). files are the
// request's files by name, as local paths ("module" may be left out when
// req.Spec.Wasm.Module holds the bytes). dir is emptied first and left for
// the caller to remove.
//
// ResultDigest of what it returns is what an honest provider's result
// states for the rank, if the work is deterministic: a requester audits a
// provider by comparing the two. ctx ends the work.
func Replay(ctx context.Context, exec executor.Executor, req *RunRequest, rk int, files map[string]string, dir string, maxOutputBytes int64) (executor.Result, []File, error) {
	if !slices.Contains(req.Ranks, rk) || rk < 0 || rk >= req.WorldSize || len(req.Peers) != req.WorldSize {
		return executor.Result{}, nil, fmt.Errorf("replay: rank %d is not one of %v in a world of %d", rk, req.Ranks, req.WorldSize)
	}
	if maxOutputBytes <= 0 {
		maxOutputBytes = DefaultMaxOutputBytes
	}
	if err := os.RemoveAll(dir); err != nil {
		return executor.Result{}, nil, fmt.Errorf("replay: clear %s: %w", dir, err)
	}
	inputs, outputs := filepath.Join(dir, "inputs"), filepath.Join(dir, "outputs")
	for _, d := range []string{inputs, outputs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return executor.Result{}, nil, fmt.Errorf("replay: %w", err)
		}
	}
	var module []byte
	if w := req.Spec.Wasm; w != nil {
		module = w.Module
	}
	for name, path := range files {
		if err := validInputName(name); err != nil {
			return executor.Result{}, nil, fmt.Errorf("replay: %w", err)
		}
		if name == ModuleFile {
			b, err := os.ReadFile(path)
			if err != nil {
				return executor.Result{}, nil, fmt.Errorf("replay: module: %w", err)
			}
			module = b
			continue
		}
		if err := copyFile(path, filepath.Join(inputs, strings.TrimPrefix(name, InputPrefix))); err != nil {
			return executor.Result{}, nil, fmt.Errorf("replay: input %s: %w", name, err)
		}
	}
	r := *req
	if w := req.Spec.Wasm; w != nil {
		sum := sha256.Sum256(module)
		r.Spec.Wasm = &executor.WasmSpec{Digest: "sha256:" + hex.EncodeToString(sum[:])}
	}
	job := rankJob(&r, rk, dir, module)
	h, err := exec.Start(ctx, job)
	if err != nil {
		return executor.Result{}, nil, fmt.Errorf("replay: start rank %d: %w", rk, err)
	}
	res, err := h.Wait(ctx)
	if err != nil {
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), streamTimeout)
		_ = h.Cancel(c)
		cancel()
		return executor.Result{}, nil, fmt.Errorf("replay: rank %d: %w", rk, err)
	}
	budget := maxOutputBytes
	outs, _, _ := listOutputs(ctx, outputs, &budget)
	return res, outs, nil
}
