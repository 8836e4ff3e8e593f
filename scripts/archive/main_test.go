package main

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestArchivesHoldFilesUnderOneFolderWithModes: both formats put every
// file under the top folder, the binary executable and the rest not, with
// the given date and the files' bytes.
func TestArchivesHoldFilesUnderOneFolderWithModes(t *testing.T) {
	dir := t.TempDir()
	bin, doc := filepath.Join(dir, "gpumesh.exe"), filepath.Join(dir, "README.md")
	if err := os.WriteFile(bin, []byte("MZ binary"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(doc, []byte("# read me"), 0o600); err != nil {
		t.Fatal(err)
	}
	date := "2026-12-07T14:00:00Z"
	want := map[string]struct {
		mode os.FileMode
		body string
	}{"top/gpumesh.exe": {0o755, "MZ binary"}, "top/README.md": {0o644, "# read me"}}
	when, _ := time.Parse(time.RFC3339, date)

	zipPath := filepath.Join(dir, "a.zip")
	if err := run(zipPath, "top", "gpumesh.exe", date, []string{bin, doc}); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != len(want) {
		t.Fatalf("zip: got %d entries, want %d", len(zr.File), len(want))
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(rc)
		rc.Close()
		w := want[f.Name]
		if f.Mode().Perm() != w.mode || string(body) != w.body || !f.Modified.Equal(when) {
			t.Errorf("zip %s: got mode %v body %q date %v, want %v %q %v", f.Name, f.Mode().Perm(), body, f.Modified, w.mode, w.body, when)
		}
	}

	tgzPath := filepath.Join(dir, "a.tar.gz")
	if err := run(tgzPath, "top", "gpumesh.exe", date, []string{bin, doc}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(tgzPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	n := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		w := want[h.Name]
		if os.FileMode(h.Mode) != w.mode || string(body) != w.body || !h.ModTime.Equal(when) {
			t.Errorf("tar %s: got mode %v body %q date %v, want %v %q %v", h.Name, os.FileMode(h.Mode), body, h.ModTime, w.mode, w.body, when)
		}
		n++
	}
	if n != len(want) {
		t.Errorf("tar: got %d entries, want %d", n, len(want))
	}

	if err := run(filepath.Join(dir, "a.rar"), "top", "", date, []string{doc}); err == nil {
		t.Error("an unknown archive name was accepted")
	}
}
