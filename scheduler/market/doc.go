// Package market is a node's side of the GPU market. A Market is two parts
// that share a core and nothing else: the requester (this node's jobs) and
// the provider (the requests it bids on and the runs it serves). Either
// can be busy without holding the other's lock, and neither does I/O
// under a lock another goroutine waits on.
//
// # The shared core (market.go)
//
// The config, the host and the other Deps, the sequence numbers of the
// messages this node signs, the decision counts (Stats, under a lock of
// their own), the lifetime group whose goroutines Close cancels and waits
// for, and the helpers both roles use to send and receive signed messages
// and to charge a violation to a peer's reputation.
//
// # The requester (requester.go, job.go, driver.go and one file per stage)
//
// Submit turns a Spec into a signed gossip.JobRequest and hands the job to
// a driver, which takes it through named stages, each in its own file:
//
//	request  publish on the jobs topic; in a large network also invite
//	         providers found through capability keys (/gpumesh/invite/1)
//	collect  bids over /gpumesh/bid/1 until the deadline, or until enough
//	         eligible bids with a feasible cluster among them have come
//	measure  for a job with an RTT bound, a few candidates ping each other
//	         in one round over /gpumesh/rtt-round/1 and return signed rows
//	         (rttround.go; the provider's side in rttround_provider.go)
//	place    scheduler/placement's choice over the bids, told what the
//	         earlier rounds measured and excluded
//	award    awards over /gpumesh/award/1; each winner pings the others
//	         before it accepts, and a class may be checked by a
//	         proof-of-compute challenge (verify.go); a pair over the RTT
//	         bound, a decline or a silent winner is excluded, with a typed
//	         reason (reasons.go), and the rounds go on until the cluster
//	         stands or market.verify_rounds run out
//	execute  the work over /gpumesh/run/1; a provider lost mid-job is
//	         replaced by the best runner-up bid or a failover request for
//	         its ranks alone (failover.go); results may be audited by
//	         replaying a rank elsewhere (audit.go)
//	settle   each provider's time served becomes a Usage and a pair of
//	         signed receipts (receipts.go), then the job's final state
//
// The requester's lock covers only its job index, the providers its jobs
// hold and the class checks; each job's view, bids and events are under
// the job's own lock, and the driver alone owns its rounds and its work.
// Exclusions and failures stay typed until a person reads them: the job
// view renders them into the words and numbers it shows.
//
// # The provider (provider*.go, admit.go)
//
// It answers requests heard on gossip or by invitation. A chain of checks
// (Decide: executor, duration against executor.max_wall, hours, region,
// pool, class, memory, cores, GPUs the executor can hand over, free
// devices, price) gives a reason for every request it does not bid on;
// pricing.Ask sets the price from the load and the request's urgency; bid
// decisions run bounded per requester and in total (admit.go). An award
// is accepted only from the requester, for the bid made, once, and
// reserves the devices until market.reserve_hold passes or the requester
// releases them; each rank gets its share of them, and a running job
// holds them until its run ends. Run admission (CheckRun, BeginRun,
// EndRun) tells the run server whether a run stream holds an award and
// grants each rank its GPUs (run.Grant), and the runs served end in
// receipts both sides sign. Its lock covers its offers, reservations and
// the end-of-run signal, never a network call.
//
// Every stream has a deadline and a size limit, every message is a signed
// envelope whose signer must be the stream's remote peer, and every
// violation counts against the sender's reputation. Tests reach inside the
// provider through Knobs, which production leaves nil; node/nodetest
// builds its bad actors on them.
package market
