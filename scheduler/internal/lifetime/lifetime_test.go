package lifetime

import (
	"context"
	"testing"
	"time"
)

func TestCloseCancelsAndWaits(t *testing.T) {
	var g Group
	ended := make(chan struct{})
	if !g.Go(func(ctx context.Context) {
		<-ctx.Done()
		time.Sleep(10 * time.Millisecond)
		close(ended)
	}) {
		t.Fatal("an open group refused a goroutine")
	}
	ctx, cancel := g.Context(context.Background())
	defer cancel()
	g.Close()
	select {
	case <-ended:
	default:
		t.Fatal("Close returned before its goroutine did")
	}
	if ctx.Err() == nil {
		t.Fatal("a context handed out before Close is still live after it")
	}
	if g.Go(func(context.Context) { t.Error("ran after Close") }) {
		t.Fatal("a closed group started a goroutine")
	}
	if ctx, cancel := g.Context(context.Background()); ctx.Err() == nil {
		t.Fatal("a context handed out after Close is live")
	} else {
		cancel()
	}
	if !g.Closed() {
		t.Fatal("Closed is false after Close")
	}
	g.Close() // twice is fine
}

func TestCancelForgetsTheContext(t *testing.T) {
	var g Group
	for range 100 {
		_, cancel := g.Context(context.Background())
		cancel()
	}
	if n := len(g.cancels); n != 0 {
		t.Fatalf("the group keeps %d cancelled contexts, want 0", n)
	}
	g.Go(func(context.Context) {})
	g.Close()
}
