// Package v2 is IKEv2 (RFC 7296) for the engine in package ike: IKE_SA_INIT with cookies and
// NAT detection, IKE_AUTH with pre-shared keys and the first Child SA, CREATE_CHILD_SA (new
// Child SAs, Child SA and IKE SA rekeys, with the collision rules of 2.8.1), INFORMATIONAL
// (Delete, liveness, INVALID_SPI), and the unprotected notifies of 2.21.4.
//
// The IKEv2 state of an ike.IKESA (keys, ciphers, nonces, message IDs and the request window
// of one) is a *v2SA, the SA's ike.SAProtocol.
//
// Files: proto.go (ike.Protocol and ike.SAProtocol), dispatch.go (receive path), exchange.go
// (requests, responses, retransmission, message IDs), init.go (IKE_SA_INIT), cookie.go,
// auth.go (IKE_AUTH), createchild.go, ikerekey.go, informational.go, ts.go (selectors on the
// wire).
package v2
