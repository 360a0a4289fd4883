// Package ike is the core of Vigil's IKE engine: the event loop, the tunnels, the IKE SA and
// Child SA tables, handing Child SAs to the dataplane, timers, the hooks through which the
// gateway steers it, and the protocol-neutral half of stale-SA recovery. The protocols sit
// behind two interfaces (protocol.go): Protocol for an IKE version, SAProtocol for one IKE SA.
// IKEv1 (RFC 2409) is package ike/v1 and IKEv2 (RFC 7296) package ike/v2; the gateway passes
// both to New. Neither the core nor its API knows either wire format.
//
// One Engine runs one event loop goroutine that owns every IKE SA, Child SA and tunnel; all
// protocol state is changed on that goroutine only, so none of it needs locks. Packets, timers,
// dataplane events and operator commands reach the loop as closures (Engine.Do) or through
// Run's select. Hooks are called on the loop and may call the Engine's loop-only methods.
//
// Files of the core: engine.go (loop, lookups), core.go (the services protocols use),
// operations.go (what the gateway calls: Initiate, CreateChild, RekeyChild, DeleteChild,
// DeleteIKE, Liveness, ...), recovery.go (unknown SPIs, INVALID_SPI, ReplaceChild),
// lifecycle.go (failure, removal, rekeyed SAs, INITIAL_CONTACT), tunnel.go, ikesa.go, child.go,
// install.go (Child SAs into the dataplane), ts.go (selector narrowing), peeraddr.go (NAT
// moves), limiter.go (pre-loop budgets), keepalive.go, hooks.go, errors.go. Tests of every
// package share the in-memory harness ike/iketest.
package ike
