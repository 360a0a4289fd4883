package isakmp

import "errors"

// Sentinel errors of the header codec. ikev1/wire and ikev2/wire export the same values
// (wire.ErrTruncated is isakmp.ErrTruncated, and so on) and wrap them for their payload
// errors too, so that callers test one set of sentinels with errors.Is.
var (
	// ErrTruncated reports that a length field points past the end of the available bytes,
	// or that a fixed-size field is cut short.
	ErrTruncated = errors.New("isakmp: truncated")
	// ErrMalformed reports a structurally invalid message or payload.
	ErrMalformed = errors.New("isakmp: malformed")
	// ErrInvalidMajorVersion reports a header whose major version is not the one the parser
	// was asked for (INVALID-MAJOR-VERSION, INVALID_MAJOR_VERSION).
	ErrInvalidMajorVersion = errors.New("isakmp: invalid major version")
)
