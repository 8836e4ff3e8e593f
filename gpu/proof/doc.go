// Package proof is gpumesh's proof-of-compute: how a node shows that it did
// a matrix multiplication of a claimed size, at a claimed speed, without the
// verifier doing the multiplication itself.
//
// A provider advertises a device class ("H100-80GB", "CPU-x86" with 16
// cores); a requester pays for it. Nothing stops a provider from lying about
// its hardware, so a verifier sends a Challenge: a random seed, a size n, a
// number type and a deadline. The prover regenerates A and B (n x n) from the
// seed, computes C = A x B, and sends back a Commitment: the RFC 6962 Merkle
// root over C's rows and the time it took. Only then does the verifier pick
// r random rows (PickRows); the prover opens them with inclusion proofs
// (Work.Open), and Verify recomputes just those rows, in O(r n^2) instead of
// O(n^3), checks them against the root and judges the measured throughput
// (2 n^3 / elapsed) against the claimed class (Expected, Classify).
//
// The outcome is a Verdict: pass, too slow, wrong rows, bad commitment,
// timeout or malformed, with the measured throughput and the reason, which is
// what a reputation system consumes.
//
// What a challenge catches, and what it costs:
//
//   - A prover that skips a fraction f of the rows (computes garbage for them
//     but commits to what it has) is caught with probability 1-(1-f)^r: the
//     verifier draws r rows independently and uniformly after the root is
//     fixed, and a wrong row cannot be opened against the root with other
//     values (SHA-256). For one bad row out of n, f = 1/n (CatchProbability).
//     Skipping half the work is caught with probability 1-2^-r.
//   - A prover that commits first and computes later cannot open rows that
//     match its root: bad commitment, every time.
//   - A prover that claims a faster class than it is fails the throughput
//     check, every time: the verifier times the exchange itself and uses the
//     larger of its own measure and the prover's claim.
//   - The verifier's work is r n^2 multiply-adds plus regenerating B (n^2
//     elements) and r rows of A, against the prover's n^3: at n = 1024 and the
//     default r = 12, 1.27 % (Cost).
//
// Matrix elements come from ChaCha8 (math/rand/v2, the C2SP chacha8rand
// generator) keyed per row by SHA-256 of the seed, the matrix and the row, so
// any row of A or B can be regenerated alone. For the CPU number type,
// int8-fp32, elements are integers in [-8, 7]: every product and partial sum
// is an integer below 2^24 in magnitude for n <= MaxExactN, so the fp32 result
// is bit-exact in any summation order and is checked exactly. For the GPU
// types, bf16-fp32 and fp16-fp32, elements are exactly representable in the
// 16-bit format and C is accumulated in fp32; Verify recomputes in float64
// and accepts an error of at most NumberType.Tolerance (2^-16) relative to
// the row's magnitude: honest fp32 accumulation stays near 2^-24, lower
// precision (fp16 accumulation, a bf16 result, int8 inputs) lands above 2^-13.
//
// Version 2, for GPU classes (Challenge2, docs/protocol/proof-v2.md): a
// datacenter GPU multiplies n <= 4096 in under a millisecond, less than a
// round trip, so version 1 cannot time it. Version 2 asks for about a
// second of work at the claimed class's figure (Plan2): K seeded fp16
// products C_j = A_x B_y of pairs from two pools of P matrices, generated
// by an integer hash a GPU computes elementwise (gen2.go); the prover
// commits to every row's digest sum_k |C_j[i,k]| in one Merkle tree over
// the K products; then the verifier opens s = DefaultSamples2 products and
// recomputes r = DefaultCheckRows2 rows of each that the prover never
// learns (Verify2), within Tolerance2 of the row's norm. What it catches:
//
//   - Skipping a fraction f of the products escapes with (1-f)^s
//     (CatchProbability2): 0.9^32 = 3.4 %, 0.5^32 = 2.3e-10. Wrong rows
//     spread over every product escape with (1-f)^(s r).
//   - A slower GPU misses DefaultTolerance2 = 0.75 of its claimed class's
//     figure (an A100's 200 TFLOP/s against an H100's 450: 0.44), or the
//     deadline (target / 0.75 plus slack for the pools, the hashing and
//     the network); the verifier times the exchange itself, less the RTT.
//     A CPU misses by four orders of magnitude.
//   - Cheaper arithmetic: per recomputed row, int8-quantized inputs pass
//     fp16's tolerance 10 % of the time, fp8 inputs 1.3 %, a digest 0.5 %
//     off never; 64 rows per challenge leave at most 0.1^64. Honest fp16
//     and fp32 results were never refused (TestDigestToleranceRates).
//   - Not caught: several GPUs pooled behind one claim.
//   - The verifier's work is s (n^2 + r n + r n^2) (Cost2), 7e-6 of the
//     prover's K n^3 for an H100.
//
// A GPU provider answers through a helper program (package helper); the
// CPUProver2 is its reference and what `gpumesh prover` runs.
//
// `gpumesh bench` runs SelfTest: a whole challenge in process against the
// local prover, and the best class its throughput supports.
//
// Nothing here does I/O. The verifier's decisions (Verify, Failed, Classify)
// are pure functions of plain data; the prover and SelfTest read the clock to
// measure themselves. The stream protocol (ProtocolID) that carries the messages lives elsewhere;
// each message has a compact, versioned binary encoding (Marshal, UnmarshalX),
// a maximum size computed from n and r, and a Validate method.
package proof
