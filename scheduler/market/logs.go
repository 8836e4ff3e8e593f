package market

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DefaultJobLogMB is the default market.job_log_mb: the log bytes a job
// keeps on the requester's disk before later lines are dropped (counted).
const DefaultJobLogMB = 16

// MaxLogPageLines is the most lines one page of a job's logs holds.
const MaxLogPageLines = 1000

// maxLogPageBytes bounds the bytes of the log file one page reads: a page
// costs at most this much memory, however long the log. A stored line is
// at most about 6 x executor.MaxLine (every byte escaped), well below it.
const maxLogPageBytes = 1 << 20

// logsDirName is the folder under Deps.ResultsDir that holds the jobs' log
// files, one per job (<job>.log); job IDs are hex, so it is no job's folder.
const logsDirName = ".logs"

// ErrBadLogOffset: a log page was asked from an offset that is not the
// start of a stored line (one a previous page's Next gave, or 0).
var ErrBadLogOffset = errors.New("log offset is not the start of a line")

// LogLine is one line a job's work wrote, as its requester keeps it.
type LogLine struct {
	// At is when the provider saw the line complete.
	At time.Time `json:"at"`
	// Rank is the worker that wrote it, Peer the provider running it.
	Rank int    `json:"rank"`
	Peer string `json:"peer,omitempty"`
	// Stream is stdout or stderr.
	Stream string `json:"stream,omitempty"`
	// Text is the line as written (the raw bytes, not sanitized).
	Text string `json:"text"`
}

// LogCounts is how much of a job's logs its requester kept: lines and
// bytes on disk, lines dropped past Cap bytes.
type LogCounts struct {
	Lines   int64 `json:"lines"`
	Bytes   int64 `json:"bytes"`
	Dropped int64 `json:"dropped,omitempty"`
	Cap     int64 `json:"cap"`
}

// LogPage is one bounded page of a job's logs.
type LogPage struct {
	// Lines are the lines from the asked offset on, at most the asked limit
	// (and MaxLogPageLines).
	Lines []LogLine `json:"lines"`
	// Next is the offset the next page starts at.
	Next int64 `json:"next"`
	// Final says the job ended and Next is the end of its logs: no line
	// comes after.
	Final bool `json:"final"`
	// Counts are the job's log counts when the page was read.
	Counts LogCounts `json:"counts"`
}

// jobLog is the log file of one job. Two locks: wmu orders the writes
// and holds the file across them; mu guards the counts and the end, and
// is never held across file I/O, so reading the counts (a job's view)
// never waits for the disk. wmu is taken before mu, never after.
type jobLog struct {
	path string
	wmu  sync.Mutex
	f    *os.File // nil before the first line and after close; guarded by wmu

	mu   sync.Mutex
	c    LogCounts
	done bool          // the job's work ended: no more lines
	more chan struct{} // closed and replaced at each line and at close
	err  error         // the first write error; lines after it are dropped
}

// newJobLog is the log of job id in dir, keeping at most capBytes.
func newJobLog(dir, id string, capBytes int64) *jobLog {
	return &jobLog{path: filepath.Join(dir, id+".log"), c: LogCounts{Cap: capBytes}, more: make(chan struct{})}
}

// add appends l, or counts it dropped once the cap is reached.
func (g *jobLog) add(l LogLine) {
	data, err := json.Marshal(l)
	if err != nil {
		return
	}
	data = append(data, '\n')
	g.wmu.Lock()
	defer g.wmu.Unlock()
	g.mu.Lock()
	full := g.done || g.err != nil || g.c.Bytes+int64(len(data)) > g.c.Cap
	if full {
		g.c.Dropped++
	}
	g.mu.Unlock()
	if full {
		return
	}
	if err := g.write(data); err != nil {
		g.mu.Lock()
		g.err, g.c.Dropped = err, g.c.Dropped+1
		g.mu.Unlock()
		return
	}
	g.mu.Lock()
	g.c.Lines++
	g.c.Bytes += int64(len(data))
	g.notify()
	g.mu.Unlock()
}

// write appends data to the file, opening it first if need be; g.wmu
// must be held.
func (g *jobLog) write(data []byte) error {
	if g.f == nil {
		if err := os.MkdirAll(filepath.Dir(g.path), 0o700); err != nil {
			return err
		}
		f, err := os.OpenFile(g.path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		g.f = f
	}
	_, err := g.f.Write(data)
	return err
}

// notify wakes the page followers; g.mu must be held.
func (g *jobLog) notify() {
	close(g.more)
	g.more = make(chan struct{})
}

// counts is g's counts now; a nil log has none.
func (g *jobLog) counts() LogCounts {
	if g == nil {
		return LogCounts{}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.c
}

// close ends g: no line comes after; its file stays for reading.
func (g *jobLog) close() {
	if g == nil {
		return
	}
	g.wmu.Lock()
	defer g.wmu.Unlock()
	g.mu.Lock()
	if g.done {
		g.mu.Unlock()
		return
	}
	g.done = true
	g.notify()
	g.mu.Unlock()
	if g.f != nil {
		_ = g.f.Close()
		g.f = nil
	}
}

// remove ends g and deletes its file.
func (g *jobLog) remove() {
	if g == nil {
		return
	}
	g.close()
	_ = os.Remove(g.path) // one left behind is cleared at the next start
}

// page reads at most limit lines from offset from on, and returns the
// channel closed at the next line (or at the end).
func (g *jobLog) page(from int64, limit int) (LogPage, <-chan struct{}, error) {
	g.mu.Lock()
	c, done, more := g.c, g.done, g.more
	g.mu.Unlock()
	if limit <= 0 || limit > MaxLogPageLines {
		limit = MaxLogPageLines
	}
	p := LogPage{Lines: []LogLine{}, Next: from, Counts: c}
	if from < 0 || from > c.Bytes {
		return p, more, fmt.Errorf("%w: %d of %d bytes", ErrBadLogOffset, from, c.Bytes)
	}
	if from < c.Bytes {
		if err := g.read(&p, c.Bytes, limit); err != nil {
			return p, more, err
		}
	}
	p.Final = done && p.Next == c.Bytes
	return p, more, nil
}

// read fills p with the lines from p.Next, up to size bytes of the file.
func (g *jobLog) read(p *LogPage, size int64, limit int) error {
	f, err := os.Open(g.path)
	if err != nil {
		return fmt.Errorf("open job log: %w", err)
	}
	defer f.Close()
	start := max(p.Next-1, 0) // the byte before a line's start is its predecessor's newline
	buf := make([]byte, min(size-start, maxLogPageBytes+1))
	n, err := f.ReadAt(buf, start)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read job log: %w", err)
	}
	buf = buf[:n]
	if p.Next > 0 {
		if len(buf) == 0 || buf[0] != '\n' {
			return fmt.Errorf("%w: %d", ErrBadLogOffset, p.Next)
		}
		buf = buf[1:]
	}
	for len(p.Lines) < limit {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		var l LogLine
		if err := json.Unmarshal(buf[:i], &l); err != nil {
			return fmt.Errorf("%w: %d", ErrBadLogOffset, p.Next)
		}
		p.Lines = append(p.Lines, l)
		p.Next += int64(i + 1)
		buf = buf[i+1:]
	}
	return nil
}

// logsDir is where this node keeps its jobs' log files.
func (r *requester) logsDir() string {
	return filepath.Join(r.d.ResultsDir, logsDirName)
}

// logCap is the bytes of logs a job keeps.
func (r *requester) logCap() int64 {
	mb := r.cfg.JobLogMB
	if mb <= 0 {
		mb = DefaultJobLogMB
	}
	return int64(mb) << 20
}

// clearLogs deletes the log files a previous run of the node left: the
// jobs they belonged to are gone with it.
func (r *requester) clearLogs() {
	dir := r.logsDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".log") {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// addLog keeps one log line of the job; it holds no lock of the job's
// while it writes (the log has its own).
func (j *job) addLog(l LogLine) {
	j.mu.Lock()
	g := j.log
	j.mu.Unlock()
	if g != nil {
		g.add(l)
	}
}

// Logs returns a page of the logs of job id from byte offset from (0, or
// a previous page's Next), at most limit lines (MaxLogPageLines when
// limit is 0 or more), and a channel closed when more lines come or the
// logs end. It returns ErrUnknownJob for a job this node did not request
// and ErrBadLogOffset for an offset no page gave.
func (r *requester) Logs(id string, from int64, limit int) (LogPage, <-chan struct{}, error) {
	j := r.lookup(id)
	if j == nil {
		return LogPage{}, nil, ErrUnknownJob
	}
	j.mu.Lock()
	g, final, changed := j.log, j.isDone(), j.changed
	j.mu.Unlock()
	if g == nil {
		// No work ran yet: no lines, and none ever for a final job.
		if from != 0 {
			return LogPage{Lines: []LogLine{}}, changed, fmt.Errorf("%w: %d of 0 bytes", ErrBadLogOffset, from)
		}
		return LogPage{Lines: []LogLine{}, Final: final, Counts: LogCounts{Cap: r.logCap()}}, changed, nil
	}
	return g.page(from, limit) // reads the file under no job or market lock
}
