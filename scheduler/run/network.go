package run

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/p2p/overlay"
	"github.com/gpumesh/gpumesh/scheduler/executor"
)

// ErrNetworkNotAwarded refuses a run that names a job network its award
// does not (RunRequest.Network, Grant.Network).
var ErrNetworkNotAwarded = errors.New("job network not in the award")

// MasterPort is the port MASTER_PORT names: torch.distributed's default.
// Nothing on the job's network listens on it but what rank 0 starts.
const MasterPort = 29500

// wantsNetwork says whether req's ranks run on a job network here: a
// process or container job of more than one rank, on a provider with an
// overlay.
func (s *Server) wantsNetwork(req *RunRequest) bool {
	multi := req.Spec.Executor == "process" || req.Spec.Executor == "docker"
	return s.cfg.Overlay != nil && multi && req.WorldSize > 1
}

// joinNetwork joins req's job network (RunRequest.NetworkID) with the
// request's member list (the requester's signed Peers: rank i runs on
// Peers[i]) and keeps it for the ranks' work and for requester's
// membership updates; the caller leaves it (leaveNetwork) when the run
// ends.
func (s *Server) joinNetwork(req *RunRequest, requester peer.ID) (*overlay.Net, error) {
	s.mu.Lock()
	granted := s.grants[req.Job].Network
	s.mu.Unlock()
	if req.Network != "" && req.Network != granted {
		// Only the requester's signed award binds a run to another job's
		// network: a request alone could take a stranger's network ID here.
		return nil, fmt.Errorf("%w: the run names network %s, its award %q", ErrNetworkNotAwarded, req.Network, granted)
	}
	members := make([]peer.ID, len(req.Peers))
	for i, p := range req.Peers {
		id, err := peer.Decode(p)
		if err != nil { // Validate refused it already
			return nil, fmt.Errorf("peer of rank %d: %w", i, err)
		}
		members[i] = id
	}
	n, err := s.cfg.Overlay.Join(req.NetworkID(), members)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.nets[req.Job] = n
	s.mu.Unlock()
	s.netRuns.add(req.NetworkID(), &netRun{net: n, requester: requester})
	return n, nil
}

// leaveNetwork closes req's job network n once its run ended, keeping
// its final counters for JobNetwork.
func (s *Server) leaveNetwork(req *RunRequest, n *overlay.Net) {
	s.netRuns.remove(req.NetworkID(), n)
	_ = n.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nets[req.Job] == n { // from now on its counters are the ended ones: never counted twice
		delete(s.nets, req.Job)
	}
	s.ended.add(req.Job, *netCountersOf(n.Stats()))
}

// networkOf is rank rk's side of job network n: the environment
// torch.distributed, JAX, MPI and Ray read (MASTER_ADDR is rank 0's
// address), and Attach, which gives the rank's namespace its interface.
func networkOf(n *overlay.Net, worldSize, rk, generation int) *executor.Network {
	addrs, addrs6 := make([]string, worldSize), make([]string, worldSize)
	for r := range addrs {
		a, _ := n.Addr(r) // worldSize <= overlay.MaxRanks: Join checked it
		a6, _ := n.Addr6(r)
		addrs[r], addrs6[r] = a.String(), a6.String()
	}
	env := map[string]string{
		"MASTER_ADDR":      addrs[0],
		"MASTER_PORT":      strconv.Itoa(MasterPort),
		"RANK":             strconv.Itoa(rk),
		"WORLD_SIZE":       strconv.Itoa(worldSize),
		"LOCAL_RANK":       "0",
		"LOCAL_WORLD_SIZE": "1",
		"NODE_RANK":        strconv.Itoa(rk),
		"GPUMESH_PEERS":    strings.Join(addrs, ","),
		"GPUMESH_ADDR":     addrs[rk],
		// The same on the job's IPv6 subnet (a unique local /64), where
		// the provider's kernel has IPv6.
		"GPUMESH_PEERS6": strings.Join(addrs6, ","),
		"GPUMESH_ADDR6":  addrs6[rk],
		// How many times a failover replaced a member of the job's
		// network before this start of the rank: a restarted rank and
		// the replacement see the same number.
		"GPUMESH_NET_GENERATION": strconv.Itoa(generation),
		// gloo and NCCL pick the interface their sockets use by these:
		// the job network's is the only one besides loopback.
		"GLOO_SOCKET_IFNAME": overlay.IfName,
		"NCCL_SOCKET_IFNAME": overlay.IfName,
	}
	return &executor.Network{Env: env, Attach: func(pid int) error { return n.AttachProcess(rk, pid) }}
}
