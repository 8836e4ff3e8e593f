package frame

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestRoundTripAndLimit(t *testing.T) {
	var buf bytes.Buffer
	for _, m := range [][]byte{nil, []byte("bid"), bytes.Repeat([]byte{7}, 300)} {
		if err := Write(&buf, m); err != nil {
			t.Fatal(err)
		}
	}
	r := bufio.NewReader(&buf)
	for _, want := range []int{0, 3, 300} {
		got, err := Read(r, 300)
		if err != nil || len(got) != want {
			t.Fatalf("frame of %d bytes: got %d, %v", want, len(got), err)
		}
	}
	if _, err := Read(r, 300); !errors.Is(err, io.EOF) {
		t.Errorf("after the last frame: %v, want EOF", err)
	}
	buf.Reset()
	_ = Write(&buf, make([]byte, 301))
	if _, err := Read(bufio.NewReader(&buf), 300); !errors.Is(err, ErrTooLarge) {
		t.Errorf("frame over the limit: %v", err)
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte{3, 'a', 'b', 'c'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Read(bufio.NewReader(bytes.NewReader(data)), 1024)
		if err == nil && len(b) > 1024 {
			t.Fatalf("read %d bytes past the limit", len(b))
		}
	})
}
