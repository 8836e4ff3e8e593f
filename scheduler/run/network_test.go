package run

import (
	"testing"

	"github.com/gpumesh/gpumesh/p2p/overlay"
	"github.com/gpumesh/gpumesh/scheduler/executor"
)

// TestWhichJobsGetANetwork: process and container jobs of more than one
// rank get a job network on a provider with an overlay; wasm jobs, single
// ranks and providers without one do not.
func TestWhichJobsGetANetwork(t *testing.T) {
	with := &Server{cfg: ServerConfig{Overlay: overlay.New(nil, nil)}}
	without := &Server{}
	for _, c := range []struct {
		s     *Server
		exec  string
		world int
		want  bool
	}{
		{with, "process", 3, true},
		{with, "docker", 2, true},
		{with, "wasm", 3, false},
		{with, "process", 1, false},
		{with, "docker", 1, false},
		{without, "docker", 3, false},
		{without, "process", 3, false},
	} {
		req := &RunRequest{WorldSize: c.world, Spec: executor.Spec{Executor: c.exec}}
		if got := c.s.wantsNetwork(req); got != c.want {
			t.Errorf("%s job of %d ranks, overlay %v: network %v, want %v", c.exec, c.world, c.s.cfg.Overlay != nil, got, c.want)
		}
	}
}
