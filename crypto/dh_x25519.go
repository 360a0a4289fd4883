package crypto

import (
	"crypto/fips140"
	"errors"
	"fmt"
	"io"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// x25519DH implements Curve25519 (group 31, RFC 8031) without crypto/ecdh, for two reasons:
// the public value is computed on the twisted Edwards form with edwards25519's precomputed
// base-point tables (about 3x faster than crypto/ecdh's generic ladder, and every IKE SA
// makes one), and the private scalar is a byte array we own, so WipeDH can zero it.
// The shared secret is an RFC 7748 section 5 Montgomery ladder (x25519Ladder).
type x25519DH struct {
	priv *[32]byte // nil once wiped
	pub  [32]byte
}

const x25519Len = 32

var (
	errX25519Wiped    = errors.New("crypto: x25519 private key was wiped")
	errX25519AllZero  = errors.New("crypto: x25519 shared secret is all zero")
	errX25519NotFIPS  = errors.New("crypto: x25519 is not allowed in FIPS 140-only mode")
	errX25519PrivSize = fmt.Errorf("crypto: invalid %s private key: want %d bytes", dhName(DHCurve25519), x25519Len)
)

func newX25519(rand io.Reader) (DH, error) {
	var k [32]byte
	if _, err := io.ReadFull(rand, k[:]); err != nil {
		return nil, fmt.Errorf("crypto: generating %s key: %w", dhName(DHCurve25519), err)
	}
	d, err := x25519FromPrivate(k[:])
	clear(k[:])
	return d, err
}

// x25519FromPrivate keeps a copy of the 32 private bytes (unclamped, as RFC 7748 stores
// them) and computes the public value X25519(k, 9).
func x25519FromPrivate(priv []byte) (DH, error) {
	// crypto/ecdh refused X25519 in FIPS 140-only mode; keep refusing it.
	if fips140.Enforced() {
		return nil, errX25519NotFIPS
	}
	if len(priv) != x25519Len {
		return nil, errX25519PrivSize
	}
	d := &x25519DH{priv: new([32]byte)}
	copy(d.priv[:], priv)

	// X25519(k, 9) is the u coordinate of [clamp(k)]B on the birationally equivalent
	// Edwards curve (RFC 7748 section 4.1), so the fixed-base tables apply.
	s, err := edwards25519.NewScalar().SetBytesWithClamping(d.priv[:])
	if err != nil {
		return nil, fmt.Errorf("crypto: invalid %s private key: %w", dhName(DHCurve25519), err)
	}
	p := new(edwards25519.Point).ScalarBaseMult(s)
	s.Set(edwards25519.NewScalar()) // the reduced scalar is as secret as the key
	copy(d.pub[:], p.BytesMontgomery())
	return d, nil
}

func (d *x25519DH) Group() uint16     { return DHCurve25519 }
func (d *x25519DH) PublicKey() []byte { return append([]byte(nil), d.pub[:]...) }

// SharedSecret checks the peer's value has 32 bytes and returns X25519(k, u); an all-zero
// result (a low-order peer value) is refused, as RFC 8031 section 2.3 requires.
func (d *x25519DH) SharedSecret(peer []byte) ([]byte, error) {
	if len(peer) != x25519Len {
		return nil, fmt.Errorf("crypto: %s public value has %d bytes, want %d", dhName(DHCurve25519), len(peer), x25519Len)
	}
	if d.priv == nil {
		return nil, errX25519Wiped
	}
	var out [32]byte
	x25519Ladder(&out, d.priv, (*[32]byte)(peer))
	if allZero(out[:]) {
		return nil, errX25519AllZero
	}
	return out[:], nil
}

// wipe zeroes the private bytes and drops them: a later SharedSecret fails.
func (d *x25519DH) wipe() {
	if d.priv != nil {
		clear(d.priv[:])
		d.priv = nil
	}
}

// a24 is (486662 - 2) / 4, for RFC 7748's z_2 = E * (AA + a24 * E).
const a24 = 121665

// x25519Ladder sets out to X25519(k, u) as RFC 7748 section 5 defines it. It runs in time
// independent of k and u: the loop is over the public bit positions, and the scalar bit
// only selects through field.Element.Swap's masks, never through a branch or an index.
func x25519Ladder(out, k, u *[32]byte) {
	// decodeScalar25519: clear the three low bits (a multiple of the cofactor 8), clear
	// bit 255 and set bit 254 (a fixed ladder length).
	var e [32]byte
	copy(e[:], k[:])
	e[0] &= 248
	e[31] &= 127
	e[31] |= 64

	// decodeUCoordinate: mask the top bit; values >= 2^255-19 are accepted and taken mod p
	// (field.Element.SetBytes does both; the mask is explicit so the rule is visible here).
	var ub [32]byte
	copy(ub[:], u[:])
	ub[31] &= 127
	var x1 field.Element
	if _, err := x1.SetBytes(ub[:]); err != nil {
		panic("crypto: x25519 u coordinate is not 32 bytes") // impossible: ub is [32]byte
	}

	var x2, z2, x3, z3 field.Element
	x2.One()
	z2.Zero()
	x3.Set(&x1)
	z3.One()
	swap := 0

	var a, aa, b, bb, ee, c, dd, da, cb, t field.Element
	for i := 254; i >= 0; i-- {
		bit := int(e[i>>3]>>(i&7)) & 1
		swap ^= bit
		x2.Swap(&x3, swap)
		z2.Swap(&z3, swap)
		swap = bit

		a.Add(&x2, &z2)       // A = x_2 + z_2
		aa.Square(&a)         // AA = A^2
		b.Subtract(&x2, &z2)  // B = x_2 - z_2
		bb.Square(&b)         // BB = B^2
		ee.Subtract(&aa, &bb) // E = AA - BB
		c.Add(&x3, &z3)       // C = x_3 + z_3
		dd.Subtract(&x3, &z3) // D = x_3 - z_3
		da.Multiply(&dd, &a)  // DA = D * A
		cb.Multiply(&c, &b)   // CB = C * B

		x3.Add(&da, &cb) // x_3 = (DA + CB)^2
		x3.Square(&x3)
		z3.Subtract(&da, &cb) // z_3 = x_1 * (DA - CB)^2
		z3.Square(&z3)
		z3.Multiply(&x1, &z3)
		x2.Multiply(&aa, &bb) // x_2 = AA * BB
		t.Mult32(&ee, a24)    // z_2 = E * (AA + a24 * E)
		t.Add(&aa, &t)
		z2.Multiply(&ee, &t)
	}
	x2.Swap(&x3, swap)
	z2.Swap(&z3, swap)

	// x_2 * z_2^(p-2); Invert is that exponentiation, and maps z_2 = 0 to 0.
	z2.Invert(&z2)
	x2.Multiply(&x2, &z2)
	copy(out[:], x2.Bytes())

	// The clamped copy is the private key itself; the field elements are left to the
	// stack, as crypto/ecdh leaves its own.
	clear(e[:])
}
