// Package reputation keeps this node's own view of every peer it deals with
// in the market: there is no central score. The market records what each
// peer did (Record); placement asks for a score in 0..1, 1 best (Score), to
// rank bids by effective price and to drop bids below DefaultMinReputation.
//
// # Score
//
// Every event adds 1 to its kind's count, and counts decay exponentially:
// an event of age a weighs 2^(-a/HalfLife), or 2^(-a/ChallengeHalfLife) for
// challenge verdicts. Decay is applied lazily: a peer stores its counts and
// the time they were last brought up to date. From the decayed counts
// (n[kind]) and the peer's age (time since first seen, never decayed),
// Compute multiplies five factors:
//
//	ok        = n[award_accepted] + n[job_completed]
//	bad       = n[award_declined] + 1.5 n[award_timeout] + 3 n[job_failed]
//	success   = (ok + 2) / (ok + bad + 3)
//	challenge = (n[challenge_passed] + 1) / (n[challenge_passed] + 1 + 10 n[challenge_failed])
//	conduct   = 1 / (1 + 3 n[violation])
//	heartbeat = 0.5 + 0.5 (n[heartbeat_on_time] + 1) / (n[heartbeat_on_time] + n[heartbeat_missed] + 1)
//	age       = 1 - 0.25 (1 - min(1, age / 7 days))
//	score     = success x challenge x conduct x heartbeat x age
//
// What follows from it (each is tested):
//
//   - A peer never seen scores 2/3 x 0.75 = 0.5, above DefaultMinReputation;
//     one decline leaves a newcomer at 0.375, so it can still win work.
//   - One failed challenge caps the challenge factor at 1/11 with no passes
//     on record, so the score falls below DefaultMinReputation whatever the
//     peer's other history. It recovers as the failure decays (months, at
//     the default ChallengeHalfLife) or after several passed challenges: one
//     failure weighs as much as ten passes.
//   - One fresh violation (a forged, replayed or malformed message) divides
//     the score by 4, which also excludes a peer for a few days.
//   - Every factor rises with the good kinds (accepted, completed, passed,
//     on time) and falls with the bad ones, so at a given first-seen time
//     another success never lowers the score and another failure never
//     raises it. (The first event of any kind starts a peer's age.)
//   - As time passes without events, counts decay to zero and the score of
//     every peer returns towards the neutral 2/3 of a known peer with no
//     recent history.
//   - Each factor lies in (0, 1], so the score does too, and it is finite
//     for any counts (Compute clamps them to 0..1e12).
//
// # Storage
//
// A Book keeps at most MaxPeers peers, evicting the one seen least recently,
// and the last few events of each with a short reason. It persists as a JSON
// file ({"version": 1, "peers": {"<peer ID>": {...}}}) written crash-safely
// (temp file, fsync, rename, fsync of the folder; mode 0600). A file that
// does not decode, or was written by a newer version, is moved aside to
// path + ".corrupt" and Open returns an empty book with an error wrapping
// ErrCorrupt: a node logs it and carries on with fresh opinions.
package reputation
