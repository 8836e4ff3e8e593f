package reputation

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"testing/synctest"
	"time"
)

// filled returns a book at path with a few peers of different histories.
func filled(t *testing.T, path string, c *clock) *Book {
	t.Helper()
	b, err := Open(path, Config{}, c.now)
	if err != nil {
		t.Fatal(err)
	}
	record(b, pid("good"), JobCompleted, 7)
	c.add(3 * day)
	record(b, pid("bad"), JobFailed, 2)
	b.Record(pid("cheat"), ChallengeFailed, "throughput 2% of claimed class")
	c.add(time.Hour)
	b.Record(pid("good"), HeartbeatOnTime, "")
	return b
}

func TestSaveOpenRoundTrip(t *testing.T) {
	c := newClock()
	path := filepath.Join(t.TempDir(), "reputation.json")
	b := filled(t, path, c)
	if err := b.Save(); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("file mode: got %o, want 600", mode)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*")); len(left) != 0 {
		t.Errorf("temp files left behind: %v", left)
	}

	c.add(2 * day) // both books decay the same way after loading
	loaded, err := Open(path, Config{}, c.now)
	if err != nil {
		t.Fatal(err)
	}
	want, got := b.All(), loaded.All()
	if len(got) != 3 {
		t.Fatalf("loaded %d peers, want 3", len(got))
	}
	for i := range want {
		// JSON drops the monotonic clock reading; compare instants.
		if got[i].Peer != want[i].Peer || got[i].Score != want[i].Score ||
			!reflect.DeepEqual(got[i].Counts, want[i].Counts) || !reflect.DeepEqual(got[i].Factors, want[i].Factors) ||
			!got[i].FirstSeen.Equal(want[i].FirstSeen) || !got[i].LastSeen.Equal(want[i].LastSeen) ||
			len(got[i].Events) != len(want[i].Events) {
			t.Errorf("peer %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	v, _ := loaded.View(pid("cheat"))
	if len(v.Events) != 1 || v.Events[0].Detail != "throughput 2% of claimed class" {
		t.Errorf("cheat's events: got %+v", v.Events)
	}
}

func TestFileFormat(t *testing.T) {
	c := newClock()
	path := filepath.Join(t.TempDir(), "reputation.json")
	b := filled(t, path, c)
	if err := b.Save(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Version int `json:"version"`
		Peers   map[string]struct {
			Counts map[string]float64 `json:"counts"`
		} `json:"peers"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if f.Version != 1 {
		t.Errorf("version: got %d, want 1", f.Version)
	}
	if got := f.Peers[pid("bad").String()].Counts["job_failed"]; got != 2 {
		t.Errorf("bad's job_failed under its peer ID string: got %v, want 2", got)
	}
}

func TestOpenMissingFile(t *testing.T) {
	b, err := Open(filepath.Join(t.TempDir(), "none.json"), Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(b.All()); n != 0 {
		t.Errorf("got %d peers, want 0", n)
	}
}

func TestOpenUnusableFile(t *testing.T) {
	valid := func() []byte {
		path := filepath.Join(t.TempDir(), "r.json")
		b := filled(t, path, newClock())
		if err := b.Save(); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}()
	tests := map[string]string{
		"empty":          "",
		"garbage":        "not json at all",
		"truncated":      string(valid[:len(valid)/2]),
		"future version": `{"version": 2, "peers": {}}`,
		"no version":     `{"peers": {}}`,
		"bad peer ID":    `{"version": 1, "peers": {"not-a-peer": {"counts": {}}}}`,
		"negative count": `{"version": 1, "peers": {"` + pid("x").String() + `": {"counts": {"job_failed": -1}}}}`,
		"huge count":     `{"version": 1, "peers": {"` + pid("x").String() + `": {"counts": {"job_failed": 1e300}}}}`,
		"null peer":      `{"version": 1, "peers": {"` + pid("x").String() + `": null}}`,
		"wrong type":     `{"version": 1, "peers": []}`,
	}
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "reputation.json")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			b, err := Open(path, Config{}, nil)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got error %v, want ErrCorrupt", err)
			}
			if b == nil {
				t.Fatal("got no book, want an empty one")
			}
			if n := len(b.All()); n != 0 {
				t.Errorf("got %d peers, want 0", n)
			}
			aside, err := os.ReadFile(path + ".corrupt")
			if err != nil || string(aside) != content {
				t.Errorf("moved-aside file: got %q, %v; want the original", aside, err)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("original still at path: %v", err)
			}
			b.Record(pid("p"), AwardAccepted, "") // the book works and saves
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := Open(path, Config{}, nil); err != nil {
				t.Errorf("reopen after save: %v", err)
			}
		})
	}
}

func TestOpenDropsUnknownKinds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reputation.json")
	content := `{"version": 1, "peers": {"` + pid("x").String() + `": {"counts": {"job_failed": 1, "job_teleported": 4},
		"updated": "2026-03-01T12:00:00Z", "events": [{"kind": "job_teleported"}, {"kind": "job_failed", "detail": "oom"}]}}}`
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := Open(path, Config{}, newClock().now)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := b.View(pid("x"))
	if len(v.Counts) != 1 || len(v.Events) != 1 || v.Events[0].Detail != "oom" {
		t.Errorf("got counts %v and events %+v, want job_failed only", v.Counts, v.Events)
	}
}

func TestOpenKeepsMaxPeers(t *testing.T) {
	c := newClock()
	path := filepath.Join(t.TempDir(), "reputation.json")
	b := filled(t, path, c) // good seen last, then bad and cheat together
	if err := b.Save(); err != nil {
		t.Fatal(err)
	}
	small, err := Open(path, Config{MaxPeers: 1}, c.now)
	if err != nil {
		t.Fatal(err)
	}
	all := small.All()
	if len(all) != 1 || all[0].Peer != pid("good") {
		t.Errorf("got %v, want only the peer seen last", all)
	}
}

func TestOpenErrors(t *testing.T) {
	if b, err := Open("", Config{HalfLife: -time.Hour, MaxPeers: -1}, nil); err == nil || b != nil {
		t.Errorf("invalid config: got %v, %v; want an error and no book", b, err)
	}
	dir := t.TempDir() // a folder where the file should be: unreadable, not corrupt
	b, err := Open(dir, Config{}, nil)
	if err == nil || errors.Is(err, ErrCorrupt) || b != nil {
		t.Errorf("unreadable path: got %v, %v; want a plain error and no book", b, err)
	}
}

func TestCloseSavesOnlyWhenChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reputation.json")
	b, err := Open(path, Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("unchanged book wrote a file: %v", err)
	}
	b.Record(pid("p"), AwardAccepted, "")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("changed book: %v", err)
	}
}

func TestSaveFailureKeepsDirty(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(filepath.Join(dir, "gone", "reputation.json"), Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Record(pid("p"), AwardAccepted, "")
	if err := b.Close(); err == nil {
		t.Fatal("save into a missing folder: no error")
	}
	if err := os.Mkdir(filepath.Join(dir, "gone"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil { // still dirty: tries again
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "gone", "reputation.json")); err != nil {
		t.Errorf("retry did not save: %v", err)
	}
}

func TestRunSavesPeriodicallyAndAtEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "reputation.json")
		b, err := Open(path, Config{SaveInterval: time.Minute}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			b.Run(ctx)
			close(done)
		}()
		defer func() { cancel(); <-done }() // also on t.Fatal
		saved := func() map[string]float64 {
			t.Helper()
			loaded, err := Open(path, Config{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			v, _ := loaded.View(pid("p"))
			return map[string]float64{"accepted": v.Counts[AwardAccepted], "completed": v.Counts[JobCompleted]}
		}

		b.Record(pid("p"), AwardAccepted, "")
		time.Sleep(time.Minute + time.Second) // fake time: one tick
		synctest.Wait()
		if got := saved(); got["accepted"] < 0.99 { // decayed by a minute
			t.Fatalf("after one interval: saved %v, want the accepted award", got)
		}

		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute) // another tick, nothing changed
		synctest.Wait()
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("unchanged book saved again: %v", err)
		}

		b.Record(pid("p"), JobCompleted, "")
		cancel()
		<-done
		if got := saved(); got["completed"] != 1 {
			t.Errorf("after ctx ended: saved %v, want the completed job", got)
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"version": 1, "peers": {}}`))
	f.Add([]byte(`{"version": 1, "peers": {"` + pid("x").String() + `": {"counts": {"job_failed": 2, "violation": 0.5},
		"updated": "2026-03-01T12:00:00Z", "first_seen": "2026-02-01T12:00:00Z", "events": [{"kind": "violation"}]}}}`))
	f.Add([]byte(`{"version": 2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		peers, err := decode(data)
		if err != nil {
			return
		}
		now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
		for p, e := range peers {
			s, _ := Compute(decayed(e.Counts, e.Updated, now, DefaultConfig()), now.Sub(e.FirstSeen))
			if !(s >= 0 && s <= 1) {
				t.Fatalf("%s: score %v outside [0, 1]", p, s)
			}
			if len(e.Events) > MaxEvents {
				t.Fatalf("%s: %d events kept, want at most %d", p, len(e.Events), MaxEvents)
			}
		}
	})
}
