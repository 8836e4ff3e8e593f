// Package node is gpumesh's composition root: it turns a data dir and a
// Config into a running node, starting each part in order (data-dir lock,
// identity, libp2p network, gossip, local API) and closing them in reverse.
// It also implements the API's view of the node. Only main (cmd/gpumesh)
// and test harnesses import node; nothing below it may.
package node
