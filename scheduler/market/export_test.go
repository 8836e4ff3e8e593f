package market

// AddLogLineForTest adds l to job id's log, starting the log as the job's
// work starting does.
func (m *Market) AddLogLineForTest(id string, l LogLine) {
	m.mu.Lock()
	j := m.jobs[id]
	if j.log == nil {
		j.log = newJobLog(m.logsDir(), id, m.logCap())
	}
	g := j.log
	m.mu.Unlock()
	g.add(l)
}
