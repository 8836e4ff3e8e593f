// Command archive packs release files into a .zip (Windows) or .tar.gz
// (macOS, Linux) for `make release` (scripts/release.sh), with Go's own
// archive packages so no zip tool is needed. Every entry sits under one
// top folder, dated by -date, the binary (-exec) with mode 0755 and the
// rest 0644, so an archive depends only on its inputs.
//
//	go run ./scripts/archive -o dist/gpumesh_1.0.0_windows_amd64.zip \
//	    -dir gpumesh_1.0.0_windows_amd64 -exec gpumesh.exe bin/gpumesh.exe README.md
package main

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	out := flag.String("o", "", "archive to write: NAME.zip or NAME.tar.gz")
	dir := flag.String("dir", "", "top folder inside the archive")
	exe := flag.String("exec", "", "name of the one file stored as executable (mode 0755)")
	date := flag.String("date", "", "modification time of every entry, RFC 3339 (default: now)")
	flag.Parse()
	if err := run(*out, *dir, *exe, *date, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "archive:", err)
		os.Exit(1)
	}
}

// entry is one file to pack: where it is read from and its name inside.
type entry struct {
	src, name string
	mode      int64
}

func run(out, dir, exe, date string, files []string) error {
	if out == "" || dir == "" || len(files) == 0 {
		return errors.New("usage: archive -o OUT(.zip|.tar.gz) -dir TOP [-exec NAME] [-date RFC3339] FILE...")
	}
	mtime := time.Now().UTC()
	if date != "" {
		t, err := time.Parse(time.RFC3339, date)
		if err != nil {
			return fmt.Errorf("bad -date: %w", err)
		}
		mtime = t
	}
	entries := make([]entry, 0, len(files))
	for _, f := range files {
		base := filepath.Base(f)
		mode := int64(0o644)
		if base == exe {
			mode = 0o755
		}
		entries = append(entries, entry{src: f, name: path.Join(dir, base), mode: mode})
	}
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	switch {
	case strings.HasSuffix(out, ".zip"):
		err = writeZip(f, entries, mtime)
	case strings.HasSuffix(out, ".tar.gz"):
		err = writeTarGz(f, entries, mtime)
	default:
		err = fmt.Errorf("%s: want a .zip or .tar.gz name", out)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, out)
}

func writeZip(w io.Writer, entries []entry, mtime time.Time) error {
	zw := zip.NewWriter(w)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: mtime}
		h.SetMode(os.FileMode(e.mode))
		dst, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if err := copyFile(dst, e.src); err != nil {
			return err
		}
	}
	return zw.Close()
}

func writeTarGz(w io.Writer, entries []entry, mtime time.Time) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		fi, err := os.Stat(e.src)
		if err != nil {
			return err
		}
		h := &tar.Header{Name: e.name, Mode: e.mode, Size: fi.Size(), ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if err := copyFile(tw, e.src); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func copyFile(dst io.Writer, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(dst, f)
	return err
}
