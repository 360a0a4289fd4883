// Package proposal maps IKEv2 SA payload proposals (RFC 7296 3.3) to and from Vigil's
// algorithm suites: ToWire encodes the configured proposals, Select is the responder's choice,
// SuiteFromAccepted reads the initiator's answer. The algorithms themselves and their IDs are
// in package crypto, which knows nothing of either IKE version's wire format.
package proposal
