package gossip

// WireVersion is the version of gpumesh's wire protocol as a whole. Each
// message type also carries its own version in its payload type, so a node
// can accept several versions of one message during an upgrade.
//
// Changelog:
//   - 1: topics gpumesh/{jobs,capacity,anchors}/1; heartbeat/1 on capacity.
const WireVersion = 1
