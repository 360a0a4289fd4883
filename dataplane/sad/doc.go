// Package sad is the security association database shared by Vigil's dataplanes.
//
// It holds inbound SAs keyed by SPI, outbound SAs keyed by their Child SA id (their SPIs are
// chosen by the peers and need not be unique), and the per-tunnel policies that bind inner
// traffic to outbound SAs, and it implements everything about the packet path that does not
// touch a device or a socket: inner packet classification, policy lookup, per-SA counters and
// lifetime enforcement, hold queues with acquire events, unknown-SPI events with rate limiting,
// and inbound selector checks. The TUN+UDP dataplane (dataplane/tunudp) and the in-memory one
// (dataplane/memory) both drive the same DB, so their semantics cannot drift apart.
//
// Concurrency: control-plane calls (AddSA, DeleteSA, SetPolicy, DeletePolicy and their batch
// forms SetPolicies and DeletePolicies) serialise on a mutex and publish their changes through
// atomic pointers to immutable data (copy-on-write shards for inbound SAs, see inTable;
// snapshots of persistent maps for policies, see policyIndex); the per-packet calls (Route,
// Seal, Open) never take a DB-wide lock. SetPolicy and DeletePolicy cost O(log n) in the
// number of tunnels, a batch of k policies O(k log n) with each trie node copied at most once;
// adding or removing an inbound SA copies one shard (1/1024 of the inbound SAs).
package sad
