package crypto

import (
	"crypto/rand"
	"fmt"
	"io"
)

// DH is one side of an ephemeral Diffie-Hellman exchange.
type DH interface {
	// Group returns the IANA group ID.
	Group() uint16
	// PublicKey returns the Key Exchange Data to send (KELen bytes).
	PublicKey() []byte
	// SharedSecret validates the peer's Key Exchange Data and returns g^ir.
	SharedSecret(peer []byte) ([]byte, error)
}

// NewDH generates a key pair for the given group using rand (crypto/rand
// when nil). Groups: 14 MODP-2048 (RFC 3526), 19/20 ECP-256/384 (RFC 5903),
// 31 Curve25519 (RFC 8031).
func NewDH(group uint16, rand io.Reader) (DH, error) {
	if rand == nil {
		rand = cryptoRand
	}
	switch group {
	case DHMODP2048:
		return newMODP(rand)
	case DHECP256, DHECP384:
		return newECP(group, rand)
	case DHCurve25519:
		return newX25519(rand)
	}
	return nil, fmt.Errorf("crypto: unsupported Diffie-Hellman group %d", group)
}

// newDHWithPrivate builds a DH from a fixed private key (tests use it for
// known-answer vectors). The private key is the exponent (MODP) or scalar
// (ECP, X25519) as big-endian bytes (little-endian for X25519, as RFC 7748).
func newDHWithPrivate(group uint16, priv []byte) (DH, error) {
	switch group {
	case DHMODP2048:
		return modpFromPrivate(priv)
	case DHECP256, DHECP384:
		return ecdhFromPrivate(group, priv)
	case DHCurve25519:
		return x25519FromPrivate(priv)
	}
	return nil, fmt.Errorf("crypto: unsupported Diffie-Hellman group %d", group)
}

// KELen returns the length of the Key Exchange Data of a group, or 0 if
// the group is not supported.
func KELen(group uint16) int {
	switch group {
	case DHMODP2048:
		return modp2048Len
	case DHECP256:
		return 64
	case DHECP384:
		return 96
	case DHCurve25519:
		return 32
	}
	return 0
}

var cryptoRand io.Reader = rand.Reader

// WipeDH zeroes d's private key where Go allows it: the MODP private exponent and the 32
// Curve25519 private bytes are cleared, and a later SharedSecret fails. Keys of crypto/ecdh
// (the ECP groups) cannot be zeroed: ecdh.PrivateKey offers no way to, and keeps its bytes
// internally; they are only dropped with d and left to the garbage collector.
func WipeDH(d DH) {
	switch k := d.(type) {
	case *modpDH:
		if k.x != nil {
			clear(k.x.Bits())
			k.x.SetInt64(0)
		}
	case *x25519DH:
		k.wipe()
	case interface{ Wipe() }:
		k.Wipe() // a DH value that wraps one (ike's shared values)
	}
}
