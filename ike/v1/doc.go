// Package v1 is IKEv1 (RFC 2409, the ISAKMP of older peers) for the engine in package ike:
// Main Mode with pre-shared keys and NAT traversal (RFC 3947), Quick Mode, Informational
// exchanges with Delete, notifications and DPD (RFC 3706). Aggressive Mode is refused.
//
// An ISAKMP SA is an ike.IKESA with Version 1; its cookies are SPIi (CKY-I) and SPIr (CKY-R).
// Its IKEv1 state (phase 1 keys, CBC state, exchanges in flight by message ID, replay memory)
// is a *v1SA, the SA's ike.SAProtocol. IPsec SAs are ordinary ike.ChildSAs installed by the
// core.
//
// Files: proto.go (ike.Protocol and ike.SAProtocol), dispatch.go (receive path, ISAKMP SA
// lookup), state.go (per-SA state, retransmission, message IDs), mainmode.go (phase 1),
// quick.go (phase 2), info.go (Informational), proposal.go (proposals as IKEv1 transforms).
package v1
