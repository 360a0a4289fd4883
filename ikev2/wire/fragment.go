package wire

import (
	"errors"
	"fmt"
	"sort"
)

// EncryptedFragment is the Encrypted Fragment (SKF) payload of RFC 7383 as
// it appears on the wire, before decryption.
type EncryptedFragment struct {
	// NextPayload is the first inner payload type in fragment 1 and
	// PayloadNone in the others.
	NextPayload   PayloadType
	Number, Total uint16
	Body          []byte // IV | ciphertext | ICV
}

// PayloadType implements Payload.
func (*EncryptedFragment) PayloadType() PayloadType { return PayloadSKF }

func (f *EncryptedFragment) appendBody(b []byte) []byte {
	b = appendU16(b, f.Number)
	b = appendU16(b, f.Total)
	return append(b, f.Body...)
}

// Fragment is one decrypted IKE fragment.
type Fragment struct {
	Header        Header
	Number, Total uint16
	NextPayload   PayloadType
	Data          []byte // decrypted part of the inner payload chain
}

// ErrFragmentTooSmall is returned by AppendEncryptedFragments when maxLen
// leaves no room for plaintext.
var ErrFragmentTooSmall = errors.New("wire: fragment size too small")

// AppendEncryptedFragments encodes payloads as a protected message split
// into IKE fragments (RFC 7383) of at most maxLen bytes each (IKE header
// included, IP/UDP headers and the non-ESP marker excluded). The header
// fields other than NextPayload and Length come from h.
func AppendEncryptedFragments(h Header, payloads []Payload, c SKCipher, maxLen int) ([][]byte, error) {
	avail := maxLen - HeaderLen - genericHeaderLen - 4
	if avail <= 0 {
		return nil, ErrFragmentTooSmall
	}
	// Largest plaintext chunk whose sealed form fits (SealedLen is monotonic).
	chunk := sort.Search(avail+1, func(n int) bool { return c.SealedLen(n) > avail }) - 1
	if chunk < 1 {
		return nil, ErrFragmentTooSmall
	}
	plain := AppendPayloads(nil, payloads)
	defer clear(plain)
	total := max(1, (len(plain)+chunk-1)/chunk)
	if total > 0xffff {
		return nil, fmt.Errorf("%w: %d fragments needed", ErrFragmentTooSmall, total)
	}
	out := make([][]byte, 0, total)
	for i := 0; i < total; i++ {
		part := plain[i*chunk : min(len(plain), (i+1)*chunk)]
		next := PayloadNone
		if i == 0 {
			next = firstType(payloads)
		}
		extra := []byte{byte((i + 1) >> 8), byte(i + 1), byte(total >> 8), byte(total)}
		out = append(out, appendSealed(nil, h, PayloadSKF, next, extra, part, c))
	}
	return out, nil
}

// OpenEncryptedFragment verifies and decrypts one IKE fragment. The SKF
// payload must be the only payload of the message. Integrity failures wrap
// ErrIntegrity.
func OpenEncryptedFragment(msg []byte, c SKCipher) (*Fragment, error) {
	h, buf, ps, encOff, err := parseProtected(msg)
	if err != nil {
		return nil, err
	}
	f, ok := ps[len(ps)-1].(*EncryptedFragment)
	if !ok {
		return nil, malformed("message is not an IKE fragment")
	}
	if len(ps) != 1 {
		return nil, malformed("SKF payload is not the only payload")
	}
	plain, err := openBody(c, buf[:HeaderLen+encOff+genericHeaderLen+4], f.Body)
	if err != nil {
		return nil, fmt.Errorf("SKF payload: %w", err)
	}
	return &Fragment{Header: h, Number: f.Number, Total: f.Total, NextPayload: f.NextPayload, Data: plain}, nil
}

// Reassemble joins a complete set of decrypted fragments (any order) and
// parses the inner payload chain. All fragments must agree on SPIs,
// exchange, message ID and Total, and numbers 1..Total must each appear
// once. The Message's Header is that of fragment 1. Callers must bound how
// many fragments they buffer before calling it.
func Reassemble(frags []*Fragment) (*Message, error) {
	if len(frags) == 0 {
		return nil, malformed("no fragments")
	}
	total := int(frags[0].Total)
	if len(frags) != total {
		return nil, malformed("%d fragments for total %d", len(frags), total)
	}
	ordered := make([]*Fragment, total)
	size := 0
	h0 := frags[0].Header
	for _, f := range frags {
		h := f.Header
		if int(f.Total) != total || h.SPIi != h0.SPIi || h.SPIr != h0.SPIr ||
			h.Exchange != h0.Exchange || h.MessageID != h0.MessageID || h.Flags != h0.Flags {
			return nil, malformed("fragment %d does not belong to the same message", f.Number)
		}
		if f.Number == 0 || int(f.Number) > total || ordered[f.Number-1] != nil {
			return nil, malformed("bad or duplicate fragment number %d", f.Number)
		}
		ordered[f.Number-1] = f
		size += len(f.Data)
	}
	plain := make([]byte, 0, size)
	for _, f := range ordered {
		plain = append(plain, f.Data...)
	}
	ps, _, err := parseChain(ordered[0].NextPayload, plain, false)
	if err != nil {
		return nil, fmt.Errorf("reassembled message: %w", err)
	}
	return &Message{Header: ordered[0].Header, Payloads: ps}, nil
}
