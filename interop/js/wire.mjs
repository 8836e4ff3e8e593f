// The gpumesh wire formats, written from docs/protocol/ alone: uvarint
// frames (market-1.md), signed envelopes (envelope-1.md), capability keys
// (dht-1.md), receipts and the Signed bytes of a countersigned receipt
// (ledger-1.md). No libp2p here beyond keys, so each piece can be checked
// on its own bytes.
import { createHash } from 'node:crypto'
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'

const enc = new TextEncoder()
const dec = new TextDecoder('utf-8', { fatal: true })

/** MAX_SAFE is 2^53 - 1, the largest seq a node sends (README.md, seq note 1). */
export const MAX_SAFE = Number.MAX_SAFE_INTEGER

/** The payload type and domain of every signed message (envelope-1.md). */
export const TYPES = {
  heartbeat: ['/gpumesh/heartbeat/1', 'gpumesh-heartbeat', 64 << 10],
  jobRequest: ['/gpumesh/job-request/1', 'gpumesh-job-request', 64 << 10],
  anchor: ['/gpumesh/anchor-announcement/1', 'gpumesh-anchor-announcement', 64 << 10],
  bid: ['/gpumesh/bid/1', 'gpumesh-bid', 16 << 10],
  award: ['/gpumesh/award/1', 'gpumesh-award', 256 << 10],
  accept: ['/gpumesh/accept/1', 'gpumesh-accept', 64 << 10],
  decline: ['/gpumesh/decline/1', 'gpumesh-decline', 64 << 10],
  release: ['/gpumesh/release/1', 'gpumesh-release', 256 << 10],
  runRequest: ['/gpumesh/run-request/1', 'gpumesh-run-request', 2 << 20],
  capacity: ['/gpumesh/capacity-record/1', 'gpumesh-capacity-record', 16 << 10],
  receipt: ['/gpumesh/receipt/1', 'gpumesh-receipt', 16 << 10],
  countersign: ['/gpumesh/receipt-countersign/1', 'gpumesh-receipt-countersign', 16 << 10]
}

/** uvarint encodes n (a non-negative safe integer or a BigInt) as unsigned LEB128. */
export function uvarint (n) {
  let v = BigInt(n)
  if (v < 0n) throw new Error('uvarint of a negative number')
  const out = []
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80)
    v >>= 7n
  }
  out.push(Number(v))
  return Uint8Array.from(out)
}

/** varint encodes a signed integer zig-zag, as Go's binary.PutVarint. */
export function varint (n) {
  const v = BigInt(n)
  return uvarint(v >= 0n ? v << 1n : ((-v) << 1n) - 1n)
}

/** readUvarint reads a uvarint of at most 10 bytes at off; it returns [value (BigInt), next offset]. */
export function readUvarint (b, off) {
  let v = 0n
  for (let i = 0; i < 10; i++) {
    if (off + i >= b.length) throw new Error('truncated uvarint')
    const c = b[off + i]
    v |= BigInt(c & 0x7f) << BigInt(7 * i)
    if (c < 0x80) return [v, off + i + 1]
  }
  throw new Error('uvarint over 10 bytes')
}

/** concat joins byte arrays. */
export function concat (...parts) {
  const n = parts.reduce((s, p) => s + p.length, 0)
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

/** hex is the lower-case hex of b. */
export const hex = (b) => Buffer.from(b).toString('hex')

/** sha256hex is the hex SHA-256 of b. */
export const sha256hex = (b) => createHash('sha256').update(b).digest('hex')

/** frame is one frame: uvarint length, then b (market-1.md). */
export const frame = (b) => concat(uvarint(b.length), b)

/** jsonBytes is the UTF-8 JSON of v. */
export const jsonBytes = (v) => enc.encode(JSON.stringify(v))

/**
 * Reader reads frames from a js-libp2p (v3) stream. It listens for the
 * stream's events from the moment it is made, so make it right after the
 * stream opens: a gpumesh node may write and close before the first read
 * (the capacity stream does).
 */
export class Reader {
  constructor (stream) {
    this.buf = new Uint8Array(0)
    this.chunks = []
    // Ended already (the remote wrote and closed before we listened): what
    // is buffered is all there is, dispatched once a listener is added.
    const endedEarly = stream.readableEnded === true
    this.eof = endedEarly && !(stream.readBufferLength > 0)
    this.err = null
    this.wake = null
    const poke = () => { const f = this.wake; this.wake = null; f?.() }
    stream.addEventListener('message', (ev) => {
      this.chunks.push(ev.data.subarray ? ev.data.subarray() : ev.data)
      if (endedEarly && !(stream.readBufferLength > 0)) this.eof = true
      poke()
    })
    stream.addEventListener('end', () => { this.eof = true; poke() })
    stream.addEventListener('close', (ev) => { this.eof = true; this.err = ev.error ?? null; poke() })
  }

  async fill (n) {
    while (this.buf.length < n) {
      if (this.chunks.length) { this.buf = concat(this.buf, ...this.chunks); this.chunks = []; continue }
      if (this.eof) {
        if (this.err) throw new Error(`stream reset: ${this.err.message ?? this.err}`)
        return false
      }
      await new Promise((resolve) => { this.wake = resolve })
    }
    return true
  }

  /** frame reads one frame of at most limit bytes; null at a clean end of stream. */
  async frame (limit) {
    let n = 0n
    for (let i = 0; ; i++) {
      if (i >= 10) throw new Error('frame length over 10 bytes')
      if (!(await this.fill(i + 1))) {
        if (i === 0) return null
        throw new Error('stream ended inside a frame length')
      }
      const c = this.buf[i]
      n |= BigInt(c & 0x7f) << BigInt(7 * i)
      if (c < 0x80) { this.buf = this.buf.subarray(i + 1); break }
    }
    if (n > BigInt(limit)) throw new Error(`frame of ${n} bytes, over the limit of ${limit}`)
    const len = Number(n)
    if (!(await this.fill(len))) throw new Error('stream ended inside a frame')
    const out = this.buf.slice(0, len)
    this.buf = this.buf.subarray(len)
    return out
  }

  /** all reads to the end of the stream, at most limit bytes (dht-1.md's unframed capacity stream). */
  async all (limit) {
    while (this.buf.length <= limit && await this.fill(this.buf.length + 1));
    if (this.buf.length > limit) throw new Error(`more than ${limit} bytes`)
    return this.buf
  }
}

// Protobuf: the envelope has four length-delimited fields (1, 2, 3, 5).
function field (num, b) {
  return concat(uvarint((num << 3) | 2), uvarint(b.length), b)
}

/** encodeEnvelope writes an envelope's fields in field-number order: its canonical form. */
export function encodeEnvelope ({ publicKey, payloadType, payload, signature }) {
  return concat(field(1, publicKey), field(2, payloadType), field(3, payload), field(5, signature))
}

/** signedBytes is what the signature covers (envelope-1.md). */
export function signedBytes (domain, payloadType, payload) {
  const d = enc.encode(domain)
  return concat(uvarint(d.length), d, uvarint(payloadType.length), payloadType, uvarint(payload.length), payload)
}

/** seal signs payload (bytes) as type [payloadType, domain] with key (a libp2p private key). */
export async function seal (key, [payloadType, domain], payload) {
  const pt = enc.encode(payloadType)
  const signature = await key.sign(signedBytes(domain, pt, payload))
  return encodeEnvelope({ publicKey: publicKeyToProtobuf(key.publicKey), payloadType: pt, payload, signature })
}

/** sealJSON signs the JSON of v. */
export const sealJSON = (key, type, v) => seal(key, type, jsonBytes(v))

/** decodeEnvelope parses an envelope's protobuf fields, refusing unknown or repeated ones. */
export function decodeEnvelope (b) {
  const f = {}
  let off = 0
  while (off < b.length) {
    let tag; [tag, off] = readUvarint(b, off)
    const num = Number(tag >> 3n)
    if ((tag & 7n) !== 2n) throw new Error(`field ${num}: wire type ${tag & 7n}, not bytes`)
    let n; [n, off] = readUvarint(b, off)
    if (off + Number(n) > b.length) throw new Error(`field ${num} runs past the end`)
    if (![1, 2, 3, 5].includes(num)) throw new Error(`unknown field ${num}`)
    if (f[num]) throw new Error(`field ${num} twice`)
    f[num] = b.subarray(off, off + Number(n))
    off += Number(n)
  }
  for (const n of [1, 2, 5]) if (!f[n]) throw new Error(`field ${n} missing`)
  return { publicKey: f[1], payloadType: f[2], payload: f[3] ?? new Uint8Array(0), signature: f[5] }
}

/**
 * open decodes and verifies an envelope of the given [payloadType, domain,
 * limit]: canonical bytes, the payload type, the signature. It returns the
 * signer's peer ID, the payload bytes and the parsed JSON.
 */
export async function open (b, [payloadType, domain, limit]) {
  if (b.length > limit) throw new Error(`too_large: ${b.length} bytes, over ${limit}`)
  const e = decodeEnvelope(b)
  if (Buffer.compare(Buffer.from(encodeEnvelope(e)), Buffer.from(b)) !== 0) throw new Error('non_canonical envelope')
  const got = dec.decode(e.payloadType)
  if (got !== payloadType) throw new Error(`unknown_type: payload type ${got}, want ${payloadType}`)
  const key = publicKeyFromProtobuf(e.publicKey)
  if (!(await key.verify(signedBytes(domain, e.payloadType, e.payload), e.signature))) {
    throw new Error('bad_signature')
  }
  const text = dec.decode(e.payload)
  return { signer: peerIdFromPublicKey(key), payload: e.payload, text, msg: JSON.parse(text) }
}

/** capabilityCID is the CID of shard i of dimension d, value v (dht-1.md). */
export async function capabilityCID (d, v, i) {
  return CID.createV1(0x55, await sha256.digest(enc.encode(`gpumesh/cap/1/${d}/${v.toLowerCase()}/${i}`)))
}

/** SHARDS is how many shards each dimension has (dht-1.md). */
export const SHARDS = { any: 16, pool: 8, class: 4, vram: 8, executor: 8, region: 4, country: 2 }

/** shardOf is the shard a provider announces under for dimension d. */
export function shardOf (d, peerBytes) {
  const h = createHash('sha256').update(concat(enc.encode(d), Uint8Array.of(0), peerBytes)).digest()
  return h.readUInt32BE(0) % SHARDS[d]
}

/** capacityKey is the DHT key of a provider's capacity record. */
export const capacityKey = (peerId) => concat(enc.encode('/capacity/'), peerId.toMultihash().bytes)

const rfc3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/

/** timeMS parses an RFC 3339 time to whole milliseconds since the epoch, rounding down (ns dropped). */
export function timeMS (s) {
  const m = rfc3339.exec(s)
  if (!m) throw new Error(`time ${JSON.stringify(s)} is not RFC 3339`)
  const frac = m[2] ? m[2].slice(1).padEnd(3, '0').slice(0, 3) : '000'
  const t = Date.parse(m[1] + '.' + frac + m[3])
  if (Number.isNaN(t)) throw new Error(`time ${s} out of range`)
  return t
}

/** rawSeq reads a top-level "seq" as its raw digits, exactly (a capacity record's seq is a 64-bit integer). */
export function rawSeq (text) {
  const m = /^\{"seq":(\d{1,20})[,}]/.exec(text)
  if (!m) throw new Error('no leading "seq"')
  const v = BigInt(m[1])
  if (v < 1n || v > 0xffffffffffffffffn) throw new Error(`seq ${m[1]} out of range`)
  return v
}

const roundHalfUp = (num, den) => (num >= 0n ? (2n * num + den) / (2n * den) : -((2n * -num + den) / (2n * den)))

/** receiptID is the receipt's ID as ledger-1.md computes it. */
export function receiptID (r) {
  const put = (s) => { const b = enc.encode(s); return concat(uvarint(b.length), b) }
  return sha256hex(concat(put('gpumesh-receipt-id/1'), put(r.job), put(r.provider), put(r.requester),
    varint(r.rank), varint(r.attempt), uvarint(r.seq)))
}

/** checkReceipt checks a receipt's arithmetic and ID (ledger-1.md); it throws on the first error. */
export function checkReceipt (r) {
  if (r.v !== 1) throw new Error(`receipt version ${r.v}`)
  if (receiptID(r) !== r.id) throw new Error(`id ${r.id} is not ${receiptID(r)}`)
  const ms = BigInt(timeMS(r.end) - timeMS(r.start))
  const gpuMillis = BigInt(r.devices) * ms
  if (BigInt(r.gpu_millis) !== gpuMillis) throw new Error(`gpu_millis ${r.gpu_millis}, want ${gpuMillis}`)
  const amount = roundHalfUp(BigInt(r.unit_price) * gpuMillis, 3600000n)
  if (BigInt(r.amount) !== amount) throw new Error(`amount ${r.amount}, want ${amount}`)
  const fee = amount > 0n ? roundHalfUp(amount * 25n, 10000n) : 0n
  if (BigInt(r.provider_fee) !== fee || BigInt(r.requester_fee) !== fee) {
    throw new Error(`fees ${r.provider_fee}/${r.requester_fee}, want ${fee}`)
  }
  if (!Number.isSafeInteger(r.seq) || r.seq < 1) throw new Error(`seq ${r.seq}`)
}

/** splitSigned parses `0x01 | uvarint(len P) | P | uvarint(len R) | R` (ledger-1.md). */
export function splitSigned (b) {
  if (b.length > 16384) throw new Error(`Signed of ${b.length} bytes, over 16384`)
  if (b[0] !== 1) throw new Error(`Signed version byte ${b[0]}`)
  let n; let off = 1;
  [n, off] = readUvarint(b, off)
  const P = b.subarray(off, off + Number(n)); off += Number(n)
  if (P.length !== Number(n)) throw new Error('Signed: P truncated');
  [n, off] = readUvarint(b, off)
  const R = b.subarray(off, off + Number(n)); off += Number(n)
  if (R.length !== Number(n) || off !== b.length) throw new Error('Signed: R truncated or trailing bytes')
  return { P, R }
}

/** joinSigned builds the Signed bytes of P and R. */
export const joinSigned = (P, R) => concat(Uint8Array.of(1), uvarint(P.length), P, uvarint(R.length), R)

/**
 * verifySigned verifies a countersigned receipt as a third party would
 * (ledger-1.md): both envelopes, both signers, the binding and the
 * receipt's rules. It returns the receipt.
 */
export async function verifySigned (b) {
  const { P, R } = splitSigned(b)
  const p = await open(P, TYPES.receipt)
  const rc = p.msg
  if (p.signer.toString() !== rc.provider) throw new Error(`receipt signed by ${p.signer}, not its provider ${rc.provider}`)
  if (R.length === 0) throw new Error('not countersigned')
  const c = await open(R, TYPES.countersign)
  if (c.signer.toString() !== rc.requester) throw new Error(`countersigned by ${c.signer}, not the requester ${rc.requester}`)
  if (c.msg.v !== 1 || c.msg.receipt_id !== rc.id) throw new Error('countersignature names another receipt')
  if (c.msg.provider_envelope !== sha256hex(P)) throw new Error('countersignature binds other provider bytes')
  checkReceipt(rc)
  return rc
}

// Job-request shards (gossip-3.md): gpumesh/jobs/3/<pool>/<region>.

/** SHARD_POOLS and SHARD_REGIONS are the shards' pools and regions, in order (gossip-3.md). */
export const SHARD_POOLS = ['gpu', 'apple', 'cpu']
export const SHARD_REGIONS = ['eu', 'na', 'sa', 'as', 'af', 'oc', 'none']

const COUNTRY_REGION = Object.fromEntries(Object.entries({
  eu: 'AD AL AT AX BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT JE LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA XK',
  na: 'AG AI AW BB BL BM BQ BS BZ CA CR CU CW DM DO GD GL GP GT HN HT JM KN KY LC MF MQ MS MX NI PA PM PR SV SX TC TT US VC VG VI',
  sa: 'AR BO BR CL CO EC FK GF GS GY PE PY SR UY VE',
  as: 'AE AF AM AZ BD BH BN BT CN GE HK ID IL IN IO IQ IR JO JP KG KH KP KR KW KZ LA LB LK MM MN MO MV MY NP OM PH PK PS QA SA SG SY TH TJ TL TM TR TW UZ VN YE',
  af: 'AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS LY MA MG ML MR MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ UG YT ZA ZM ZW',
  oc: 'AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TO TV UM VU WF WS'
}).flatMap(([g, codes]) => codes.split(' ').map((c) => [c, g])))

/** shardRegion is the shard region of a region or country name, or null if it is unknown. */
export function shardRegion (name) {
  const n = String(name).trim().toLowerCase()
  if (SHARD_REGIONS.slice(0, 6).includes(n)) return n
  if (n.length !== 2) return null
  return COUNTRY_REGION[n.toUpperCase()] ?? null
}

/** requestJobTopics are the shard topics a job request is published on, under topicPrefix. */
export function requestJobTopics (req, topicPrefix = 'gpumesh') {
  const w = req.per_worker ?? {}
  const pools = !w.gpus ? ['cpu'] : w.pool ? [w.pool] : SHARD_POOLS
  let regions = SHARD_REGIONS
  if (req.regions?.length) {
    const known = req.regions.map(shardRegion)
    if (known.every((g) => g !== null)) regions = [...new Set(known)].sort()
  }
  return pools.flatMap((p) => regions.map((g) => `${topicPrefix}/jobs/3/${p}/${g}`))
}

/**
 * messageID is a gossip message's ID (gossip-2.md, gossip-3.md): the first
 * 20 bytes of SHA-256 of its data, with the topic's name and a 0 byte
 * hashed first on a version 3 jobs or capacity shard.
 */
export function messageID (topic, data) {
  const h = createHash('sha256')
  if (topic.includes('/jobs/3/') || topic.includes('/capacity/3/')) h.update(enc.encode(topic)).update(Uint8Array.of(0))
  return h.update(data).digest().subarray(0, 20)
}
