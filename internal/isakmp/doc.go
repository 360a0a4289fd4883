// Package isakmp is the part of the wire format that IKEv1 and IKEv2 share: the fixed
// 28-octet header of ISAKMP (RFC 2408 section 3.1), which IKEv2 kept as its IKE header
// (RFC 7296 section 3.1) with the cookies renamed SPIs and new exchange and flag values.
//
// The header here has untyped fields; ikev1/wire and ikev2/wire wrap it in their own Header
// types, with their exchange, flag and payload constants, and check the major version
// (1 or 2) they speak. Errors wrap ErrTruncated, ErrMalformed or ErrInvalidMajorVersion,
// which both wire packages export as their own sentinels.
package isakmp
