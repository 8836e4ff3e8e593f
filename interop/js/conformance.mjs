#!/usr/bin/env node
// gpumesh conformance client: a researcher's whole path in js-libp2p,
// written from docs/protocol/ alone, then what a careless or hostile client
// sends. One JSON line per step on stdout: {"step", "pass", "detail"}.
//
//   node conformance.mjs --bootstrap <multiaddr> [--bootstrap ...] --wasm <module>
//        [--input <file>] [--workers N] [--timeout-ms N]
//
// Exit status: 0 when every step passed, 1 when one failed, 2 on bad usage.
import './node20.mjs'
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { gossipsub } from '@libp2p/gossipsub'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString, peerIdFromMultihash } from '@libp2p/peer-id'
import { generateKeyPair } from '@libp2p/crypto/keys'
import * as Digest from 'multiformats/hashes/digest'
import { createHash, randomBytes } from 'node:crypto'
import * as w from './wire.mjs'
import { hostile } from './hostile.mjs'

const { values: args } = parseArgs({
  options: {
    bootstrap: { type: 'string', multiple: true },
    wasm: { type: 'string' },
    input: { type: 'string' },
    workers: { type: 'string', default: '1' },
    'timeout-ms': { type: 'string', default: '120000' }
  }
})
if (!args.bootstrap?.length || !args.wasm) {
  console.error('usage: node conformance.mjs --bootstrap <multiaddr>... --wasm <module> [--input <file>] [--workers N]')
  process.exit(2)
}
const workers = Number(args.workers)
const deadline = Date.now() + Number(args['timeout-ms'])
const PREFIX = '/gpumesh'
const TOPIC_PREFIX = 'gpumesh'
const P = {
  kad: `${PREFIX}/kad/1.0.0`,
  capacity: `${PREFIX}/capacity/1`,
  bid: `${PREFIX}/bid/1`,
  award: `${PREFIX}/award/1`,
  invite: `${PREFIX}/invite/1`,
  receipt: `${PREFIX}/receipt/1`,
  run: `${PREFIX}/run/1`
}
const TOPIC = { capacity: `${TOPIC_PREFIX}/capacity/2`, jobs: `${TOPIC_PREFIX}/jobs/2` }

let failed = false
/** report prints one step's outcome as a JSON line. */
function report (step, pass, detail) {
  if (!pass) failed = true
  process.stdout.write(JSON.stringify({ step, pass, detail }) + '\n')
}

/** step runs fn as the step named; a throw fails it with the error. */
async function step (name, fn) {
  try {
    const detail = await fn()
    report(name, true, detail ?? {})
    return detail
  } catch (err) {
    report(name, false, { error: String(err?.message ?? err) })
    throw new Stop()
  }
}
class Stop extends Error {}

/** until polls cond (async) until true or the run's deadline. */
async function until (what, cond, ms = deadline - Date.now()) {
  const end = Math.min(deadline, Date.now() + ms)
  for (;;) {
    if (await cond()) return
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** at is the time ms (since the epoch) as RFC 3339 with milliseconds. */
const at = (ms) => new Date(ms).toISOString()
/** seq is a clock seq in microseconds, at most 2^53 - 1 (README.md, seq note 1). */
let lastSeq = 0
const nextSeq = () => { lastSeq = Math.max(lastSeq + 1, Date.now() * 1000); return lastSeq }

/** exchange opens protocol to peer, writes frames, half-closes and returns a Reader. */
async function exchange (node, peer, protocol, frames, { close = true } = {}) {
  const s = await node.dialProtocol(peer, protocol, { signal: AbortSignal.timeout(10000) })
  const r = new w.Reader(s)
  for (const f of frames) s.send(w.frame(f))
  if (close) await s.close()
  return { s, r }
}

/** readAck reads a market Ack frame (unsigned JSON, at most 1024 bytes). */
async function readAck (r) {
  const b = await r.frame(1024)
  if (b === null) throw new Error('stream ended without an ack')
  return JSON.parse(new TextDecoder().decode(b))
}

/**
 * wire is every message of the path as it crossed the wire, by schema
 * name (docs/protocol/schemas), at most 4 of a kind: the Go test validates
 * them all, what this client sent and what the nodes answered.
 */
const wire = []
function logWire (schema, dir, v) {
  if (wire.filter((m) => m.schema === schema && m.dir === dir).length >= 4) return
  wire.push({ schema, dir, json: typeof v === 'string' ? v : JSON.stringify(v) })
}

const capacityRecords = new Map() // peer ID string -> verified record
const heartbeats = new Map() // peer ID string -> heartbeat
const bids = new Map() // job -> Map(peer -> bid)

/** verifyCapacity checks a capacity record value for peer (dht-1.md's validator). */
async function verifyCapacity (peerId, value) {
  const o = await w.open(value, w.TYPES.capacity)
  if (!o.signer.equals(peerId)) throw new Error(`capacity record signed by ${o.signer}, not ${peerId}`)
  const seq = w.rawSeq(o.text)
  const r = o.msg
  if (w.timeMS(r.issued) > Date.now() + 120000) throw new Error('issued more than 2 minutes ahead')
  if (w.timeMS(r.expires) <= Date.now()) throw new Error('expired')
  if (!Array.isArray(r.executors) || !Array.isArray(r.devices)) throw new Error('no executors or devices')
  return { ...r, seqRaw: seq.toString() }
}

async function main () {
  const key = await generateKeyPair('Ed25519')
  const node = await createLibp2p({
    privateKey: key,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: P.kad,
        clientMode: true,
        peerInfoMapper: passthroughMapper, // loopback nodes
        validators: {
          capacity: async (key, value) => {
            const id = key.subarray('/capacity/'.length)
            await verifyCapacity(peerIdFromMultihash(Digest.decode(id)), value)
          }
        },
        selectors: {
          capacity: (key, values) => {
            let best = 0; let bestSeq = -1n
            values.forEach((v, i) => {
              try {
                const s = w.rawSeq(new TextDecoder().decode(w.decodeEnvelope(v).payload))
                if (s > bestSeq) { best = i; bestSeq = s }
              } catch {}
            })
            return best
          }
        }
      }),
      pubsub: gossipsub({
        globalSignaturePolicy: 'StrictNoSign', // gossip-2.md: unpatched js gossipsub, its own policy
        msgIdFn: (msg) => w.messageID(msg.topic, msg.data), // gossip-2.md; gossip-3.md on the shards
        allowPublishToZeroTopicPeers: false,
        emitSelf: false
      })
    }
  })
  await node.start()
  const self = node.peerId
  report('start', true, { peer: self.toString(), addrs: node.getMultiaddrs().map(String) })

  // Heartbeats are collected from the start.
  node.services.pubsub.subscribe(TOPIC.capacity)
  node.services.pubsub.subscribe(TOPIC.jobs)
  const hbErrors = []
  node.services.pubsub.addEventListener('message', (ev) => {
    const m = ev.detail.msg ?? ev.detail
    if (m.topic !== TOPIC.capacity) return
    w.open(m.data, w.TYPES.heartbeat).then((o) => {
      const h = o.msg
      const sent = w.timeMS(h.sent); const expires = w.timeMS(h.expires)
      if (!Number.isSafeInteger(h.seq) || h.seq < 1) throw new Error(`seq ${h.seq}`)
      if (!(expires > sent && expires - sent <= 600000)) throw new Error('expires not within 10 minutes after sent')
      if (typeof h.agent !== 'string' || Buffer.byteLength(h.agent) > 128) throw new Error('agent')
      if (h.coord && (h.coord.vec?.length !== 8 || !h.coord.vec.every(Number.isFinite))) throw new Error('coord')
      if (m.from !== undefined || m.sequenceNumber !== undefined || m.signature !== undefined || m.key !== undefined) {
        throw new Error('gossip message carried author fields')
      }
      heartbeats.set(o.signer.toString(), { ...h, bytes: m.data.length })
      logWire('heartbeat', 'received', o.text)
    }).catch((err) => hbErrors.push(String(err.message)))
  })

  // Bids arrive on /gpumesh/bid/1 (market-1.md).
  await node.handle(P.bid, async (stream, conn) => {
    const r = new w.Reader(stream) // at once: the bid may be there already
    let ack = { ok: true }
    try {
      const b = await r.frame(w.TYPES.bid[2])
      const o = await w.open(b, w.TYPES.bid)
      if (!o.signer.equals(conn.remotePeer)) throw new Error('signed by someone else')
      const bid = o.msg
      if (!bids.has(bid.job)) ack = { ok: false, reason: 'unknown_job' }
      else if (w.timeMS(bid.expires) <= Date.now()) ack = { ok: false, reason: 'expired' }
      else { bids.get(bid.job).set(o.signer.toString(), bid); logWire('bid', 'received', o.text) }
    } catch (err) {
      ack = { ok: false, reason: String(err.message) }
    }
    logWire('market-ack', 'sent', ack)
    stream.send(w.frame(w.jsonBytes(ack)))
    await stream.close().catch(() => {})
  })

  // 1. Connect and identify.
  const boots = await step('connect', async () => {
    const ids = []
    for (const a of args.bootstrap) {
      const ma = multiaddr(a)
      const conn = await node.dial(ma, { signal: AbortSignal.timeout(10000) })
      ids.push(conn.remotePeer)
    }
    for (const id of ids) {
      await until(`identify of ${id}`, async () => {
        const p = await node.peerStore.get(id).catch(() => null)
        return p?.protocols?.includes(P.kad)
      }, 30000)
    }
    const p = await node.peerStore.get(ids[0])
    return { peers: ids.map(String), protocols: p.protocols.filter((x) => x.startsWith(PREFIX)).sort() }
  })

  // 1b. Providers through the capability keys: every shard of executor=wasm.
  const providers = await step('dht-providers', async () => {
    await until('a DHT routing table', async () => node.services.dht.routingTable.size > 0, 30000)
    const found = new Map()
    const wrongShard = []
    await until(`${workers} providers under executor/wasm`, async () => {
      for (let i = 0; i < w.SHARDS.executor; i++) {
        const cid = await w.capabilityCID('executor', 'wasm', i)
        try {
          for await (const ev of node.services.dht.findProviders(cid, { signal: AbortSignal.timeout(10000) })) {
            if (ev.name !== 'PROVIDER') continue
            for (const p of ev.providers) {
              if (w.shardOf('executor', p.id.toMultihash().bytes) !== i) wrongShard.push(`${p.id}@${i}`)
              found.set(p.id.toString(), p)
            }
          }
        } catch (err) {
          if (err.name !== 'AbortError' && err.name !== 'TimeoutError') throw err // a slow query is asked again
        }
      }
      return found.size >= workers
    }, 60000)
    if (wrongShard.length) throw new Error(`providers in the wrong shard: ${wrongShard}`)
    return { providers: [...found.keys()].sort(), shards: w.SHARDS.executor }
  })

  // 1c. Their capacity records, from the DHT and from /gpumesh/capacity/1.
  await step('capacity-records', async () => {
    const out = {}
    for (const id of providers.providers) {
      const pid = peerIdFromString(id)
      let fromDHT = null
      for await (const ev of node.services.dht.get(w.capacityKey(pid), { signal: AbortSignal.timeout(10000) })) {
        if (ev.name === 'VALUE') { fromDHT = ev.value; break }
      }
      if (!fromDHT) throw new Error(`no capacity record of ${id} in the DHT`)
      const rec = await verifyCapacity(pid, fromDHT)
      const s = await node.dialProtocol(pid, P.capacity, { signal: AbortSignal.timeout(5000) })
      const rd = new w.Reader(s)
      await s.close()
      const direct = await rd.all(16384)
      const rec2 = await verifyCapacity(pid, direct)
      logWire('capacity-record', 'received', (await w.open(direct, w.TYPES.capacity)).text)
      if (!rec.executors.includes('wasm')) throw new Error(`${id} announced under executor/wasm but offers ${rec.executors}`)
      capacityRecords.set(id, rec2)
      out[id] = { seq: rec.seqRaw, direct_seq: rec2.seqRaw, executors: rec.executors, devices: rec.devices.length, prices: rec.prices }
    }
    return out
  })

  // 2. Heartbeats from every provider, decoded and verified.
  await step('heartbeats', async () => {
    await until('a heartbeat from every provider', async () => providers.providers.every((p) => heartbeats.has(p)), 60000)
    if (hbErrors.length) throw new Error(`heartbeats refused: ${hbErrors.slice(0, 3)}`)
    const out = {}
    for (const p of providers.providers) out[p] = heartbeats.get(p)
    return out
  })

  // 3. A signed job request, on gossip and as invitations; bids come back.
  const job = randomBytes(16).toString('hex')
  const moduleBytes = readFileSync(args.wasm)
  const inputBytes = args.input ? readFileSync(args.input) : null
  const now = Date.now()
  const request = {
    id: job,
    seq: nextSeq(),
    sent: at(now),
    bid_deadline: at(now + 10000),
    workers,
    per_worker: { gpus: 1, pool: 'cpu' },
    max_rtt_ns: 0,
    max_price: 100,
    duration_ns: 60e9,
    executor: 'wasm',
    workload: 'conformance',
    urgency: 'normal',
    addrs: node.getMultiaddrs().map((a) => a.toString())
  }
  bids.set(job, new Map())
  const requestEnv = await w.sealJSON(key, w.TYPES.jobRequest, request)
  logWire('job-request', 'sent', request)
  await step('publish-job-request', async () => {
    // gossip-3.md: the request's shards, and gpumesh/jobs/2 beside them
    // for the transition; a shard with no subscriber is reached by the
    // invitations below.
    const topics = w.requestJobTopics(request, TOPIC_PREFIX)
    await until('providers subscribed to one of the request\'s shards', async () =>
      topics.some((t) => node.services.pubsub.getSubscribers(t).length > 0), 30000)
    const recipients = {}
    for (const t of [...topics, TOPIC.jobs]) {
      if (node.services.pubsub.getSubscribers(t).length === 0) continue
      recipients[t] = (await node.services.pubsub.publish(t, requestEnv)).recipients.length
    }
    const invites = {}
    for (const id of providers.providers) {
      const { r } = await exchange(node, peerIdFromString(id), P.invite, [requestEnv])
      invites[id] = await readAck(r)
      logWire('market-ack', 'received', invites[id])
    }
    return { job, gossip_recipients: recipients, invites }
  })
  const chosen = await step('bids', async () => {
    await until(`${workers} bids`, async () => bids.get(job).size >= Math.min(workers, providers.providers.length) &&
      (bids.get(job).size >= providers.providers.length || Date.now() > w.timeMS(request.bid_deadline)), 30000)
    const all = [...bids.get(job).entries()].sort((a, b) => a[1].price - b[1].price)
    if (all.length < workers) throw new Error(`${all.length} bids for ${workers} workers`)
    return { bids: Object.fromEntries(all), chosen: all.slice(0, workers).map(([p]) => p) }
  })

  // 3b. Award each chosen provider one rank; each accepts.
  const peers = chosen.chosen
  await step('award', async () => {
    const out = {}
    for (const [rank, id] of peers.entries()) {
      const bid = bids.get(job).get(id)
      const award = {
        job, provider: id, seq: nextSeq(), sent: at(Date.now()), accept_by: at(Date.now() + 10000),
        price: bid.price, ranks: [rank], world_size: workers, peers
      }
      logWire('award', 'sent', award)
      const { r } = await exchange(node, peerIdFromString(id), P.award, [await w.sealJSON(key, w.TYPES.award, award)])
      const b = await r.frame(w.TYPES.accept[2])
      const o = await w.open(b, w.TYPES.accept).catch(async (err) => {
        throw new Error(`not an Accept (${err.message}): ${new TextDecoder().decode(b).slice(0, 300)}`)
      })
      if (!o.signer.equals(peerIdFromString(id))) throw new Error('accept signed by someone else')
      logWire('accept', 'received', o.text)
      if (o.msg.award_seq !== award.seq || o.msg.job !== job) throw new Error(`accept for ${o.msg.job}/${o.msg.award_seq}`)
      out[id] = { rank, reserved_until: o.msg.reserved_until }
    }
    return out
  })

  // 3c. Run the wasm module on each provider over /gpumesh/run/1.
  const digest = (b) => 'sha256:' + createHash('sha256').update(b).digest('hex')
  const files = [{ name: 'module', digest: digest(moduleBytes), size: moduleBytes.length }]
  const sources = [moduleBytes]
  if (inputBytes) {
    files.push({ name: 'inputs/' + basename(args.input), digest: digest(inputBytes), size: inputBytes.length })
    sources.push(inputBytes)
  }
  const runs = await step('run', async () => {
    const results = await Promise.all(peers.map(async (id, rank) => {
      const started = Date.now()
      const req = {
        job, seq: nextSeq(), sent: at(Date.now()), ranks: [rank], world_size: workers, peers,
        spec: { version: 1, executor: 'wasm', wasm: { digest: files[0].digest }, limits: {} },
        files
      }
      const env = await w.sealJSON(key, w.TYPES.runRequest, req)
      logWire('run-request', 'sent', req)
      const s = await node.dialProtocol(peerIdFromString(id), P.run, { signal: AbortSignal.timeout(10000) })
      const r = new w.Reader(s)
      s.send(w.frame(env))
      const ackb = await r.frame(4 << 20)
      const ack = JSON.parse(new TextDecoder().decode(ackb))
      logWire('run-ack', 'received', new TextDecoder().decode(ackb))
      if (!ack.ok) throw new Error(`run refused by ${id}: ${JSON.stringify(ack)}`)
      for (const [i, f] of files.entries()) {
        if ((ack.cached ?? []).includes(f.name) && req.skip_cached) continue
        for (let o = 0; o < sources[i].length; o += 1 << 20) s.send(w.frame(sources[i].subarray(o, o + (1 << 20))))
      }
      await s.close()
      const events = []; const outputs = {}; const logs = []
      let end = null
      while (end === null) {
        const b = await r.frame(4 << 20)
        if (b === null) throw new Error('stream ended before the end event')
        const ev = JSON.parse(new TextDecoder().decode(b))
        logWire('run-event', 'received', new TextDecoder().decode(b))
        events.push(ev.kind)
        if (ev.kind === 'log') logs.push(ev.line)
        if (ev.kind === 'result') {
          for (const f of ev.outputs ?? []) {
            if (f.truncated) continue
            const parts = []; let got = 0
            while (got < f.size) {
              const c = await r.frame(1 << 20)
              if (c === null) throw new Error(`stream ended inside output ${f.name}`)
              parts.push(c); got += c.length
            }
            const data = w.concat(...parts)
            if (digest(data) !== f.digest) throw new Error(`output ${f.name}: digest mismatch`)
            outputs[f.name] = new TextDecoder().decode(data)
          }
          ev.result && (ev.result_status = ev.result.status)
          events.push('result:' + ev.result?.status)
        }
        if (ev.kind === 'end') end = ev
      }
      if (end.error) throw new Error(`run on ${id} ended with ${end.error}`)
      if (!events.includes('result:succeeded')) throw new Error(`no succeeded result from ${id}: ${events}`)
      return { id, rank, heartbeat_ns: ack.heartbeat_ns, outputs, logs: logs.length, observed_ms: Date.now() - started }
    }))
    return Object.fromEntries(results.map((x) => [x.id, x]))
  })

  // 3d. Settle: receipts offered, checked, countersigned, verified whole.
  await step('receipts', async () => {
    const out = {}
    for (const [rank, id] of peers.entries()) {
      const settle = { job, ranks: [rank], observed_ms: runs[id].observed_ms }
      logWire('settle-request', 'sent', settle)
      const s = await node.dialProtocol(peerIdFromString(id), P.receipt, { signal: AbortSignal.timeout(20000) })
      const r = new w.Reader(s)
      s.send(w.frame(w.jsonBytes(settle)))
      const offerText = new TextDecoder().decode(await r.frame(1 << 20))
      logWire('settle-offer', 'received', offerText)
      const offer = JSON.parse(offerText)
      if (offer.error) throw new Error(`settle offer from ${id}: ${offer.error}`)
      const signed = []
      const ids = []
      for (const b64 of offer.receipts ?? []) {
        const { P: Pb } = w.splitSigned(Buffer.from(b64, 'base64'))
        const o = await w.open(Pb, w.TYPES.receipt)
        const rc = o.msg
        if (!o.signer.equals(peerIdFromString(id)) || rc.provider !== id) throw new Error('receipt signed by someone else')
        if (rc.requester !== self.toString() || rc.job !== job || rc.rank !== rank) throw new Error('receipt for another run')
        w.checkReceipt(rc)
        const cs = { v: 1, receipt_id: rc.id, provider_envelope: w.sha256hex(Pb) }
        logWire('receipt', 'received', o.text)
        logWire('receipt-countersign', 'sent', cs)
        const R = await w.sealJSON(key, w.TYPES.countersign, cs)
        signed.push(w.joinSigned(Pb, R))
        ids.push(rc.id)
      }
      if (signed.length === 0) throw new Error(`no receipts from ${id}`)
      const answer = { countersigned: signed.map((b) => Buffer.from(b).toString('base64')) }
      logWire('settle-answer', 'sent', answer)
      s.send(w.frame(w.jsonBytes(answer)))
      await s.close()
      const ack = await readAck(r)
      logWire('market-ack', 'received', ack)
      if (!ack.ok) throw new Error(`countersigned receipts refused by ${id}: ${ack.reason}`)
      const verified = []
      for (const b of signed) {
        const rc = await w.verifySigned(b)
        verified.push({ id: rc.id, status: rc.status, amount: rc.amount, gpu_millis: rc.gpu_millis, signed: Buffer.from(b).toString('base64') })
      }
      out[id] = verified
    }
    return out
  })

  // Every message of the path, for the Go side to validate against the schemas.
  await step('messages', async () => ({ messages: wire }))

  // 4. What a careless or hostile client sends.
  await hostile({ node, key, providers: providers.providers, step, exchange, readAck, P, TOPIC, request, bids, nextSeq, at, until })
  await node.stop()
}

main().catch((err) => {
  if (!(err instanceof Stop)) report('fatal', false, { error: String(err?.stack ?? err) })
}).finally(() => process.exit(failed ? 1 : 0))
