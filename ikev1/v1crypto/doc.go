// Package v1crypto derives IKEv1 keying material (RFC 2409 section 5 and
// Appendix B, pre-shared key authentication) and provides the AES-CBC
// state that protects encrypted ISAKMP messages.
//
// The formulas are available as plain functions (SKEYIDPSK, DeriveSKEYIDs,
// ExpandKey, Phase1IV, Phase2IV, HashI, HashR, QuickHash1..3, InfoHash,
// KeyMat, NATDHash) taking the negotiated HashAlg; Phase1Keys bundles the
// result of a Main Mode for the later exchanges. The PRF is always the HMAC
// of the negotiated hash (RFC 2409 section 4: no PRF attribute is
// negotiated). "_b" arguments are payload bodies without the generic
// payload header, as received or as sent (package ikev1/wire:
// Message.Body, wire.AppendBody); cookies and message IDs enter the
// formulas in network byte order.
//
// CBC implements ikev1/wire.Cipher. One CBC value is the running IV of one
// exchange: the Main Mode state carries on from message to message, and
// each Quick Mode or Informational exchange starts from its own IV derived
// with Phase2IV from the last phase 1 block. See CBC.Encrypt for the
// padding sent and the decision behind it.
//
// Key material never appears in String or GoString output of the types of
// this package.
package v1crypto
