package v1crypto

import (
	"bytes"
	"testing"
)

// FuzzCBC checks that any plaintext survives Encrypt/Decrypt and that
// Decrypt never panics on arbitrary input.
func FuzzCBC(f *testing.F) {
	f.Add([]byte{}, []byte{1, 2, 3})
	f.Add(make([]byte, 16), make([]byte, 32))
	f.Add([]byte("hello"), make([]byte, 17))
	key, iv := pattern(1, 32), pattern(2, 16)
	f.Fuzz(func(t *testing.T, plain, junk []byte) {
		enc, _ := NewCBC(key, iv)
		dec, _ := NewCBC(key, iv)
		ct := enc.Encrypt(nil, plain)
		pt, err := dec.Decrypt(ct)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pt[:len(plain)], plain) || int(pt[len(pt)-1]) != len(pt)-len(plain)-1 {
			t.Fatalf("round trip of %d bytes failed", len(plain))
		}
		if !bytes.Equal(enc.IV(), dec.IV()) {
			t.Fatal("IVs diverge")
		}
		_, _ = dec.Decrypt(junk)
	})
}
