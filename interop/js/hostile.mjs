// What a careless or hostile client sends, and the refusal docs/protocol
// names for each: on gossip a reject (the message goes no further: the
// provider never bids), on the market streams an unsigned Ack with ok false
// or a signed Decline, on /gpumesh/run/1 a refusing Ack, on
// /gpumesh/receipt/1 a reset stream or an offer with an error.
import { randomBytes } from 'node:crypto'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { peerIdFromString } from '@libp2p/peer-id'
import * as w from './wire.mjs'

const enc = new TextEncoder()

/** pbBytes is one length-delimited protobuf field. */
const pbBytes = (num, b) => w.concat(w.uvarint((num << 3) | 2), w.uvarint(b.length), b)

/**
 * rawRPC is a GossipSub RPC publishing data on topic, written by hand
 * (the pubsub spec's rpc.proto: RPC.publish = 2; Message.from = 1,
 * data = 2, seqno = 3, topic = 4), so that it can carry what js
 * gossipsub, rightly, never sends under StrictNoSign.
 */
function rawRPC (topic, data, { from, seqno } = {}) {
  const msg = w.concat(from ? pbBytes(1, from) : new Uint8Array(0), pbBytes(2, data),
    seqno ? pbBytes(3, seqno) : new Uint8Array(0), pbBytes(4, enc.encode(topic)))
  return pbBytes(2, msg)
}

/** hostile runs the bad-input steps. ctx holds the client's node, key and helpers. */
export async function hostile (ctx) {
  const { node, key, providers, step, exchange, readAck, P, TOPIC, request, bids, nextSeq, at, until } = ctx
  const target = peerIdFromString(providers[0])

  // The raw gossip comes from a second peer, which takes the penalty; the
  // envelopes inside are signed by the client, whom a provider would bid to.
  const rogue = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
  await rogue.start()
  const addrs = (await node.peerStore.get(target)).addresses.map((a) => a.multiaddr)
  await rogue.peerStore.merge(target, { multiaddrs: addrs })

  /** jobRequest is a fresh valid request (its own job ID), with edits applied to its JSON text. */
  const jobRequest = (edit = (x) => x, deadlineMS = 2500) => {
    const now = Date.now()
    const id = randomBytes(16).toString('hex')
    const r = { ...request, id, seq: nextSeq(), sent: at(now), bid_deadline: at(now + deadlineMS) }
    bids.set(id, new Map())
    return { id, text: edit(JSON.stringify(r)) }
  }
  const sealText = (type, text) => w.seal(key, type, enc.encode(text))

  await step('hostile-gossip', async () => {
    // Each bad message on its own job; then a good one as the control. A
    // refused message is never delivered to the provider's market: no bid
    // comes for its job, while one comes for the control's.
    const cases = {
      'author-fields': async () => {
        const j = jobRequest()
        return [j.id, { from: rogue.peerId.toMultihash().bytes, seqno: randomBytes(8) }, await sealText(w.TYPES.jobRequest, j.text)]
      },
      'unknown-type': async () => {
        const j = jobRequest()
        return [j.id, {}, await sealText(['/gpumesh/job-request/9', 'gpumesh-job-request'], j.text)]
      },
      'schema-invalid': async () => {
        const j = jobRequest((t) => t.replace(/"workers":\d+/, '"workers":"two"'))
        return [j.id, {}, await sealText(w.TYPES.jobRequest, j.text)]
      },
      'out-of-range': async () => {
        const j = jobRequest((t) => t.replace(/"gpus":1/, '"gpus":65'))
        return [j.id, {}, await sealText(w.TYPES.jobRequest, j.text)]
      },
      'seq-over-64-bits': async () => {
        const j = jobRequest((t) => t.replace(/"seq":\d+/, '"seq":18446744073709551616'))
        return [j.id, {}, await sealText(w.TYPES.jobRequest, j.text)]
      },
      'non-canonical': async () => {
        const j = jobRequest()
        const env = await sealText(w.TYPES.jobRequest, j.text)
        return [j.id, {}, w.concat(env, pbBytes(9, Uint8Array.of(1)))]
      }
    }
    const sent = {}
    const s = await rogue.dialProtocol(target, ['/meshsub/1.1.0', '/meshsub/1.0.0'], { signal: AbortSignal.timeout(10000) })
    for (const [name, make] of Object.entries(cases)) {
      const [id, author, data] = await make()
      s.send(w.frame(rawRPC(TOPIC.jobs, data, author)))
      sent[name] = id
    }
    const badDeadline = Date.now() + 2600 // every bad request's bid deadline has passed by then
    const control = jobRequest(undefined, 10000)
    s.send(w.frame(rawRPC(TOPIC.jobs, await sealText(w.TYPES.jobRequest, control.text))))
    await until('a bid for the control request', async () => bids.get(control.id).size > 0, 30000)
    await until('the bad requests\' bid deadlines', async () => Date.now() > badDeadline, 5000)
    await s.close().catch(() => {})
    const got = Object.entries(sent).filter(([, id]) => bids.get(id).size > 0).map(([n]) => n)
    if (got.length) throw new Error(`provider bid on refused gossip: ${got}`)
    return { target: target.toString(), refused: Object.keys(sent), control_bid: true, rogue: rogue.peerId.toString() }
  })

  await step('hostile-invite', async () => {
    const cases = {
      'unknown-type': async (j) => sealText(['/gpumesh/job-request/9', 'gpumesh-job-request'], j.text),
      'wrong-domain': async (j) => sealText([w.TYPES.jobRequest[0], 'gpumesh-bid'], j.text),
      'schema-invalid': async () => sealText(w.TYPES.jobRequest, jobRequest((t) => t.replace(/"id":"[0-9a-f]+"/, '"id":"not-hex"')).text),
      'out-of-range': async () => sealText(w.TYPES.jobRequest, jobRequest((t) => t.replace(/"gpus":1/, '"gpus":65')).text),
      'not-json': async () => sealText(w.TYPES.jobRequest, '{"id":'),
      'non-canonical': async (j) => w.concat(await sealText(w.TYPES.jobRequest, j.text), pbBytes(9, Uint8Array.of(1))),
      'author-field-in-payload': async () => sealText(w.TYPES.jobRequest, jobRequest((t) => t.replace(/^\{/, '{"from":"12D3KooWSomeoneElse",')).text)
    }
    const out = {}
    for (const [name, make] of Object.entries(cases)) {
      const { r } = await exchange(node, target, P.invite, [await make(jobRequest())])
      out[name] = await readAck(r)
    }
    // An unknown JSON field is ignored, not refused (envelope-1.md): the
    // request stands; every other case is refused with a reason.
    const wrong = Object.entries(out).filter(([n, a]) => (n === 'author-field-in-payload') !== (a.ok === true) || (!a.ok && !a.reason))
    if (wrong.length) throw new Error(`answers not as the spec says: ${JSON.stringify(Object.fromEntries(wrong))}`)
    return out
  })

  await step('hostile-award-unknown-job', async () => {
    const award = {
      job: randomBytes(16).toString('hex'), provider: target.toString(), seq: nextSeq(), sent: at(Date.now()),
      accept_by: at(Date.now() + 10000), price: 1, ranks: [0], world_size: 1, peers: [target.toString()]
    }
    const { r } = await exchange(node, target, P.award, [await w.sealJSON(key, w.TYPES.award, award)])
    const o = await w.open(await r.frame(w.TYPES.decline[2]), w.TYPES.decline)
    if (o.msg.award_seq !== award.seq || !o.msg.reason) throw new Error(`not a decline of the award: ${o.text}`)
    // A message of the wrong kind for the stream (an Accept, the provider's
    // answer, sent as the opener's frame): an unsigned Ack, not a Decline.
    const accept = { job: award.job, seq: nextSeq(), sent: at(Date.now()), reserved_until: at(Date.now() + 60000), award_seq: award.seq }
    const { r: r2 } = await exchange(node, target, P.award, [await w.sealJSON(key, w.TYPES.accept, accept)])
    const ack = await readAck(r2)
    if (ack.ok !== false || !ack.reason) throw new Error(`answer to an Accept sent as an award: ${JSON.stringify(ack)}`)
    return { decline: o.msg.reason, wrong_kind: ack }
  })

  await step('hostile-run-out-of-order', async () => {
    // A file frame where the RunRequest belongs.
    const { r } = await exchange(node, target, P.run, [enc.encode('\0asm not a run request')])
    const ack = JSON.parse(new TextDecoder().decode(await r.frame(4 << 20)))
    if (ack.ok !== false || !ack.reason) throw new Error(`answer ${JSON.stringify(ack)}`)
    return ack
  })

  await step('hostile-receipt-out-of-order', async () => {
    // A settle answer (frame 3) first: not a settle request, so not JSON
    // of one; the provider resets the stream (market-1.md).
    const { r } = await exchange(node, target, P.receipt, [await w.sealJSON(key, w.TYPES.countersign, { v: 1, receipt_id: '0'.repeat(64), provider_envelope: '0'.repeat(64) })])
    let outcome
    try {
      const b = await r.frame(1 << 20)
      outcome = b === null ? 'closed without an answer' : `answered ${new TextDecoder().decode(b).slice(0, 200)}`
    } catch (err) {
      outcome = `reset: ${err.message}`
    }
    if (!outcome.startsWith('reset') && outcome !== 'closed without an answer') throw new Error(outcome)
    // A settle request for a job with no run here: an offer with an error.
    const { r: r2 } = await exchange(node, target, P.receipt, [w.jsonBytes({ job: randomBytes(16).toString('hex'), ranks: [0] })], { close: false })
    const offer = JSON.parse(new TextDecoder().decode(await r2.frame(1 << 20)))
    if (!offer.error || offer.receipts?.length) throw new Error(`offer ${JSON.stringify(offer)}`)
    return { answer_first: outcome, unknown_job: offer.error }
  })

  await rogue.stop()
}
