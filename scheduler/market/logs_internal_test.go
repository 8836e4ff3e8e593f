package market

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestJobLogCapAndPages: lines past the cap are counted, not kept; pages
// are bounded and resume at their Next; an offset no page gave is refused;
// the end is final only once the log is closed; remove deletes the file.
func TestJobLogCapAndPages(t *testing.T) {
	dir := t.TempDir()
	text := strings.Repeat("y", 1000)
	g := newJobLog(dir, "j", 64<<10) // about 63 lines of 1 KiB
	for i := range 200 {
		g.add(LogLine{Rank: i % 3, Stream: "stdout", Text: text})
	}
	c := g.counts()
	if c.Lines+c.Dropped != 200 || c.Dropped == 0 || c.Bytes > c.Cap {
		t.Fatalf("counts %+v: want the cap kept and the rest dropped", c)
	}
	if st, err := os.Stat(filepath.Join(dir, "j.log")); err != nil || st.Size() != c.Bytes {
		t.Fatalf("file %v, %v; want %d bytes", st, err, c.Bytes)
	}
	var read int64
	var from int64
	for {
		p, _, err := g.page(from, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Lines) > 10 {
			t.Fatalf("page of %d lines, asked 10", len(p.Lines))
		}
		read += int64(len(p.Lines))
		if len(p.Lines) == 0 {
			if p.Final {
				t.Fatal("final before the log was closed")
			}
			break
		}
		from = p.Next
	}
	if read != c.Lines {
		t.Fatalf("read %d lines, %d kept", read, c.Lines)
	}
	if _, _, err := g.page(1, 0); !errors.Is(err, ErrBadLogOffset) {
		t.Errorf("offset 1: %v, want ErrBadLogOffset", err)
	}
	if _, _, err := g.page(c.Bytes+1, 0); !errors.Is(err, ErrBadLogOffset) {
		t.Errorf("offset past the end: %v, want ErrBadLogOffset", err)
	}
	g.close()
	g.add(LogLine{Text: "after the end"})
	if p, _, err := g.page(from, 0); err != nil || !p.Final || p.Counts.Lines != c.Lines {
		t.Errorf("after close: %+v, %v; want final with nothing added", p, err)
	}
	g.remove()
	if _, err := os.Stat(filepath.Join(dir, "j.log")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file after remove: %v", err)
	}
}
