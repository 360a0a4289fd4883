package crypto

import (
	"errors"
	"fmt"
	"io"
	"math/big"
)

// modp2048Len is the size in bytes of MODP-2048 values.
const modp2048Len = 256

// modpExponentLen is the private exponent size in bytes. 256 bits is well
// above twice the ~112-bit strength of the group (RFC 3526 section 8).
const modpExponentLen = 32

// modp2048P is the RFC 3526 section 3 prime, 2^2048 - 2^1984 - 1 +
// 2^64 * ( [2^1918 pi] + 124476 ); the generator is 2.
var modp2048P, _ = new(big.Int).SetString(""+
	"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1"+
	"29024E088A67CC74020BBEA63B139B22514A08798E3404DD"+
	"EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245"+
	"E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"+
	"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D"+
	"C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"+
	"83655D23DCA3AD961C62F356208552BB9ED529077096966D"+
	"670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"+
	"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9"+
	"DE2BCBF6955817183995497CEA956AE515D2261898FA0510"+
	"15728E5A8AACAA68FFFFFFFFFFFFFFFF", 16)

var (
	modpG        = big.NewInt(2)
	modpPMinus1  = new(big.Int).Sub(modp2048P, big.NewInt(1))
	bigOne       = big.NewInt(1)
	errModpRange = errors.New("crypto: MODP-2048 public value out of range")
)

// modpDH is a MODP-2048 key pair. The exponentiation uses math/big, which
// is not constant time; the exponent is ephemeral (one exchange only).
type modpDH struct {
	x   *big.Int // private exponent
	pub []byte   // g^x mod p, left-padded to 256 bytes
}

func newMODP(rand io.Reader) (DH, error) {
	var b [modpExponentLen]byte
	for {
		if _, err := io.ReadFull(rand, b[:]); err != nil {
			return nil, fmt.Errorf("crypto: generating MODP-2048 key: %w", err)
		}
		d, err := modpFromPrivate(b[:])
		if err == nil {
			return d, nil
		}
	}
}

func modpFromPrivate(priv []byte) (*modpDH, error) {
	x := new(big.Int).SetBytes(priv)
	if x.Cmp(bigOne) <= 0 || x.Cmp(modpPMinus1) >= 0 {
		return nil, errors.New("crypto: MODP-2048 private exponent out of range")
	}
	y := new(big.Int).Exp(modpG, x, modp2048P)
	return &modpDH{x: x, pub: y.FillBytes(make([]byte, modp2048Len))}, nil
}

func (d *modpDH) Group() uint16     { return DHMODP2048 }
func (d *modpDH) PublicKey() []byte { return append([]byte(nil), d.pub...) }

// SharedSecret requires a 256-byte peer value y with 1 < y < p-1 (this
// rejects the order-1 and order-2 elements; p is a safe prime) and returns
// y^x mod p left-padded to 256 bytes.
func (d *modpDH) SharedSecret(peer []byte) ([]byte, error) {
	if len(peer) != modp2048Len {
		return nil, fmt.Errorf("crypto: MODP-2048 public value has %d bytes, want %d", len(peer), modp2048Len)
	}
	if d.x.Sign() == 0 {
		return nil, errors.New("crypto: MODP-2048 private key was wiped")
	}
	y := new(big.Int).SetBytes(peer)
	if y.Cmp(bigOne) <= 0 || y.Cmp(modpPMinus1) >= 0 {
		return nil, errModpRange
	}
	z := new(big.Int).Exp(y, d.x, modp2048P)
	if z.Cmp(bigOne) <= 0 {
		return nil, errModpRange
	}
	return z.FillBytes(make([]byte, modp2048Len)), nil
}
