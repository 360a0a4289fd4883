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
//
// IKEv1 (TunnelConfig.Version 1) shares the SAs, install.go, timers and hooks; the
// version-neutral loop-only methods (Initiate, CreateChild, RekeyChild, DeleteChild, DeleteIKE,
// Liveness, SendInvalidSPI, RekeyIKE, ...) dispatch on IKESA.Version. v1_dispatch.go (receive
// path, ISAKMP SA lookup by cookies), v1_state.go (per-SA state, retransmission),
// v1_proposal.go (proposals as IKEv1 transforms), v1_main.go (Main Mode with PSK, NAT-T,
// phase 1 "rekey" as a new Main Mode), v1_quick.go (Quick Mode), v1_info.go (Informational:
// Delete, notifications, RFC 3706 DPD).
package ike
