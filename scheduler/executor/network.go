package executor

import "os"

// Network puts a process or container job's work in a network namespace
// of its own (Linux only: elsewhere Start refuses a process job that has
// one), which the provider gives the job's network: the work sees
// loopback and what Attach adds, nothing of the provider's host, its LAN
// or its API. A container job's namespace is that of a holder container
// started before it (docker_network.go), whose pid Attach is given.
type Network struct {
	// Attach is called with the work's process ID once its namespace
	// exists and before it runs its first instruction (where tracing is
	// not permitted, right after it starts): it gives the namespace the
	// job's interface. An error stops the work before it runs, and Start
	// fails.
	Attach func(pid int) error
	// Env is the environment the network hands the work (MASTER_ADDR,
	// RANK, GPUMESH_PEERS, ...): set by the provider, it passes whatever
	// the allowlist of job variables says, and a job cannot override it.
	Env map[string]string

	// joinNS, when set, is a network namespace (/proc/<pid>/ns/net of a
	// job's first process, which Attach gave the job's interface) the
	// work starts in instead of a new one: the other processes of a
	// per-device worker (startPerDevice). Attach is then nil.
	joinNS *os.File
}
