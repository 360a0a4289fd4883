// Package esp implements the userspace ESP data path of the gateway: the
// Encapsulating Security Payload of RFC 4303 in tunnel mode, for one
// direction of a child SA at a time.
//
// Supported transforms (IANA IKEv2 IDs, named by the crypto package's
// Encr* and Integ* constants, shared with the IKE engine):
//
//   - ENCR_AES_GCM_16 (20), RFC 4106: 128/192/256-bit key + 4-byte salt,
//     8-byte explicit IV, 16-byte ICV;
//   - ENCR_CHACHA20_POLY1305 (28), RFC 7634: 256-bit key + 4-byte salt,
//     8-byte explicit IV, 16-byte ICV;
//   - ENCR_AES_CBC (12), RFC 3602, with AUTH_HMAC_SHA2_256_128 (12),
//     _384_192 (13) or _512_256 (14), RFC 4868: 16-byte random IV.
//
// Extended Sequence Numbers (RFC 4303 section 2.2.1) are supported for all
// suites.
//
// # Packet layout
//
// Seal produces, and Open consumes, the ESP packet starting at the SPI:
//
//	SPI(4) | Seq(4) | IV(8 or 16) | ciphertext | ICV(16, 24 or 32)
//
// where the ciphertext encrypts inner | padding | Pad Length | Next Header,
// padded with the bytes 1, 2, 3, ... to a multiple of 4 bytes (AEAD) or 16
// bytes (CBC). The outer IP or UDP (RFC 3948) header is the caller's concern;
// the Next Header is 4 for IPv4 and 41 for IPv6 inner packets, and 59 marks
// a dummy packet, which Open reports as ErrDummy.
//
// # Sequence numbers and replay protection
//
// Seal takes sequence numbers from an atomic counter starting at 1 and
// refuses to wrap it (ErrSeqExhausted). Open applies the RFC 4303 section
// 3.4.3 order: a lock-free replay pre-check, ICV verification, then the
// window update under a small mutex. The window (ReplayWindow) is an RFC 6479
// ring of 64-bit bitmap blocks, 1024 packets by default and up to 65536, and
// is usable on its own. With ESN the high half of the sequence number is
// reconstructed from the window per RFC 4303 Appendix A2.1; the optional
// re-synchronisation of Appendix A3 is not implemented.
//
// # Performance
//
// New validates the configuration and copies the keys, nothing more: an idle
// SA takes 48 bytes plus its keys. The cipher state (key schedules, GHASH
// tables), the sequence counter and the replay window are built by the first
// packet that needs them and then reached with one atomic load; Release
// drops the cipher state of an SA that has gone quiet (see lazy.go).
// Per-packet buffers (nonce, AAD, MAC output), HMAC instances and CBC modes
// are pooled, so Seal and Open do not allocate when dst has enough capacity
// (except for the first packets of an SA). Both work in place (see their
// documentation), which avoids copying the payload.
//
// Keys are copied from Config by New and never appear in errors or in the
// String/GoString output of Config or SA.
package esp
