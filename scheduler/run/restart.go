package run

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// errRestart ends a rank's work when the requester asks every rank of a
// networked job to start again (MemberUpdate.Restart).
var errRestart = errors.New("restart: a lost rank of the job was replaced")

// restarter restarts the ranks of one run whose results have not gone
// out yet.
type restarter struct {
	mu      sync.Mutex
	cancels map[int]context.CancelCauseFunc // by rank, while it runs
}

// restart stops the work of every rank still running; each then starts
// again (rankAgain).
func (r *restarter) restart() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, cancel := range r.cancels {
		cancel(errRestart)
	}
}

func (r *restarter) set(rk int, cancel context.CancelCauseFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cancel == nil {
		delete(r.cancels, rk)
		return
	}
	r.cancels[rk] = cancel
}

// restarterOf makes req's run's restarter and, where the run joined a job
// network, lets the requester's membership updates use it.
func (s *Server) restarterOf(req *RunRequest) *restarter {
	r := &restarter{cancels: map[int]context.CancelCauseFunc{}}
	s.netRuns.setRestart(req.NetworkID(), r.restart)
	return r
}

// rankAgain runs rank rk (Server.rank) and, each time the requester asks
// for a restart before the rank's result went out, stops its work, clears
// its folder, detaches it from the job network and runs it again. A rank
// whose result went out is not run again.
func (s *Server) rankAgain(ctx context.Context, req *RunRequest, rk int, jobDir string, module []byte, items chan<- item, log *slog.Logger, rs *restarter) {
	for {
		rctx, cancel := context.WithCancelCause(ctx)
		rs.set(rk, cancel)
		sent := s.rankOnce(ctx, rctx, req, rk, jobDir, module, items, log)
		rs.set(rk, nil)
		cancel(nil)
		if sent || ctx.Err() != nil || !errors.Is(context.Cause(rctx), errRestart) {
			return
		}
		log.Info("rank starts again", "rank", rk, "why", errRestart.Error())
		_ = os.RemoveAll(filepath.Join(jobDir, "rank-"+strconv.Itoa(rk)))
		s.mu.Lock()
		n := s.nets[req.Job]
		s.mu.Unlock()
		if n != nil {
			n.Detach(rk)
		}
	}
}

// rankOnce runs rank rk once under rctx, handing its events on to items
// while ctx (the run's) lasts, and reports whether its result went out.
func (s *Server) rankOnce(ctx, rctx context.Context, req *RunRequest, rk int, jobDir string, module []byte, items chan<- item, log *slog.Logger) bool {
	mine := make(chan item)
	result := make(chan bool, 1)
	go func() { // ends when mine is closed, below
		sent := false
		for it := range mine {
			select {
			case items <- it:
				sent = sent || it.ev.Kind == KindResult
			case <-ctx.Done():
			}
		}
		result <- sent
	}()
	s.rank(rctx, req, rk, jobDir, module, mine, log)
	close(mine)
	return <-result
}
