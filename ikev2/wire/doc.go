// Package wire encodes and decodes IKEv2 messages (RFC 7296).
//
// It covers the IKE header (whose codec, package internal/isakmp, is shared
// with ikev1/wire), the generic payload chain and every payload type
// Vigil needs (SA, KE, IDi/IDr, CERT, CERTREQ, AUTH, Nonce, Notify, Delete,
// Vendor ID, TSi/TSr, CP, EAP), plus protection of the Encrypted and
// Authenticated (SK) payload (RFC 7296 section 3.14, RFC 5282 for AEAD
// ciphers). IKE fragmentation (RFC 7383) is not supported: an SKF payload
// is kept opaque and OpenEncrypted refuses it. The actual cipher is supplied by the caller through the SKCipher
// interface, so this package contains no key material handling.
//
// Parsing is strict: every length field is validated against the bytes that
// are really present, malformed input yields an error wrapping one of the
// package's sentinel errors (ErrTruncated, ErrMalformed, ...), and no
// allocation is ever sized from an attacker-controlled length field. Parsed
// values never alias the caller's buffer.
//
// All payloads implement the Payload interface through pointer receivers.
// Its method is PayloadType() rather than Type() because the Notify payload
// has a field named Type (the notify message type).
//
// Encoding is done with Append-style functions that append to a caller
// supplied slice and fill in all Next Payload and length fields. Building a
// value that cannot be encoded (for example a payload body larger than
// 65535 bytes, or an ESP SPI that is not 4 bytes long) is a programming
// error and makes the Append functions panic.
package wire
