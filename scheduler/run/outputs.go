package run

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
)

// listOutputs lists the regular files under dir (never following a
// symlink), with their digests, in lexical order. A file whose apparent
// size is past what is left of *budget is listed truncated, without a
// digest, and never read; the budget shrinks by those that are not. It
// returns the files, their paths on disk, and how many it left out (past
// MaxOutputFiles, unsafe names, unreadable). Once ctx ends it stops
// reading and lists no more.
func listOutputs(ctx context.Context, dir string, budget *int64) ([]File, []string, int) {
	var files []File
	var paths []string
	omitted := 0
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil || path == dir || !d.Type().IsRegular() {
			if err == nil && !d.IsDir() {
				omitted++ // symlinks, devices, pipes
			}
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		name := filepath.ToSlash(rel)
		if err != nil || validOutputName(name) != nil || len(files) >= MaxOutputFiles {
			omitted++
			return nil
		}
		f, err := digestFile(ctx, path, *budget)
		if err != nil {
			omitted++
			return nil
		}
		f.Name = name
		if !f.Truncated {
			*budget -= f.Size
		}
		files = append(files, f)
		paths = append(paths, path)
		return nil
	})
	return files, paths, omitted
}

// digestFile returns the size and digest of a regular file, opened
// without following a symlink put in its place. A file whose size (as
// stat reports it: a sparse file's apparent size) is over budget is
// returned truncated, unread. Hashing stops once ctx ends.
func digestFile(ctx context.Context, path string, budget int64) (File, error) {
	f, err := openNoFollow(path)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return File{}, fmt.Errorf("%s is not a regular file", path)
	}
	size := fi.Size()
	if size > budget {
		return File{Size: size, Truncated: true}, nil
	}
	h := sha256.New()
	n, err := copyCtx(ctx, h, io.LimitReader(f, size))
	if err != nil {
		return File{}, fmt.Errorf("hash %s: %w", path, err)
	}
	if n != size {
		return File{}, fmt.Errorf("hash %s: %d bytes, not the %d stated", path, n, size)
	}
	return File{Digest: digestOf(h), Size: n}, nil
}

// hashChunk is how much copyCtx reads between two looks at its ctx.
const hashChunk = 1 << 20

// copyCtx copies r to w, checking ctx before every chunk.
func copyCtx(ctx context.Context, w io.Writer, r io.Reader) (int64, error) {
	buf := make([]byte, hashChunk)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		k, err := r.Read(buf)
		if k > 0 {
			if _, werr := w.Write(buf[:k]); werr != nil {
				return n, werr
			}
			n += int64(k)
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
