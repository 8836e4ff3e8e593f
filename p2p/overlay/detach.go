package overlay

// Detach closes local rank's port, if one is attached, and its egress,
// and forgets them at once, so that the rank's work, started again, can
// Attach anew without waiting for the old port's reader to notice its
// device is gone.
func (n *Net) Detach(rank int) {
	n.mu.Lock()
	p := n.ports[rank]
	delete(n.ports, rank)
	n.mu.Unlock()
	if p != nil {
		_ = p.Close()
	}
	n.dropEgress(rank)
}
