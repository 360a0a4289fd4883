package ike

import "errors"

var (
	// ErrTimeout means a request exhausted its retransmissions.
	ErrTimeout = errors.New("peer did not answer")
	// ErrDeleted means the SA was deleted (by us or the peer).
	ErrDeleted = errors.New("deleted")
	// ErrPeerDeleted means the peer deleted the SA.
	ErrPeerDeleted = errors.New("deleted by peer")
	// ErrInternal means the SA was torn down after an internal error while handling it.
	ErrInternal = errors.New("internal error")
	// ErrSPIInUse refuses a Child SA whose SPI another Child SA already uses.
	ErrSPIInUse = errors.New("SPI in use")
	// ErrStopped is returned by Do and Call once Run has returned: f did not run.
	ErrStopped = errors.New("ike: engine stopped")
)

// Kinds of a peer's refusal, for errors.Is on a *PeerError, whichever IKE version.
var (
	ErrTemporaryFailure = errors.New("temporary failure")  // the peer is busy with an exchange of its own
	ErrChildSANotFound  = errors.New("child SA not found") // the peer does not have the Child SA we named
	ErrNoProposalChosen = errors.New("no proposal chosen")
)

// PeerError is the peer's error notify answering one of our requests.
type PeerError struct {
	Notify string // the notify's name on the wire (CHILD_SA_NOT_FOUND, INVALID-SPI, ...)
	Kind   error  // one of the Err kinds above, or nil
}

func (e *PeerError) Error() string { return "peer answered " + e.Notify }
func (e *PeerError) Unwrap() error { return e.Kind }

// ErrAuthFailed means a peer failed authentication, or rejected ours.
var ErrAuthFailed = errors.New("authentication failed")

// ErrSuperseded means our IKE SA in negotiation was dropped for the peer's.
var ErrSuperseded = errors.New("superseded by the peer's IKE SA")
