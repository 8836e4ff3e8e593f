package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// names lists dir's entries.
func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// oldFile is a folder holding f.json with "old", and its path.
func oldFile(t *testing.T) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "f.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

func wantContent(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s holds %q, want %q", path, got, want)
	}
}

func TestWriteFileReplaces(t *testing.T) {
	dir, path := oldFile(t)
	if err := WriteFile(path, []byte("new"), 0o640); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	wantContent(t, path, "new")
	if got := names(t, dir); !slices.Equal(got, []string{"f.json"}) {
		t.Errorf("folder holds %v, want only f.json", got)
	}
	if runtime.GOOS == "windows" {
		return
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", st.Mode().Perm())
	}
}

func TestWriteFileCreates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.json")
	if err := WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	wantContent(t, path, "x")
}

// TestFailedWriteKeepsOldFile: a write that fails part way leaves the old
// file as it was and no temp file behind, and its error is returned.
func TestFailedWriteKeepsOldFile(t *testing.T) {
	dir, path := oldFile(t)
	errFill := errors.New("stream broke")
	err := WriteFunc(path, 0o600, func(w io.Writer) error {
		if _, err := w.Write([]byte("half of the new")); err != nil {
			return err
		}
		return errFill
	})
	if !errors.Is(err, errFill) {
		t.Fatalf("WriteFunc: %v, want %v", err, errFill)
	}
	wantContent(t, path, "old")
	if got := names(t, dir); !slices.Equal(got, []string{"f.json"}) {
		t.Errorf("folder holds %v, want only f.json", got)
	}
}

// TestFailedRenameLeavesNoTemp: a rename that fails (the target is a
// folder that is not empty) returns its error and removes the temp file.
func TestFailedRenameLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "target")
	if err := os.MkdirAll(filepath.Join(path, "inside"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("x"), 0o600); err == nil {
		t.Fatal("WriteFile over a non-empty folder succeeded")
	}
	if got := names(t, dir); !slices.Equal(got, []string{"target"}) {
		t.Errorf("folder holds %v, want only target", got)
	}
}

func TestMissingFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gone", "f.json")
	if err := WriteFile(path, []byte("x"), 0o600); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("WriteFile into a missing folder: %v, want an error wrapping ErrNotExist", err)
	}
}

// TestFolderSyncErrorReturned: the last step, the folder sync, is not
// ignored; the new file is in place by then.
func TestFolderSyncErrorReturned(t *testing.T) {
	dir, path := oldFile(t)
	errSync := errors.New("folder sync failed")
	var synced string
	err := write(path, 0o600, func(w io.Writer) error {
		_, err := w.Write([]byte("new"))
		return err
	}, func(d string) error {
		synced = d
		return errSync
	})
	if !errors.Is(err, errSync) {
		t.Fatalf("write: %v, want an error wrapping %v", err, errSync)
	}
	if synced != dir {
		t.Errorf("synced folder %q, want %q", synced, dir)
	}
	wantContent(t, path, "new")
	if got := names(t, dir); !slices.Equal(got, []string{"f.json"}) {
		t.Errorf("folder holds %v, want only f.json", got)
	}
}

func TestSyncDir(t *testing.T) {
	if err := syncDir(t.TempDir()); err != nil {
		t.Errorf("syncDir: %v", err)
	}
	if err := syncDir(filepath.Join(t.TempDir(), "gone")); runtime.GOOS != "windows" && !errors.Is(err, os.ErrNotExist) {
		t.Errorf("syncDir of a missing folder: %v, want ErrNotExist", err)
	}
}
