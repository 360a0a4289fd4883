// Package gateway ties Vigil together: configuration, the IKEv2 engine, the dataplane, the
// operator API, events and metrics.
//
// recovery.go holds the stale-SA logic that is Vigil's reason to exist: sending INVALID_SPI for
// unknown inbound SPIs, acting on received INVALID_SPI notifies (protected ones replace the SA at
// once, unprotected ones only trigger rate-limited checks), and finding dead SAs without the
// peer's help (the Child SA probe and the liveness check).
package gateway
