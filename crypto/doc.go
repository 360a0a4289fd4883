// Package crypto holds the cryptographic building blocks of Vigil's IKEv2
// implementation: algorithm identifiers and strongSwan-style proposal
// strings, proposal selection, Diffie-Hellman groups, the PRF and prf+
// key derivation of RFC 7296, PSK authentication, and the ciphers that
// protect the IKEv2 Encrypted (SK) payload.
//
// Supported algorithms (IANA IKEv2 transform IDs):
//
//   - ENCR: AES-CBC (12) with 128/192/256-bit keys, AES-GCM with a 16-octet
//     ICV (20) with 128/192/256-bit keys, ChaCha20-Poly1305 (28).
//   - PRF: HMAC-SHA2-256 (5), HMAC-SHA2-384 (6), HMAC-SHA2-512 (7).
//   - INTEG: HMAC-SHA2-256-128 (12), HMAC-SHA2-384-192 (13),
//     HMAC-SHA2-512-256 (14); NONE (0) with AEAD ciphers.
//   - DH: MODP-2048 (14), ECP-256 (19), ECP-384 (20), Curve25519 (31).
//
// The algorithm IDs (ids.go) are the one definition shared by the IKE
// engine, the configuration and the ESP data path.
//
// Dependencies: the standard library, golang.org/x/crypto and
// filippo.io/edwards25519 (Curve25519's field arithmetic and fixed-base tables)
// only (deps_test.go keeps it so). What speaks a protocol's wire format lives with
// the protocol: IKEv2 SA payload proposals in ikev2/proposal, IKEv1
// transforms in ike; the SK ciphers satisfy wire.SKCipher through this
// package's own SKCipher interface.
//
// Secret material (keys, PSKs, shared secrets) never appears in errors or
// in the output of String methods.
package crypto
