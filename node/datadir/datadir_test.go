package datadir

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestDefaultFollowsEnvThenOSConvention(t *testing.T) {
	t.Setenv(EnvVar, "/srv/gpumesh")
	if got, _ := Default(); got != "/srv/gpumesh" {
		t.Errorf("with $%s set: Default() = %q", EnvVar, got)
	}
	t.Setenv(EnvVar, "")
	if runtime.GOOS == "linux" {
		t.Setenv("XDG_DATA_HOME", "/home/u/.data")
		if got, _ := Default(); got != "/home/u/.data/gpumesh" {
			t.Errorf("with $XDG_DATA_HOME: Default() = %q", got)
		}
		t.Setenv("XDG_DATA_HOME", "")
		t.Setenv("HOME", "/home/u")
		if got, _ := Default(); got != "/home/u/.local/share/gpumesh" {
			t.Errorf("Default() = %q, want ~/.local/share/gpumesh", got)
		}
	}
}

func TestWriteFileReplacesAtomicallyWithMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	for _, content := range []string{"first", "second"} {
		if err := WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("read back %q, %v; want %q", got, err, content)
		}
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %o, want 600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temp files left behind: %v", entries)
	}
}

func TestLockIsExclusiveAndReleased(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Acquire: err = %v, want ErrLocked", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l2.Release()
}
