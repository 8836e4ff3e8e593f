// Package market is a node's side of the GPU market, in both roles.
//
// As a requester it turns a Spec into a signed gossip.JobRequest, publishes
// it on the jobs topic (and, in a large network, invites providers found
// through capability keys over /gpumesh/invite/1), collects signed bids
// over /gpumesh/bid/1 until the bid deadline or until enough eligible bids
// with a feasible cluster among them have arrived, chooses the cluster with
// scheduler/placement, awards it over /gpumesh/award/1, and confirms it:
// each winner pings the other winners before it accepts, and a pair over
// the RTT bound, a decline or a silent winner sends the choice back to
// placement with what was measured, until the cluster stands or
// market.verify_rounds run out. Every step is an Event on the job, and a
// failure is explained in numbers.
//
// A formed cluster with work runs it over /gpumesh/run/1 (execute.go). A
// provider lost mid-job (its connection drops, or it misses
// market.heartbeat_tolerance heartbeats) is replaced (failover.go): by the
// best runner-up bid still valid, else through a failover request for its
// ranks alone; its ranks restart on the replacement while the other
// workers go on (Spec.Failover "none" fails the job instead). Each
// provider's time served is a Usage, the lost one's until it was last
// heard from, and the loss counts against its reputation.
//
// As a provider it answers requests heard on gossip or by invitation: a
// chain of checks (executor, hours, region, pool, class, memory, cores,
// free devices, price) gives a reason for every request it does not bid
// on; pricing.Ask sets the price from the load and the request's urgency;
// an award is accepted only from the requester, for the bid made, once,
// and reserves the devices until market.reserve_hold passes or the
// requester releases them. The provider side is its own part (provider,
// with its own lock, in provider*.go): the decision chain (Decide), the bid
// engine (OnRequest, invitations, bounded by admit.go), awards and
// reservations, run admission for the run server (CheckRun, BeginRun,
// EndRun) and the receipts of the runs it served. Tests hook into it
// through Knobs, which production leaves nil.
//
// Every stream has a deadline and a size limit, every message is a signed
// envelope whose signer must be the stream's remote peer, and every
// violation counts against the sender's reputation.
package market
