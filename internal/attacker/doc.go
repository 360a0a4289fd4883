// Package attacker is a minimal, scriptable IKE initiator for security tests. It speaks to a
// vigild (or an in-process ike.Engine) through a Transport and uses the project's own codecs
// and crypto, but none of the engine's state machine: every step is explicit, so that a test
// can stop half-way (an IKE SA that never authenticates), choose values a well-behaved peer
// would not (another tunnel's SPI, hundreds of traffic selectors, replayed message IDs) and
// inspect the answers.
//
// V2 drives IKEv2 (IKE_SA_INIT with cookie handling, IKE_AUTH with a PSK, CREATE_CHILD_SA,
// INFORMATIONAL); V1 drives IKEv1 (Main Mode with a PSK, Quick Mode, Informational). Neither
// installs any ESP state: the attacker only negotiates.
package attacker
