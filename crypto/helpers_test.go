package crypto

import (
	"crypto/hmac"
	"encoding/hex"
	"hash"
	"strings"
	"testing"
)

// unhex decodes hex, ignoring spaces and newlines; it fails the test on bad input.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	s = strings.Join(strings.Fields(s), "")
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// refHMAC is an independent HMAC over the concatenated parts.
func refHMAC(h func() hash.Hash, key []byte, parts ...[]byte) []byte {
	m := hmac.New(h, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// refPlus is prf+ written straight from RFC 7296 section 2.13 with crypto/hmac.
func refPlus(h func() hash.Hash, key, seed []byte, n int) []byte {
	var out, t []byte
	for i := byte(1); len(out) < n; i++ {
		t = refHMAC(h, key, t, seed, []byte{i})
		out = append(out, t...)
	}
	return out[:n]
}

func seq(from, to int) []byte {
	b := make([]byte, 0, to-from)
	for i := from; i < to; i++ {
		b = append(b, byte(i))
	}
	return b
}
