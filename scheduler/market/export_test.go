package market

// AddLogLineForTest adds l to job id's log, starting the log as the job's
// work starting does.
func (m *Market) AddLogLineForTest(id string, l LogLine) {
	j := m.lookup(id)
	j.mu.Lock()
	if j.log == nil {
		j.log = newJobLog(m.logsDir(), id, m.logCap())
	}
	g := j.log
	j.mu.Unlock()
	g.add(l)
}
