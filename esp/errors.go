package esp

import "errors"

// Sentinel errors returned by Seal and Open. They are fixed values (no
// per-packet allocation) and carry no key material; compare with errors.Is.
var (
	// ErrMalformed reports a packet that is structurally invalid before any
	// cryptographic processing: too short, or a CBC ciphertext that is not a
	// whole number of blocks.
	ErrMalformed = errors.New("esp: malformed packet")

	// ErrAuth reports an ICV (HMAC or AEAD tag) verification failure.
	ErrAuth = errors.New("esp: authentication failed")

	// ErrReplay reports a sequence number that is zero, already received, or
	// to the left of the anti-replay window.
	ErrReplay = errors.New("esp: replayed or too old sequence number")

	// ErrDummy reports an authentic dummy packet (Next Header 59, RFC 4303
	// section 2.6). Callers drop it silently; the replay window has been
	// updated.
	ErrDummy = errors.New("esp: dummy packet (next header 59)")

	// ErrPadding reports an authentic packet whose Pad Length exceeds the
	// payload or whose padding bytes are not 1, 2, 3, ... (RFC 4303 section
	// 2.4).
	ErrPadding = errors.New("esp: invalid padding")

	// ErrSeqExhausted is returned by Seal when the next sequence number would
	// wrap (RFC 4303 section 3.3.3). The SA must be rekeyed.
	ErrSeqExhausted = errors.New("esp: sequence number space exhausted")

	// ErrConfig is wrapped by the errors New returns for an invalid Config.
	ErrConfig = errors.New("esp: invalid SA configuration")
)
