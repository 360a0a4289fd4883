// Package wire encodes and decodes IKEv1 (ISAKMP) messages: the ISAKMP
// header and payloads of RFC 2408, with the IPsec DOI values of RFC 2407,
// the IKE attributes of RFC 2409 Appendix A, NAT traversal (RFC 3947, with
// the draft-ietf-ipsec-nat-t-ike-02/03 payload numbers) and Dead Peer
// Detection (RFC 3706). The 28-octet header codec is shared with
// ikev2/wire (package internal/isakmp); Header wraps it with IKEv1 names.
//
// Payloads: SA (with Proposal and Transform substructures and their data
// attributes), KE, ID, HASH, SIG (parsed and re-encoded, never built by
// Vigil), Nonce, Notification, Delete, Vendor ID, NAT-D and NAT-OA. Any
// other payload type is kept as *Unknown so that the caller can answer with
// INVALID-PAYLOAD-TYPE.
//
// Parsing is strict: every length field is checked against the bytes really
// present, the Next Payload chain must end exactly at the end of the data,
// and malformed input yields an error wrapping one of the package's
// sentinel errors (ErrTruncated, ErrMalformed, ...). Nothing is allocated
// from an attacker-controlled length and parsed values never alias the
// caller's buffer. Reserved fields are ignored on input and written as
// zero. The only tolerance is the padding that ends an encrypted message
// (see OpenEncrypted).
//
// Encrypted messages (RFC 2408 section 3.1, E flag) carry no payload header
// for the ciphertext: everything after the ISAKMP header is the AES-CBC
// encryption of the payload chain, and the IV is not in the packet but
// carried in the phase state (RFC 2409 section 5 and Appendix B). The
// cipher and its running IV are supplied through the Cipher interface
// (implemented by package v1crypto), so this package holds no keys.
//
// Hash inputs such as SAi_b and IDii_b (RFC 2409 section 5) or the
// payloads following HASH(1) in Quick Mode must be the exact bytes that
// were received; Message keeps them (see Message.PayloadBytes and
// Message.After). For messages being built, AppendBody and AppendPayloads
// produce the bytes that Message.Append and AppendEncrypted will send.
//
// Building a value that cannot be encoded (a payload body longer than
// 65535 bytes, an SPI longer than 255 bytes, a Delete SPI whose length does
// not match its SPI size) is a programming error and makes the Append
// functions panic, as in package ikev2/wire.
package wire
