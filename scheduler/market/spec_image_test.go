package market

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// testArchive writes a minimal docker save archive (manifest.json naming
// a config and a layer it holds) and returns its path and digest.
func testArchive(t *testing.T, files map[string]string) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range []string{"c.json", "l/layer.tar", "manifest.json", "other.txt"} {
		body, ok := files[n]
		if !ok {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "img.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return p, "sha256:" + hex.EncodeToString(sum[:])
}

// TestSpecImageArchive: an image that is an absolute path is an archive:
// checked at submit, published by its digest only, and sent as the run
// request's image file.
func TestSpecImageArchive(t *testing.T) {
	path, digest := testArchive(t, map[string]string{"c.json": "{}", "l/layer.tar": "x",
		"manifest.json": `[{"Config":"c.json","RepoTags":["mine:latest"],"Layers":["l/layer.tar"]}]`})
	s, err := Spec{Image: path}.Normalize(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if s.Executor != "docker" || s.Workload != digest {
		t.Errorf("executor %s, workload %s; want docker, %s (the digest, not the path)", s.Executor, s.Workload, digest)
	}
	spec, files, err := workSpec(s)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Docker == nil || spec.Docker.Archive != digest || spec.Docker.Image != "" || files[run.ImageFile] != path {
		t.Errorf("work spec %+v, files %v; want the archive by digest and its file", spec.Docker, files)
	}

	notImage, _ := testArchive(t, map[string]string{"other.txt": "hello"})
	for name, c := range map[string]struct {
		spec Spec
		says string
	}{
		"not an image":   {Spec{Image: notImage}, "neither manifest.json nor index.json"},
		"no such file":   {Spec{Image: filepath.Join(t.TempDir(), "gone.tar")}, "no such file"},
		"a folder":       {Spec{Image: t.TempDir()}, "not a regular file"},
		"image and wasm": {Spec{Image: path, Module: path}, "give one"},
	} {
		_, err := c.spec.Normalize(DefaultConfig())
		if !errors.Is(err, ErrBadSpec) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: got %v, want ErrBadSpec saying %q", name, err, c.says)
		}
	}
	if _, err := (Spec{Image: notImage}).Normalize(DefaultConfig()); !errors.Is(err, executor.ErrNotImage) {
		t.Errorf("not an image: %v, want it to wrap executor.ErrNotImage", err)
	}
}

// TestSpecEnv: a job's env reaches the run request; names gpumesh sets
// and loader or GPU variables are refused at submit with their reason.
func TestSpecEnv(t *testing.T) {
	s, err := Spec{Image: "busybox@sha256:" + strings.Repeat("a", 64), Env: map[string]string{"OMP_NUM_THREADS": "4"}}.Normalize(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if s.Env["OMP_NUM_THREADS"] != "4" {
		t.Errorf("env %v", s.Env)
	}
	for name, c := range map[string]struct {
		spec Spec
		says string
	}{
		"reserved": {Spec{Command: "train", Env: map[string]string{"GPUMESH_RANK": "3"}}, "GPUMESH_RANK is reserved"},
		"loader":   {Spec{Command: "train", Env: map[string]string{"LD_PRELOAD": "/x.so"}}, "LD_PRELOAD is never allowed"},
		"devices":  {Spec{Command: "train", Env: map[string]string{"NVIDIA_VISIBLE_DEVICES": "all"}}, "NVIDIA_VISIBLE_DEVICES is never allowed"},
		"bad name": {Spec{Command: "train", Env: map[string]string{"A=B": "x"}}, "not a name"},
		"no work":  {Spec{Env: map[string]string{"A": "x"}}, "env without work"},
	} {
		_, err := c.spec.Normalize(DefaultConfig())
		if !errors.Is(err, ErrBadSpec) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: got %v, want ErrBadSpec saying %q", name, err, c.says)
		}
	}
}
