package run

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/p2p/frame"
)

// FuzzDecodeAck: any bytes as a provider's answer to a run request. An
// error wraps gossip.ErrMalformed and comes with the zero Ack; an Ack that
// decodes has a bounded reason, a heartbeat in (0, MaxHeartbeat] when it
// accepts, and decodes the same from its own encoding.
func FuzzDecodeAck(f *testing.F) {
	for _, a := range []Ack{{OK: true, Heartbeat: time.Second}, {Reason: "busy"}, {OK: true, Heartbeat: MaxHeartbeat}} {
		b, _ := json.Marshal(a)
		f.Add(b)
	}
	f.Add([]byte(`{"ok":true}`))
	f.Add([]byte(`{"ok":true,"heartbeat_ns":-1}`))
	f.Add([]byte(`{"ok":false,"heartbeat_ns":1e30}`))
	f.Add([]byte(`{"ok":true,"heartbeat_ns":1000000000,"cached":["image","../x"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := decodeAck(b)
		if err != nil {
			if !errors.Is(err, gossip.ErrMalformed) || !reflect.DeepEqual(a, Ack{}) {
				t.Fatalf("decodeAck: %+v, %v", a, err)
			}
			return
		}
		if len(a.Reason) > maxReasonBytes || (a.OK && (a.Heartbeat <= 0 || a.Heartbeat > MaxHeartbeat)) {
			t.Fatalf("decoded %+v", a)
		}
		again, _ := json.Marshal(a)
		if back, err := decodeAck(again); err != nil || !reflect.DeepEqual(back, a) {
			t.Fatalf("%+v decoded again as %+v, %v", a, back, err)
		}
	})
}

// FuzzReceiveBytes: any stream as a file's frames (a request's input on
// the provider, an output on the requester). What is accepted is exactly
// the file: its size and digest; a stream whose frames are larger than
// what is left, or empty, is refused.
func FuzzReceiveBytes(f *testing.F) {
	framed := func(parts ...string) []byte {
		var buf bytes.Buffer
		for _, p := range parts {
			if err := frame.Write(&buf, []byte(p)); err != nil {
				f.Fatal(err)
			}
		}
		return buf.Bytes()
	}
	f.Add(framed("hello, ", "world"), "hello, world", int64(12))
	f.Add(framed("hello, world"), "hello, world", int64(12))
	f.Add(framed("hello, world!"), "hello, world", int64(12))
	f.Add(framed("", "hello, world"), "hello, world", int64(12))
	f.Add(framed("hello"), "hello, world", int64(12))
	f.Add(framed(), "", int64(0))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, "x", int64(1))
	f.Fuzz(func(t *testing.T, stream []byte, content string, size int64) {
		if size < 0 {
			return // Validate refuses a File of negative size before its bytes are read
		}
		h := sha256.New()
		h.Write([]byte(content))
		file := File{Name: "inputs/x", Digest: digestOf(h), Size: size}
		var got bytes.Buffer
		frames := 0
		err := receiveBytes(bufio.NewReader(bytes.NewReader(stream)), &got, file, func() { frames++ })
		if err != nil {
			return
		}
		if int64(got.Len()) != size || got.String() != content {
			t.Fatalf("accepted %d bytes %q for a file of %d bytes %q", got.Len(), got.String(), size, content)
		}
		if size > 0 && int64(frames) > size {
			t.Fatalf("%d frames for %d bytes", frames, size)
		}
	})
}
