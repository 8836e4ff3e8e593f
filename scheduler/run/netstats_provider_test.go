package run

import (
	"fmt"
	"testing"

	"github.com/gpumesh/gpumesh/p2p/overlay"
)

// TestJobNetworkOnTheProvider: JobNetwork is nil for a job without a
// network here, the live counters while its run holds the network, and
// after the run left it the final ones, kept (summed over the job's runs
// here) while the network itself is gone; at most maxEndedNets jobs are
// kept, the oldest dropped first.
func TestJobNetworkOnTheProvider(t *testing.T) {
	nd, requester := newNode(t), newNode(t)
	svc := overlay.New(nd.Host, nil)
	t.Cleanup(func() { svc.Close() })
	s := NewServer(nd.Host, nil, newFakeAuth(), ServerConfig{Overlay: svc}, nil)
	job := jobID(t)
	if c := s.JobNetwork(job); c != nil {
		t.Fatalf("before the run: %+v, want nil", c)
	}
	req := &RunRequest{Job: job, WorldSize: 2, Ranks: []int{1}, Peers: []string{requester.ID().String(), nd.ID().String()}}
	s.grants[job] = Grant{}
	n, err := s.joinNetwork(req, requester.ID())
	if err != nil {
		t.Fatal(err)
	}
	if c := s.JobNetwork(job); c == nil || c.PacketsIn != 0 {
		t.Fatalf("while it runs: %+v, want the live (empty) counters", c)
	}
	s.mu.Lock()
	s.ended.add(job, NetCounters{BytesIn: 10, PacketsIn: 1, Drops: map[string]uint64{"not_member": 1}}) // an earlier run here
	s.mu.Unlock()
	if c := s.JobNetwork(job); c == nil || c.PacketsIn != 1 || c.Drops["not_member"] != 1 {
		t.Fatalf("while it runs after an earlier run: %+v, want the earlier run's counters plus the live ones", c)
	}
	s.leaveNetwork(req, n)
	if _, ok := svc.Stats(req.NetworkID()); ok {
		t.Fatal("the network outlived its run")
	}
	if c := s.JobNetwork(job); c == nil || c.BytesIn != 10 || c.PacketsIn != 1 || c.Drops["not_member"] != 1 {
		t.Fatalf("after the run: %+v, want the final counters, counted once", c)
	}
	for i := range maxEndedNets {
		s.mu.Lock()
		s.ended.add(fmt.Sprintf("other-%d", i), NetCounters{PacketsOut: uint64(i)})
		s.mu.Unlock()
	}
	if c := s.JobNetwork(job); c != nil {
		t.Errorf("past %d later jobs: %+v, want the oldest dropped", maxEndedNets, c)
	}
	if c := s.JobNetwork("other-7"); c == nil || c.PacketsOut != 7 || len(s.ended.by) != maxEndedNets {
		t.Errorf("a kept job: %+v, %d kept", c, len(s.ended.by))
	}
}
