package overlay

import (
	"bufio"
	"bytes"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gpumesh/gpumesh/p2p/frame"
)

// TestBigPacketsCrossInOrder sends packets up to the MTU from rank 0 to
// rank 1 on another provider, each with its own contents, big ones (which
// travel in their read buffers) and small ones (copied) mixed: each
// arrives whole and in order, so no buffer is reused while it is queued.
func TestBigPacketsCrossInOrder(t *testing.T) {
	a, b := newProvider(t), newProvider(t)
	nets, ports := cluster(t, a, b)
	var want [][]byte
	for i := range 24 {
		size := []int{MTU - 20, 40 << 10, 100, bigPacket, bigPacket - 21}[i%5]
		want = append(want, packet(addr(t, 0), addr(t, 1), bytes.Repeat([]byte{byte(i)}, size)))
	}
	go func() {
		for _, p := range want {
			select {
			case ports[0].send <- p:
			case <-ports[0].closed:
				return
			}
		}
	}()
	for i, w := range want {
		if got := ports[1].receive(t); !bytes.Equal(got, w) {
			t.Fatalf("packet %d: got %d bytes starting %x, want %d starting %x", i, len(got), got[:min(len(got), 24)], len(w), w[:24])
		}
	}
	if s := nets[0].Stats(); s.PacketsOut != uint64(len(want)) || len(s.Drops) != 0 {
		t.Errorf("rank 0's stats %+v, want %d out and no drops", s, len(want))
	}
}

// TestFullQueueWaitsForRoom: a packet for a full queue waits for room
// rather than being dropped at once, and is refused only after the wait.
func TestFullQueueWaitsForRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &sender{q: make(chan []byte, 1), room: make(chan struct{}, 1), stop: make(chan struct{})}
		if !s.put([]byte("first")) {
			t.Fatal("an empty queue refused a packet")
		}
		done := make(chan bool)
		go func() { done <- s.enqueue([]byte("second"), time.Second) }()
		synctest.Wait()
		select {
		case ok := <-done:
			t.Fatalf("enqueue on a full queue returned %v at once, want it to wait", ok)
		default:
		}
		s.take(<-s.q)
		if !<-done {
			t.Fatal("the waiting packet was refused after room was made")
		}
		start := time.Now()
		if s.enqueue([]byte("third"), time.Second) {
			t.Fatal("a full queue took a packet nobody made room for")
		}
		if waited := time.Since(start); waited != time.Second {
			t.Errorf("waited %v for room, want the whole second", waited)
		}
	})
}

// TestQueueBoundedByBytes: big buffers fill a queue by their bytes long
// before its count of packets.
func TestQueueBoundedByBytes(t *testing.T) {
	s := &sender{q: make(chan []byte, queueLen), room: make(chan struct{}, 1), stop: make(chan struct{})}
	n := 0
	for s.put(make([]byte, 1, portBuffer)) {
		n++
	}
	if want := queueBytes / portBuffer; n != want {
		t.Errorf("queued %d buffers of %d bytes, want %d (queueBytes %d)", n, portBuffer, want, queueBytes)
	}
}

func TestFrameHelpersMatchFramePackage(t *testing.T) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	pkts := [][]byte{nil, []byte("x"), bytes.Repeat([]byte{9}, 300), make([]byte, MTU)}
	for _, p := range pkts {
		if err := writeFrame(w, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(bytes.NewReader(buf.Bytes()))
	for _, p := range pkts { // what writeFrame wrote, frame.Read reads
		got, err := frame.Read(r, MTU)
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("frame.Read: %d bytes, %v; want %d", len(got), err, len(p))
		}
	}
	r = bufio.NewReader(bytes.NewReader(buf.Bytes()))
	b := make([]byte, 300)
	for _, p := range pkts[:3] {
		got, err := readFrame(r, b)
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("readFrame: %d bytes, %v; want %d", len(got), err, len(p))
		}
	}
	if _, err := readFrame(r, b); !errors.Is(err, frame.ErrTooLarge) {
		t.Errorf("a frame over the buffer: %v, want frame.ErrTooLarge", err)
	}
}
