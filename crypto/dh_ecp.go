package crypto

import (
	"crypto/ecdh"
	"fmt"
	"io"
)

// ecdhDH implements ECP-256/384 (RFC 5903) with crypto/ecdh. Curve25519 has its own type
// (x25519DH).
type ecdhDH struct {
	group uint16
	priv  *ecdh.PrivateKey
	pub   []byte // IKE encoding: x || y without the 0x04 prefix (RFC 5903)
}

func curveFor(group uint16) ecdh.Curve {
	switch group {
	case DHECP256:
		return ecdh.P256()
	case DHECP384:
		return ecdh.P384()
	}
	return nil
}

func newECP(group uint16, rand io.Reader) (DH, error) {
	priv, err := curveFor(group).GenerateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("crypto: generating %s key: %w", dhName(group), err)
	}
	return wrapECDH(group, priv), nil
}

func ecdhFromPrivate(group uint16, priv []byte) (DH, error) {
	k, err := curveFor(group).NewPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("crypto: invalid %s private key", dhName(group))
	}
	return wrapECDH(group, k), nil
}

func wrapECDH(group uint16, priv *ecdh.PrivateKey) *ecdhDH {
	return &ecdhDH{group: group, priv: priv, pub: priv.PublicKey().Bytes()[1:]}
}

func (d *ecdhDH) Group() uint16     { return d.group }
func (d *ecdhDH) PublicKey() []byte { return append([]byte(nil), d.pub...) }

// SharedSecret checks the peer's value is a valid point of the right size
// and returns its x coordinate.
func (d *ecdhDH) SharedSecret(peer []byte) ([]byte, error) {
	if len(peer) != KELen(d.group) {
		return nil, fmt.Errorf("crypto: %s public value has %d bytes, want %d", dhName(d.group), len(peer), KELen(d.group))
	}
	enc := make([]byte, 1+len(peer))
	enc[0] = 4
	copy(enc[1:], peer)
	pk, err := d.priv.Curve().NewPublicKey(enc)
	if err != nil {
		return nil, fmt.Errorf("crypto: invalid %s public value", dhName(d.group))
	}
	z, err := d.priv.ECDH(pk)
	if err != nil {
		return nil, fmt.Errorf("crypto: %s key agreement failed", dhName(d.group))
	}
	return z, nil
}

func allZero(b []byte) bool {
	var acc byte
	for _, v := range b {
		acc |= v
	}
	return acc == 0
}
