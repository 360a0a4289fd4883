// Package memory is an in-memory dataplane for control-plane tests.
//
// A Network connects any number of Dataplanes by address. IKE messages sent with SendIKE are
// delivered asynchronously and in order to the handler of the dataplane listening on the
// destination address. Inner packets injected with Inject or SendInner run through the same
// SA database as the real dataplane (package sad: policy lookup, hold queues, acquire and
// unknown-SPI events, lifetimes) and the real ESP transforms (package esp), are decrypted by the
// peer dataplane that owns the SA's remote address and appear on its Received channel, so a
// test can prove that two control planes agree on keys, SPIs and selectors.
package memory
