package wire

import (
	"bytes"
	"errors"
	"fmt"
)

// Encrypted is the Encrypted and Authenticated (SK) payload as it appears on
// the wire, before decryption.
type Encrypted struct {
	// NextPayload is the type of the first payload inside the encrypted
	// data (PayloadNone for an empty message such as a liveness check).
	NextPayload PayloadType
	// Body is IV | ciphertext (including padding and pad length) | ICV.
	Body []byte
}

// PayloadType implements Payload.
func (*Encrypted) PayloadType() PayloadType { return PayloadSK }

func (e *Encrypted) appendBody(b []byte) []byte { return append(b, e.Body...) }

// SKCipher protects the contents of SK payloads. Implementations
// live in the crypto package; they hold the SK_e/SK_a keys of one direction.
type SKCipher interface {
	// SealedLen returns the number of bytes Seal produces for a plaintext of
	// plainLen bytes: IV + ciphertext (including padding and the pad length
	// byte) + ICV.
	SealedLen(plainLen int) int
	// Seal appends IV | ciphertext | ICV to dst and returns the result.
	// aad is every message byte before the IV: the IKE header and the SK
	// payload header, with their final length fields. The cipher
	// adds padding and the pad length byte itself. For AEAD ciphers (RFC
	// 5282) aad is the associated data; for other ciphers the ICV covers
	// aad | IV | ciphertext. The result must be exactly SealedLen bytes.
	Seal(dst, aad, plaintext []byte) []byte
	// Open verifies and decrypts body (IV | ciphertext | ICV) and returns
	// the plaintext with padding and pad length byte removed. It may
	// decrypt in place into body, but the result must not alias memory the
	// cipher reuses later.
	Open(aad, body []byte) ([]byte, error)
}

// AppendEncrypted appends a complete protected message: the IKE header
// (NextPayload = SK, Length filled in, Version 0x20 if zero), the SK
// payload header (Next Payload = type of the first inner payload) and the
// inner payload chain sealed with c. The other header fields are taken
// from h as given.
func AppendEncrypted(b []byte, h Header, payloads []Payload, c SKCipher) []byte {
	plain := AppendPayloads(nil, payloads)
	defer clear(plain)
	start := len(b)
	payLen := genericHeaderLen + c.SealedLen(len(plain))
	h.NextPayload = PayloadSK
	if h.Version == 0 {
		h.Version = Version
	}
	h.Length = uint32(HeaderLen + payLen)
	b = h.Append(b)
	b = append(b, byte(firstType(payloads)), 0, 0, 0)
	putLen16(b, len(b)-2, payLen, PayloadSK)
	aadEnd := len(b)
	b = c.Seal(b, b[start:aadEnd], plain)
	if len(b)-start != int(h.Length) {
		panic(fmt.Sprintf("wire: SKCipher.Seal produced %d bytes, SealedLen promised %d", len(b)-aadEnd, int(h.Length)-(aadEnd-start)))
	}
	return b
}

// OpenEncrypted parses a protected message: it decodes the header, walks
// any unencrypted payloads up to the SK payload (which must be present and
// last), verifies and decrypts it with c and parses the inner chain. The
// returned Message holds the unencrypted payloads before SK (normally none)
// followed by the inner payloads; its Header is as received. A failed
// verification or decryption returns an error wrapping ErrIntegrity; an IKE
// fragment (SKF payload, RFC 7383, not supported) one wrapping ErrMalformed.
func OpenEncrypted(msg []byte, c SKCipher) (*Message, error) {
	h, buf, ps, encOff, err := parseProtected(msg)
	if err != nil {
		return nil, err
	}
	enc, ok := ps[len(ps)-1].(*Encrypted)
	if !ok {
		return nil, malformed("SKF payload: IKE fragmentation (RFC 7383) is not supported")
	}
	plain, err := openBody(c, buf[:HeaderLen+encOff+genericHeaderLen], enc.Body)
	if err != nil {
		return nil, fmt.Errorf("SK payload: %w", err)
	}
	inner, _, err := parseChain(enc.NextPayload, plain, false)
	if err != nil {
		return nil, fmt.Errorf("inside SK payload: %w", err)
	}
	ps = append(ps[:len(ps)-1], inner...)
	if len(ps) == 0 {
		ps = nil
	}
	return &Message{Header: h, Payloads: ps}, nil
}

// parseProtected parses the header and outer chain of a copy of msg and
// checks that it ends in an SK or SKF payload at offset encOff (relative to
// the end of the header).
func parseProtected(msg []byte) (h Header, buf []byte, ps []Payload, encOff int, err error) {
	h, err = ParseHeader(msg)
	if err != nil {
		return h, nil, nil, 0, err
	}
	buf = bytes.Clone(msg[:h.Length])
	ps, encOff, err = parseChain(h.NextPayload, buf[HeaderLen:], true)
	if err != nil {
		return h, nil, nil, 0, err
	}
	if encOff < 0 {
		return h, nil, nil, 0, malformed("no SK payload in protected message")
	}
	return h, buf, ps, encOff, nil
}

// openBody calls c.Open and makes sure failures wrap ErrIntegrity.
func openBody(c SKCipher, aad, body []byte) ([]byte, error) {
	plain, err := c.Open(aad, body)
	if err != nil {
		if errors.Is(err, ErrIntegrity) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrIntegrity, err)
	}
	return plain, nil
}
