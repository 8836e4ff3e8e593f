package market

import (
	"fmt"
	"sort"
	"time"
)

// The settle stage: every run's receipts are exchanged as its provider
// ends (exchangeReceipts, in receipts.go); once the work is over the job
// waits a while for those exchanges, then takes its final state.

// settleWait is how long a job that ended waits for its receipt
// exchanges before it is final; later ones go on in the background.
const settleWait = 5 * time.Second

// settle waits for the receipt exchanges of w's runs, then ends the job:
// succeeded, or failed with failures.
func (d *driver) settle(w *work, failures []error) {
	j := d.j
	j.awaitSettlements()
	j.mu.Lock()
	if c := j.log.counts(); c.Dropped > 0 {
		j.event("logs", "", "%d log lines (%d bytes) kept; %d later lines dropped past the cap of %d MiB per job (market.job_log_mb)",
			c.Lines, c.Bytes, c.Dropped, c.Cap>>20)
	}
	sort.SliceStable(j.view.Workers, func(a, b int) bool { return j.view.Workers[a].Rank < j.view.Workers[b].Rank })
	j.mu.Unlock()
	if len(failures) > 0 {
		d.finish(j, StateFailed, &workFailed{failures: failures})
		return
	}
	j.note("done", "", "every worker succeeded; outputs under %s; charged %s for the time served%s", w.out,
		j.chargedNow().RequesterPays, prefixed(", failovers: ", failoverCount(j.failovers())))
	d.finish(j, StateSucceeded, nil)
}

// awaitSettlements waits up to settleWait for j's receipt exchanges.
func (j *job) awaitSettlements() {
	done := make(chan struct{})
	go func() {
		j.settles.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(settleWait):
	}
}

// chargedNow is what the job was charged so far.
func (j *job) chargedNow() Cost {
	j.mu.Lock()
	defer j.mu.Unlock()
	return *j.view.Charged
}

// failovers is how many lost providers the job replaced.
func (j *job) failovers() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.view.Failovers
}

// failoverCount is n as text, empty for none.
func failoverCount(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}
