package config

import (
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
)

// redacted is what every textual form of a Secret prints.
const redacted = "<redacted>"

// Secret holds key material such as a pre-shared key. Every way of turning
// it into text (fmt with any verb, JSON, text marshalling, slog) yields
// "<redacted>"; use [Secret.Bytes] to get at the key itself. fmt can only
// call these methods on exported struct fields: do not store a Secret in an
// unexported field of a value that may be printed.
type Secret []byte

// Bytes returns the secret's bytes. The caller must not log or modify them.
func (s Secret) Bytes() []byte { return s }

// Equal reports whether s and o hold the same bytes, in constant time for
// equal lengths.
func (s Secret) Equal(o Secret) bool {
	return len(s) == len(o) && subtle.ConstantTimeCompare(s, o) == 1
}

// String returns "<redacted>".
func (s Secret) String() string { return redacted }

// GoString returns "<redacted>", so %#v does not show the bytes.
func (s Secret) GoString() string { return redacted }

// Format prints "<redacted>" for every verb and flag.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// MarshalJSON returns the JSON string "<redacted>".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText returns "<redacted>".
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue makes slog print "<redacted>".
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }
