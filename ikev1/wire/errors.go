package wire

import (
	"errors"
	"fmt"

	"github.com/vigil-ipsec/vigil/internal/isakmp"
)

// Sentinel errors. Errors returned by this package wrap one of these, so
// callers test them with errors.Is. The first three are those of the header
// codec shared with IKEv2 (package isakmp), so ikev2/wire has the same values.
var (
	// ErrTruncated reports that a length field points past the end of the
	// available bytes, or that a fixed-size field is cut short.
	ErrTruncated = isakmp.ErrTruncated
	// ErrMalformed reports a structurally invalid message or payload
	// (PAYLOAD-MALFORMED, BAD-PROPOSAL-SYNTAX).
	ErrMalformed = isakmp.ErrMalformed
	// ErrInvalidMajorVersion reports an ISAKMP header whose major version
	// is not 1 (INVALID-MAJOR-VERSION).
	ErrInvalidMajorVersion = isakmp.ErrInvalidMajorVersion
	// ErrDOINotSupported reports an SA payload whose Domain of
	// Interpretation is not IPsec (DOI-NOT-SUPPORTED).
	ErrDOINotSupported = errors.New("ikev1 wire: DOI not supported")
	// ErrSituationNotSupported reports an SA payload whose situation is not
	// SIT_IDENTITY_ONLY (SITUATION-NOT-SUPPORTED).
	ErrSituationNotSupported = errors.New("ikev1 wire: situation not supported")
	// ErrEncrypted reports that ParseMessage was given a message with the
	// Encryption flag set; use OpenEncrypted.
	ErrEncrypted = errors.New("ikev1 wire: message is encrypted")
	// ErrNotEncrypted reports that OpenEncrypted was given a message
	// without the Encryption flag.
	ErrNotEncrypted = errors.New("ikev1 wire: message is not encrypted")
	// ErrDecrypt reports that the cipher rejected the ciphertext (for
	// example a length that is not a multiple of the block size).
	ErrDecrypt = errors.New("ikev1 wire: decryption failed")
)

func truncated(what string) error { return fmt.Errorf("%s: %w", what, ErrTruncated) }

func malformed(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrMalformed)
}
