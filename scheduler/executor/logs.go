package executor

import (
	"bytes"
	"sync"
	"time"
)

// Line is one line of a job's output.
type Line struct {
	// At is when the line was complete.
	At time.Time `json:"at"`
	// Stream is stdout or stderr.
	Stream string `json:"stream"`
	// Text is the line without its newline; a line longer than MaxLine is
	// cut into several.
	Text string `json:"text"`
}

// MaxLine is the longest Line; longer output lines are split.
const MaxLine = 16 << 10

// Logs collects a job's stdout and stderr as lines, up to a byte limit,
// for readers that follow them as they come. The zero value is not usable;
// use NewLogs.
type Logs struct {
	mu      sync.Mutex
	lines   []Line
	bytes   int64
	limit   int64
	over    bool
	closed  bool
	changed chan struct{}
	partial map[logSource]*bytes.Buffer
	onOver  func()
}

// NewLogs returns logs that keep at most limit bytes (0: no limit) and
// call onOver once when the work writes more.
func NewLogs(limit int64, onOver func()) *Logs {
	if onOver == nil {
		onOver = func() {}
	}
	return &Logs{limit: limit, changed: make(chan struct{}), partial: map[logSource]*bytes.Buffer{}, onOver: onOver}
}

// Writer returns an io.Writer for stream (stdout or stderr).
func (l *Logs) Writer(stream string) *LogWriter {
	return &LogWriter{l: l, src: logSource{stream: stream}}
}

// PrefixWriter returns an io.Writer for stream whose every line starts
// with prefix: one of several processes writing to the same logs, each
// split into lines on its own ("[local_rank 1] ").
func (l *Logs) PrefixWriter(stream, prefix string) *LogWriter {
	return &LogWriter{l: l, src: logSource{stream: stream, prefix: prefix}}
}

// logSource is one writer's stream and line prefix: each has its own
// partial line.
type logSource struct{ stream, prefix string }

// LogWriter is one stream of a Logs.
type LogWriter struct {
	l   *Logs
	src logSource
}

// Write splits p into lines; it never fails, so the work is never blocked
// by its logs, but past the limit the rest is dropped and onOver called.
func (w *LogWriter) Write(p []byte) (int, error) {
	w.l.write(w.src, p)
	return len(p), nil
}

func (l *Logs) write(src logSource, p []byte) {
	l.mu.Lock()
	if l.over || l.closed {
		l.mu.Unlock()
		return
	}
	n := int64(len(p))
	if l.limit > 0 && l.bytes+n > l.limit {
		p = p[:l.limit-l.bytes]
		l.over = true
	}
	l.bytes += int64(len(p))
	buf := l.partial[src]
	if buf == nil {
		buf = &bytes.Buffer{}
		l.partial[src] = buf
	}
	buf.Write(p)
	l.flush(src, buf, false)
	over := l.over
	l.mu.Unlock()
	if over {
		l.onOver()
	}
}

// flush turns complete lines of buf into Lines; with all, the rest too.
func (l *Logs) flush(src logSource, buf *bytes.Buffer, all bool) {
	added := false
	room := MaxLine - len(src.prefix) // a prefixed line stays within MaxLine
	for {
		b := buf.Bytes()
		i := bytes.IndexByte(b, '\n')
		switch {
		case i >= 0 && i <= room:
			l.lines = append(l.lines, Line{At: time.Now(), Stream: src.stream, Text: src.prefix + string(b[:i])})
			buf.Next(i + 1)
		case len(b) > room:
			l.lines = append(l.lines, Line{At: time.Now(), Stream: src.stream, Text: src.prefix + string(b[:room])})
			buf.Next(room)
		case all && len(b) > 0:
			l.lines = append(l.lines, Line{At: time.Now(), Stream: src.stream, Text: src.prefix + string(b)})
			buf.Reset()
		default:
			if added {
				close(l.changed)
				l.changed = make(chan struct{})
			}
			return
		}
		added = true
	}
}

// Close ends the logs: a last partial line of each stream becomes a Line.
func (l *Logs) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	for src, buf := range l.partial {
		l.flush(src, buf, true)
	}
	l.closed = true
	close(l.changed)
}

// Lines returns the lines from index from on, a channel closed when more
// come (or the logs close), and whether the logs are closed.
func (l *Logs) Lines(from int) ([]Line, <-chan struct{}, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Line
	if from < len(l.lines) {
		out = append(out, l.lines[max(from, 0):]...)
	}
	return out, l.changed, l.closed
}

// Over reports whether the work wrote past the limit.
func (l *Logs) Over() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.over
}
