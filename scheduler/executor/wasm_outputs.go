package executor

import (
	"io"
	"io/fs"
	"sync"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
)

// outputsQuota bounds the apparent size of a job's outputs folder (the
// sum of its files' lengths, so a sparse file counts whole) at write
// time: a write, pwrite, truncate or hard link that would take it past
// limit is refused and over is called to stop the job. Measuring after
// the fact let a module write 896 MiB against 64 MiB, or make an 8 GiB
// sparse file in one call.
type outputsQuota struct {
	root  string
	limit int64
	over  func() // stops the job; called on every refusal

	mu   sync.Mutex
	used int64 // at least the folder's apparent size
}

// newOutputsQuota returns the quota of the folder root, measuring what it
// already holds.
func newOutputsQuota(root string, limit int64, over func()) *outputsQuota {
	used, _ := dirSize(root)
	return &outputsQuota{root: root, limit: limit, over: over, used: used}
}

// grow reserves n more bytes of apparent size, or refuses them. Files
// removed or shrunk are not subtracted as they go: when a growth would be
// refused, the folder is measured again first, so only a folder truly over
// refuses.
func (q *outputsQuota) grow(n int64) bool {
	if n <= 0 || q.limit <= 0 {
		return true
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.used+n > q.limit {
		if size, err := dirSize(q.root); err == nil {
			q.used = size
		}
	}
	if q.used+n > q.limit {
		q.over()
		return false
	}
	q.used += n
	return true
}

// errOutputsFull is what a refused write returns to the module. WASI has
// EFBIG and ENOSPC but wazero's experimental sys (v1.12) offers neither;
// EIO is the nearest it has, and the job is stopped anyway.
const errOutputsFull = experimentalsys.EIO

// quotaFS is the outputs mount under an outputsQuota.
type quotaFS struct {
	experimentalsys.FS
	q *outputsQuota
}

// OpenFile opens a file whose writes count against the quota.
func (f quotaFS) OpenFile(path string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	file, errno := f.FS.OpenFile(path, flag, perm)
	if errno != 0 {
		return nil, errno
	}
	return &quotaFile{File: file, q: f.q}, 0
}

// Link counts the new name's file again, as measuring the folder does.
func (f quotaFS) Link(oldPath, newPath string) experimentalsys.Errno {
	st, errno := f.FS.Lstat(oldPath)
	if errno != 0 {
		return errno
	}
	if st.Mode.IsRegular() && !f.q.grow(st.Size) {
		return errOutputsFull
	}
	return f.FS.Link(oldPath, newPath)
}

// quotaFile is a file of the outputs mount.
type quotaFile struct {
	experimentalsys.File
	q *outputsQuota
}

// growth is how many bytes writing n at off adds to the file's length.
func (f *quotaFile) growth(off, n int64) (int64, experimentalsys.Errno) {
	st, errno := f.File.Stat()
	if errno != 0 {
		return 0, errno
	}
	return max(0, off+n-st.Size), 0
}

// Write implements experimentalsys.File.
func (f *quotaFile) Write(buf []byte) (int, experimentalsys.Errno) {
	var off int64
	if !f.File.IsAppend() {
		var errno experimentalsys.Errno
		if off, errno = f.File.Seek(0, io.SeekCurrent); errno != 0 {
			return 0, errno
		}
	}
	return f.checked(buf, off, f.File.IsAppend(), func() (int, experimentalsys.Errno) { return f.File.Write(buf) })
}

// Pwrite implements experimentalsys.File.
func (f *quotaFile) Pwrite(buf []byte, off int64) (int, experimentalsys.Errno) {
	return f.checked(buf, off, false, func() (int, experimentalsys.Errno) { return f.File.Pwrite(buf, off) })
}

// checked writes buf at off (at the end when appending) if the quota
// allows the growth.
func (f *quotaFile) checked(buf []byte, off int64, appending bool, write func() (int, experimentalsys.Errno)) (int, experimentalsys.Errno) {
	if appending {
		st, errno := f.File.Stat()
		if errno != 0 {
			return 0, errno
		}
		off = st.Size
	}
	grow, errno := f.growth(off, int64(len(buf)))
	if errno != 0 {
		return 0, errno
	}
	if !f.q.grow(grow) {
		return 0, errOutputsFull
	}
	return write()
}

// Truncate implements experimentalsys.File: a file made longer, sparse
// or not, counts its whole new length.
func (f *quotaFile) Truncate(size int64) experimentalsys.Errno {
	grow, errno := f.growth(size, 0)
	if errno != 0 {
		return errno
	}
	if !f.q.grow(grow) {
		return errOutputsFull
	}
	return f.File.Truncate(size)
}
