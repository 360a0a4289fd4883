package wire

import (
	"errors"
	"fmt"

	"github.com/vigil-ipsec/vigil/internal/isakmp"
)

// Sentinel errors. Errors returned by this package wrap one of these, so
// callers test them with errors.Is. The first three are those of the header
// codec shared with IKEv1 (package isakmp), so ikev1/wire has the same values.
var (
	// ErrTruncated reports that a length field points past the end of the
	// available bytes, or that a fixed-size field is cut short.
	ErrTruncated = isakmp.ErrTruncated
	// ErrMalformed reports a structurally invalid message or payload.
	ErrMalformed = isakmp.ErrMalformed
	// ErrInvalidMajorVersion reports an IKE header whose major version is not 2.
	ErrInvalidMajorVersion = isakmp.ErrInvalidMajorVersion
	// ErrIntegrity reports that an SK payload failed verification or
	// decryption.
	ErrIntegrity = errors.New("wire: integrity check failed")
	// ErrUnsupportedCritical reports an unrecognised payload with the
	// critical bit set. The concrete error is an *UnsupportedCriticalError
	// carrying the payload type.
	ErrUnsupportedCritical = errors.New("wire: unsupported critical payload")
)

// UnsupportedCriticalError is returned when an unrecognised payload has the
// critical bit set. RFC 7296 requires answering with an
// UNSUPPORTED_CRITICAL_PAYLOAD notification whose data is Type.
type UnsupportedCriticalError struct {
	Type PayloadType
}

// Error implements error.
func (e *UnsupportedCriticalError) Error() string {
	return fmt.Sprintf("%v: %v", ErrUnsupportedCritical, e.Type)
}

// Is makes errors.Is(err, ErrUnsupportedCritical) true.
func (e *UnsupportedCriticalError) Is(target error) bool { return target == ErrUnsupportedCritical }

func truncated(what string) error { return fmt.Errorf("%s: %w", what, ErrTruncated) }

func malformed(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrMalformed)
}
