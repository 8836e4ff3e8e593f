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

func TestDoIsCountedAndCancelled(t *testing.T) {
	var g Group
	entered := make(chan struct{})
	ended := make(chan struct{})
	ran := make(chan bool, 1)
	go func() {
		ran <- g.Do(context.Background(), func(ctx context.Context) {
			close(entered)
			<-ctx.Done()
			time.Sleep(10 * time.Millisecond)
			close(ended)
		})
	}()
	<-entered
	g.Close()
	select {
	case <-ended:
	default:
		t.Fatal("Close returned before the work Do ran did")
	}
	if !<-ran {
		t.Fatal("Do reported false for work it ran")
	}
	if g.Do(context.Background(), func(context.Context) { t.Error("ran after Close") }) {
		t.Fatal("a closed group ran work in Do")
	}
	if n := len(g.cancels); n != 0 {
		t.Fatalf("the group keeps %d contexts after Do, want 0", n)
	}
}

func TestDoEndsWithItsParent(t *testing.T) {
	var g Group
	defer g.Close()
	parent, cancel := context.WithCancel(context.Background())
	cancel()
	g.Do(parent, func(ctx context.Context) {
		if ctx.Err() == nil {
			t.Error("Do's context is live though its parent ended")
		}
	})
}
