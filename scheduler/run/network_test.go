package run

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/p2p/overlay"
	"github.com/gpumesh/gpumesh/scheduler/executor"
)

// TestNetworkEnv: every rank of a job network gets what torch.distributed,
// JAX, MPI and Ray read, rank 0's address as MASTER_ADDR, and every
// rank's address by rank, IPv4 and IPv6.
func TestNetworkEnv(t *testing.T) {
	job := "0123456789abcdef0123456789abcdef"
	svc := overlay.New(nil, nil)
	n, err := svc.Join(job, []peer.ID{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	addr := func(r int) string {
		a, err := overlay.Addr(job, r)
		if err != nil {
			t.Fatal(err)
		}
		return a.String()
	}
	addr6 := func(r int) string {
		a, err := overlay.Addr6(job, r)
		if err != nil {
			t.Fatal(err)
		}
		return a.String()
	}
	nw := networkOf(n, 3, 2, 1)
	want := map[string]string{
		"MASTER_ADDR": addr(0), "MASTER_PORT": "29500", "RANK": "2", "WORLD_SIZE": "3", "NODE_RANK": "2",
		"LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "1", "GPUMESH_ADDR": addr(2),
		"GPUMESH_PEERS": addr(0) + "," + addr(1) + "," + addr(2),
		"GPUMESH_ADDR6": addr6(2), "GPUMESH_PEERS6": addr6(0) + "," + addr6(1) + "," + addr6(2),
		"GLOO_SOCKET_IFNAME": "gpumesh0", "NCCL_SOCKET_IFNAME": "gpumesh0", "GPUMESH_NET_GENERATION": "1",
	}
	for k, v := range want {
		if got := nw.Env[k]; got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if len(nw.Env) != len(want) {
		t.Errorf("environment %v has names beyond %v", nw.Env, want)
	}
	if nw.Attach == nil {
		t.Error("no Attach")
	}
}

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
