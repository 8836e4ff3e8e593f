// Node 20 lacks Promise.withResolvers (ES2024, Node 22), which some of the
// pinned js-libp2p packages call; this is the standard's own definition.
// It touches nothing of libp2p: on Node 22 and later it does nothing.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
