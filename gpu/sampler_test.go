package gpu

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeSource reports its devices with Utilization counting the polls, and
// fails the polls listed in fail (by number, from 1).
type fakeSource struct {
	devices []string

	mu    sync.Mutex
	polls int
	fail  map[int]error
	empty map[int]bool // polls that fail with no readings at all
}

func (f *fakeSource) Telemetry(context.Context) ([]Telemetry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.polls++
	if f.empty[f.polls] {
		return nil, f.fail[f.polls]
	}
	var out []Telemetry
	for _, d := range f.devices {
		out = append(out, Telemetry{Device: d, Utilization: float64(f.polls), Unknown: []string{fieldPower}})
	}
	return out, f.fail[f.polls]
}

func (f *fakeSource) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.polls
}

func TestSamplerKeepsHistoryPerDevice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{devices: []string{"GPU-a", "GPU-b"}}
		s, err := NewSampler(src, time.Second, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Latest(); got != nil {
			t.Errorf("before Start: got latest %+v, want none", got)
		}
		start := time.Now()
		if err := s.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer s.Close()

		time.Sleep(25 * time.Second)
		synctest.Wait()
		// Polls at 0s, 1s, ... 25s.
		if got := src.count(); got != 26 {
			t.Errorf("got %d polls in 25s at 1s, want 26", got)
		}
		latest := s.Latest()
		if len(latest) != 2 || latest[0].Device != "GPU-a" || latest[1].Device != "GPU-b" {
			t.Fatalf("got latest %+v, want GPU-a and GPU-b", latest)
		}
		for _, l := range latest {
			if l.Utilization != 26 || !l.Time.Equal(start.Add(25*time.Second)) {
				t.Errorf("got latest %s utilization %v at %v, want 26 at +25s", l.Device, l.Utilization, l.Time.Sub(start))
			}
		}
		for _, dev := range []string{"GPU-a", "GPU-b"} {
			h := s.History(dev)
			if len(h) != 10 {
				t.Fatalf("got %d readings of %s, want 10 (10s of history at 1s)", len(h), dev)
			}
			for i, r := range h {
				if want := float64(17 + i); r.Utilization != want || !r.Time.Equal(start.Add(time.Duration(16+i)*time.Second)) {
					t.Errorf("%s history[%d]: got utilization %v at %v, want %v at +%ds", dev, i, r.Utilization, r.Time.Sub(start), want, 16+i)
				}
			}
		}
		if got := s.History("GPU-z"); got != nil {
			t.Errorf("got history %+v for an unknown device, want none", got)
		}
		if err := s.LastError(); err != nil {
			t.Errorf("got last error %v, want none", err)
		}
	})
}

func TestSamplerStopsOnClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{devices: []string{"cpu0"}}
		s, err := NewSampler(src, 5*time.Second, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := s.Start(t.Context()); err == nil {
			t.Error("second Start: got no error, want one")
		}
		time.Sleep(12 * time.Second)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		// Close has waited: the goroutine is gone, so nothing is left to wait for.
		synctest.Wait()
		polls := src.count()
		if polls != 3 {
			t.Errorf("got %d polls in 12s at 5s, want 3", polls)
		}
		time.Sleep(time.Minute)
		if got := src.count(); got != polls {
			t.Errorf("got %d polls a minute after Close, want still %d", got, polls)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: got %v, want nil", err)
		}
		if err := s.Start(t.Context()); !errors.Is(err, ErrClosed) {
			t.Errorf("Start after Close: got %v, want ErrClosed", err)
		}
		if got := len(s.History("cpu0")); got != 3 {
			t.Errorf("after Close: got %d readings kept, want 3", got)
		}
	})
}

func TestSamplerStopsWhenContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{devices: []string{"cpu0"}}
		s, err := NewSampler(src, time.Second, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2500 * time.Millisecond)
		cancel()
		synctest.Wait()
		polls := src.count()
		time.Sleep(time.Minute)
		if got := src.count(); got != polls || polls != 3 {
			t.Errorf("got %d polls by the cancel and %d a minute later, want 3 and 3", polls, got)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close after the context ended: got %v, want nil", err)
		}
	})
}

func TestSamplerKeepsLatestAcrossErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lost := errors.New("gpu GPU-a: temperature_c: ERROR_GPU_IS_LOST")
		down := errors.New("nvml: ERROR_UNKNOWN")
		src := &fakeSource{
			devices: []string{"GPU-a"},
			fail:    map[int]error{2: lost, 3: down},
			empty:   map[int]bool{3: true},
		}
		s, err := NewSampler(src, time.Second, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		steps := []struct {
			err  error
			util float64
			kept int
		}{
			{nil, 1, 1},  // poll 1
			{lost, 2, 2}, // poll 2: partial readings are kept
			{down, 2, 2}, // poll 3: nothing read, the latest stays
			{nil, 4, 3},  // poll 4
		}
		for i, step := range steps {
			synctest.Wait()
			if err := s.LastError(); err != step.err {
				t.Errorf("poll %d: got last error %v, want %v", i+1, err, step.err)
			}
			latest := s.Latest()
			if len(latest) != 1 || latest[0].Utilization != step.util {
				t.Errorf("poll %d: got latest %+v, want utilization %v", i+1, latest, step.util)
			}
			if got := len(s.History("GPU-a")); got != step.kept {
				t.Errorf("poll %d: got %d readings kept, want %d", i+1, got, step.kept)
			}
			time.Sleep(time.Second)
		}
	})
}

func TestSamplerCopiesWhatItReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := NewSampler(&fakeSource{devices: []string{"GPU-a"}}, time.Second, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		synctest.Wait()
		s.Latest()[0].Utilization = 99
		s.History("GPU-a")[0].Unknown[0] = "scribbled"
		if got := s.Latest()[0]; got.Utilization != 1 || got.Unknown[0] != fieldPower {
			t.Errorf("got %+v after callers scribbled on their copies, want utilization 1 and unknown %q", got, fieldPower)
		}
	})
}

func TestNewSamplerValidates(t *testing.T) {
	src := &fakeSource{}
	tests := []struct {
		name              string
		src               Source
		interval, history time.Duration
		ok                bool
	}{
		{"the config's defaults", src, 2 * time.Second, 10 * time.Minute, true},
		{"the most history", src, time.Second, MaxHistory * time.Second, true},
		{"one reading", src, time.Second, time.Second, true},
		{"no source", nil, time.Second, time.Minute, false},
		{"zero interval", src, 0, time.Minute, false},
		{"negative interval", src, -time.Second, time.Minute, false},
		{"history under interval", src, time.Minute, time.Second, false},
		{"too much history", src, time.Millisecond, time.Hour, false},
	}
	for _, tt := range tests {
		s, err := NewSampler(tt.src, tt.interval, tt.history)
		if (err == nil) != tt.ok || (s != nil) != tt.ok {
			t.Errorf("%s: got sampler %v, error %v, want ok %v", tt.name, s != nil, err, tt.ok)
		}
	}
}
