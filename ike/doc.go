// Package ike is Vigil's IKE protocol engine: IKEv2 (RFC 7296) and, in the v1_*.go files,
// IKEv1 (RFC 2409).
//
// One Engine runs one event loop goroutine that owns every IKE SA, Child SA and tunnel; all
// protocol state is changed on that goroutine only, so none of it needs locks. Packets, timers
// and operator commands reach the loop as closures (Engine.Do). Hooks are called on the loop and
// may call the Engine's loop-only methods directly; this is how the gateway's recovery logic
// steers the engine.
//
// Files: engine.go (loop, lookups), tunnel.go (per-tunnel config and state), ikesa.go and
// child.go (the SAs), exchange.go (requests, responses, retransmission, message IDs),
// init.go (IKE_SA_INIT), auth.go (IKE_AUTH), createchild.go (CREATE_CHILD_SA: new, rekey, IKE
// rekey), informational.go (Delete, liveness, notifies), ts.go (traffic selector narrowing),
// install.go (handing Child SAs to the dataplane).
package ike
