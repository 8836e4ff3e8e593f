// Tests of wire.mjs, the client's decoders of network bytes: round trips,
// the refusals the spec names, and random and mutated input, which must
// be refused with an Error, never crash or hang. Run: node --test.
import './node20.mjs'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import * as w from './wire.mjs'

test('uvarint and zig-zag varint match Go binary.PutUvarint and PutVarint', () => {
  assert.deepEqual([...w.uvarint(0)], [0])
  assert.deepEqual([...w.uvarint(300)], [0xac, 0x02])
  assert.deepEqual([...w.varint(0)], [0])
  assert.deepEqual([...w.varint(1)], [2])
  assert.deepEqual([...w.varint(-1)], [1])
  assert.deepEqual(w.readUvarint(w.uvarint(2n ** 64n - 1n), 0), [2n ** 64n - 1n, 10])
  assert.throws(() => w.readUvarint(new Uint8Array(11).fill(0x80), 0), /10 bytes/)
})

test('an envelope round-trips, and every tampering is refused as the spec names it', async () => {
  const key = await generateKeyPair('Ed25519')
  const env = await w.sealJSON(key, w.TYPES.heartbeat, { seq: 1, sent: '2026-12-07T16:00:00Z', expires: '2026-12-07T16:01:00Z', agent: 'js' })
  const o = await w.open(env, w.TYPES.heartbeat)
  assert.equal(o.signer.toString(), (await import('@libp2p/peer-id')).peerIdFromPrivateKey(key).toString())
  assert.equal(o.msg.agent, 'js')
  await assert.rejects(w.open(env, w.TYPES.bid), /unknown_type/)
  await assert.rejects(w.open(w.concat(env, Uint8Array.of(0x4a, 1, 1)), w.TYPES.heartbeat), /unknown field/)
  const flipped = env.slice(); flipped[flipped.length - 1] ^= 1
  await assert.rejects(w.open(flipped, w.TYPES.heartbeat), /bad_signature/)
  const wrongDomain = await w.seal(key, [w.TYPES.heartbeat[0], 'gpumesh-bid'], new TextEncoder().encode('{}'))
  await assert.rejects(w.open(wrongDomain, w.TYPES.heartbeat), /bad_signature/)
  await assert.rejects(w.open(new Uint8Array(70000), w.TYPES.heartbeat), /too_large/)
})

test('a countersigned receipt verifies, and a wrong binding does not', async () => {
  const prov = await generateKeyPair('Ed25519')
  const req = await generateKeyPair('Ed25519')
  const { peerIdFromPrivateKey } = await import('@libp2p/peer-id')
  const rc = {
    v: 1, id: '', job: '0123456789abcdef0123456789abcdef', requester: peerIdFromPrivateKey(req).toString(),
    provider: peerIdFromPrivateKey(prov).toString(), rank: 1, attempt: 0, devices: 2, class: 'cpu-x86', pool: 'cpu',
    executor: 'wasm', start: '2026-12-07T16:00:10Z', end: '2026-12-07T16:10:10.5Z', gpu_millis: 1201000,
    unit_price: 2000000, amount: 667222, provider_fee: 1668, requester_fee: 1668, incentive_pool: 'gpumesh-protocol',
    exit_status: 0, status: 'succeeded', seq: 1, issued: '2026-12-07T16:10:11Z'
  }
  rc.id = w.receiptID(rc)
  const P = await w.sealJSON(prov, w.TYPES.receipt, rc)
  const R = await w.sealJSON(req, w.TYPES.countersign, { v: 1, receipt_id: rc.id, provider_envelope: w.sha256hex(P) })
  assert.equal((await w.verifySigned(w.joinSigned(P, R))).id, rc.id)
  const R2 = await w.sealJSON(req, w.TYPES.countersign, { v: 1, receipt_id: rc.id, provider_envelope: '0'.repeat(64) })
  await assert.rejects(w.verifySigned(w.joinSigned(P, R2)), /binds other provider bytes/)
  await assert.rejects(w.verifySigned(w.joinSigned(P, new Uint8Array(0))), /not countersigned/)
  const bad = await w.sealJSON(prov, w.TYPES.receipt, { ...rc, amount: rc.amount + 1 })
  const Rb = await w.sealJSON(req, w.TYPES.countersign, { v: 1, receipt_id: rc.id, provider_envelope: w.sha256hex(bad) })
  await assert.rejects(w.verifySigned(w.joinSigned(bad, Rb)), /amount/)
})

test('random and mutated bytes are refused with an Error', async () => {
  const key = await generateKeyPair('Ed25519')
  const good = await w.sealJSON(key, w.TYPES.bid, { job: 'x' })
  const signed = w.joinSigned(good, good)
  for (let i = 0; i < 3000; i++) {
    let b
    if (i % 3 === 0) b = randomBytes(i % 200)
    else {
      b = (i % 3 === 1 ? good : signed).slice()
      for (let k = 0; k < 1 + (i % 4); k++) b[(i * 7919 + k * 104729) % b.length] ^= 1 + (i % 255)
    }
    for (const f of [() => w.open(b, w.TYPES.bid), () => w.verifySigned(b), () => w.rawSeq(new TextDecoder().decode(b))]) {
      try { await f() } catch (err) { assert.ok(err instanceof Error, `${err}`) }
    }
  }
})

test('Reader reads frames, refuses an oversized one, and reports a stream ending inside a frame', async () => {
  const stream = fakeStream([w.frame(Uint8Array.of(1, 2, 3)), w.uvarint(5000)])
  const r = new w.Reader(stream)
  assert.deepEqual([...(await r.frame(10))], [1, 2, 3])
  await assert.rejects(r.frame(10), /over the limit/)
  const r2 = new w.Reader(fakeStream([w.uvarint(4), Uint8Array.of(1)]))
  await assert.rejects(r2.frame(10), /ended inside a frame/)
  const r3 = new w.Reader(fakeStream([]))
  assert.equal(await r3.frame(10), null)
})

/** fakeStream delivers chunks as js-libp2p message events, then end. */
function fakeStream (chunks) {
  const t = new EventTarget()
  queueMicrotask(() => {
    for (const c of chunks) { const e = new Event('message'); e.data = c; t.dispatchEvent(e) }
    t.dispatchEvent(new Event('end'))
  })
  return t
}

test('job-request shards are derived as gossip-3.md says', () => {
  const t = (per, regions) => w.requestJobTopics({ per_worker: per, regions })
  assert.deepEqual(t({ gpus: 1, pool: 'gpu' }, ['DE']), ['gpumesh/jobs/3/gpu/eu'])
  assert.deepEqual(t({ gpus: 1, pool: 'gpu' }, ['US', 'EU', 'FR']), ['gpumesh/jobs/3/gpu/eu', 'gpumesh/jobs/3/gpu/na'])
  assert.deepEqual(t({ gpus: 0, cpu_cores: 2 }, ['JP']), ['gpumesh/jobs/3/cpu/as'])
  assert.deepEqual(t({ gpus: 1 }, ['AU']), ['gpumesh/jobs/3/gpu/oc', 'gpumesh/jobs/3/apple/oc', 'gpumesh/jobs/3/cpu/oc'])
  assert.equal(t({ gpus: 1, pool: 'cpu' }).length, 7)
  assert.equal(t({ gpus: 1, pool: 'gpu' }, ['DE', 'eu-west']).length, 7)
  assert.equal(t({ gpus: 1 }).length, 21)
  assert.equal(w.shardRegion('QQ'), null)
})

test('message IDs hash the topic on a shard only', () => {
  const data = new TextEncoder().encode('x')
  assert.equal(w.hex(w.messageID('gpumesh/jobs/2', data)), w.sha256hex(data).slice(0, 40))
  // The same vector as gossip's TestContentIDOnShards.
  assert.equal(w.hex(w.messageID('gpumesh/jobs/3/cpu/eu', data)), 'cbeb6de85d70fd98a850ec83843bba3f99640d36')
  assert.notEqual(w.hex(w.messageID('gpumesh/jobs/3/cpu/eu', data)), w.hex(w.messageID('gpumesh/jobs/3/cpu/na', data)))
  // The same vector as gossip's TestContentIDOnCapacityShards.
  assert.equal(w.hex(w.messageID('gpumesh/capacity/3/cpu/eu', data)), '69f76f5504879977cdd55ff264ec6a531a1e2fc0')
  assert.equal(w.hex(w.messageID('gpumesh/capacity/2', data)), w.sha256hex(data).slice(0, 40))
})
