// Package memory is an in-memory dataplane for control-plane tests.
//
// A Network connects any number of Dataplanes by address. IKE messages sent with SendIKE are
// delivered asynchronously and in order to the handler of the dataplane listening on the
// destination address. Inner packets injected with Inject or SendInner run through the same
// SA database as the real dataplane (package sad: policy lookup, hold queues, acquire and
// unknown-SPI events, lifetimes) and the real ESP transforms (package esp), are decrypted by the
// peer dataplane that owns the SA's remote address and appear on its Received channel, so a
// test can prove that two control planes agree on keys, SPIs and selectors.
//
// Faults for recovery tests: DropIKE loses chosen IKE messages, Network.SetIKELatency gives
// IKE exchanges a round-trip time, and SetOffline cuts a dataplane off (a dead peer; with a
// new dataplane attached on the same address, a restarted one). Everything runs on the
// standard clock, so testing/synctest can drive it in fake time.
package memory
