// Package run is the run protocol, /gpumesh/run/1: how a requester hands
// the work of a formed cluster to each provider and gets back its logs,
// results and outputs.
//
// The requester opens one stream per provider and the two sides exchange
// length-prefixed frames (p2p/frame):
//
//	requester                                  provider
//	RunRequest, signed (gpumesh-run-request) ->
//	                                         <- Ack {ok, reason, heartbeat_ns, cached}
//	if ok, each file of RunRequest.Files in order (but those Ack.Cached
//	lists, when RunRequest.SkipCached), as frames of at most MaxChunk
//	bytes (none for an empty file), then a half-close ->
//	                                         <- Event frames (JSON), in any order:
//	                                            heartbeat every Ack.Heartbeat,
//	                                            state "running" per rank,
//	                                            log lines per rank,
//	                                            result per rank (with what its GPUs
//	                                            did, if the provider metered them),
//	                                            each followed by
//	                                            the bytes of its listed outputs not
//	                                            marked truncated, as file frames
//	                                         <- Event end (after every rank's result)
//
// Until a request is authorized its stream reserves MaxRequestBytes of
// its libp2p scope, has ServerConfig.RequestTimeout (5 s) to deliver the
// request, and counts among the streams not yet authorized: at most
// MaxPendingPerPeer (2) per peer and MaxPending (16) in all, past which it
// is refused with Ack{ok: false, busy: true}. Only once the signature,
// the job, its ranks and the award (RunChecker, then BeginRun) check, and
// the award's grant fits the work (each rank's GPUs, which its work gets as
// executor.Job.Devices, and no others; a container asking for another
// number of GPUs is refused), does it reserve RunMemory; a refusal for want of memory is busy too. Run
// returns a busy refusal as ErrBusy: not the provider's fault; the market
// asks again, then fails over, and blames nobody.
//
// Heartbeats go out from their own goroutine, never behind work: a
// result's event and its files go out together between two heartbeats,
// and each of their frames is a sign of life to the requester. An output
// whose apparent size (a sparse file's included) is over what is left of
// MaxOutputBytes is listed truncated, without a digest, and never read;
// the hashing of the others stops as soon as the run is cancelled.
//
// The files are the wasm module ("module") or a docker image archive
// ("image", docker save output, bounded by its executor: ArchiveTaker),
// and the inputs ("inputs/<name>"). A provider whose executor already
// holds the archive (ArchiveHolder) lists it in Ack.Cached, and a
// requester that set SkipCached leaves it out.
//
// The provider refuses with Ack{ok: false, reason} a request that does
// not decode or validate, that the stream's remote peer did not sign, that
// asks for an executor it does not offer or for files over its limits, or
// that its Authorizer (the market's accepted award and reservation)
// refuses. It checks every file's size and digest as it arrives and starts
// no rank before all files are in; a file that does not match ends the
// exchange with an end event carrying the error. A requester that resets
// the stream (or whose connection drops) cancels the work: the provider
// notices at its next write, within one heartbeat, hashing included. The provider calls
// Authorizer.EndRun in every case once BeginRun succeeded.
//
// A requester that hears nothing (not even a heartbeat) for
// HeartbeatTolerance heartbeats (WithTolerance sets another count), or
// whose stream breaks, gets an error wrapping ErrProviderLost; the market
// then replaces the provider (failover) and pays it only until
// Outcome.LastHeard.
//
// A run of a process job of several ranks on a provider with job
// networks joins its job's network (network.go): RunRequest.NetworkID,
// which a replacement's failover award must name too (Grant.Network).
// Its heartbeats and end event carry the network's counters (NetCounters).
// When a failover replaces a provider, the requester sends every other
// provider a signed MemberUpdate over MemberProtocol (member.go): the
// network gives the lost ranks to the replacement and, when it asks for a
// restart, the run's ranks whose results have not gone out start again
// (restart.go), with GPUMESH_NET_GENERATION one higher.
package run
