package overlay

// WithEgress gives every rank that AttachProcess attaches a way out to
// public IPv4 addresses besides the job's network (AddEgress), removed
// with the rank's port (Detach) or the network (Close). Without it a
// rank's namespace holds loopback and the job's network only.
func WithEgress() Option {
	return func(s *Service) { s.egress = true }
}

// keepEgress records rank's egress e, closing the one it replaces.
func (n *Net) keepEgress(rank int, e *Egress) {
	n.mu.Lock()
	old := n.egress[rank]
	if n.egress == nil {
		n.egress = map[int]*Egress{}
	}
	n.egress[rank] = e
	n.mu.Unlock()
	n.closeEgress(old)
}

// dropEgress removes rank's egress, if it has one.
func (n *Net) dropEgress(rank int) {
	n.mu.Lock()
	e := n.egress[rank]
	delete(n.egress, rank)
	n.mu.Unlock()
	n.closeEgress(e)
}

// dropAllEgress removes every rank's egress.
func (n *Net) dropAllEgress() {
	n.mu.Lock()
	all := n.egress
	n.egress = nil
	n.mu.Unlock()
	for _, e := range all {
		n.closeEgress(e)
	}
}

// closeEgress closes e, if any, logging a failure: what stays is removed
// at the next start (CleanEgress).
func (n *Net) closeEgress(e *Egress) {
	if e == nil {
		return
	}
	if err := e.Close(); err != nil {
		n.svc.log.Warn("job egress not removed", "job", n.job, "err", err)
	}
}
