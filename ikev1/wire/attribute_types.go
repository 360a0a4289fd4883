package wire

// Phase 1 (ISAKMP SA) attribute types, RFC 2409 Appendix A.
const (
	IKEAttrEncryption       uint16 = 1
	IKEAttrHash             uint16 = 2
	IKEAttrAuthMethod       uint16 = 3
	IKEAttrGroupDescription uint16 = 4
	IKEAttrGroupType        uint16 = 5
	IKEAttrLifeType         uint16 = 11
	IKEAttrLifeDuration     uint16 = 12 // variable length
	IKEAttrPRF              uint16 = 13
	IKEAttrKeyLength        uint16 = 14
)

// Phase 1 Encryption Algorithm values (RFC 2409 Appendix A, IANA).
const (
	IKEEncr3DESCBC uint16 = 5
	IKEEncrAESCBC  uint16 = 7
)

// Phase 1 Hash Algorithm values (RFC 2409 Appendix A, RFC 4868 IANA).
const (
	IKEHashMD5    uint16 = 1
	IKEHashSHA1   uint16 = 2
	IKEHashSHA256 uint16 = 4
	IKEHashSHA384 uint16 = 5
	IKEHashSHA512 uint16 = 6
)

// Phase 1 Authentication Method values (RFC 2409 Appendix A).
const (
	IKEAuthPSK    uint16 = 1
	IKEAuthDSS    uint16 = 2
	IKEAuthRSASig uint16 = 3
)

// Group Description values (both phases): the IANA Diffie-Hellman group
// numbers shared with IKEv2.
const (
	GroupMODP1024   uint16 = 2
	GroupMODP1536   uint16 = 5
	GroupMODP2048   uint16 = 14
	GroupECP256     uint16 = 19
	GroupECP384     uint16 = 20
	GroupCurve25519 uint16 = 31
)

// Life Type values (phase 1 and phase 2 use the same numbers).
const (
	LifeSeconds   uint16 = 1
	LifeKilobytes uint16 = 2
)

// Phase 2 (IPsec SA) attribute types, RFC 2407 section 4.5.
const (
	IPsecAttrSALifeType       uint16 = 1
	IPsecAttrSALifeDuration   uint16 = 2 // variable length
	IPsecAttrGroupDescription uint16 = 3
	IPsecAttrEncapsulation    uint16 = 4
	IPsecAttrAuthAlgorithm    uint16 = 5
	IPsecAttrKeyLength        uint16 = 6
	IPsecAttrKeyRounds        uint16 = 7
	IPsecAttrESN              uint16 = 11 // RFC 4304
)

// Encapsulation Mode values (RFC 2407 section 4.5, RFC 3947 section 5.1 and
// the private-use numbers of the NAT-T drafts).
const (
	EncapTunnel            uint16 = 1
	EncapTransport         uint16 = 2
	EncapUDPTunnel         uint16 = 3
	EncapUDPTransport      uint16 = 4
	EncapUDPTunnelDraft    uint16 = 61443
	EncapUDPTransportDraft uint16 = 61444
)

// Authentication Algorithm values (RFC 2407 section 4.5, RFC 4868).
const (
	AuthHMACMD5    uint16 = 1
	AuthHMACSHA1   uint16 = 2
	AuthHMACSHA256 uint16 = 5
	AuthHMACSHA384 uint16 = 6
	AuthHMACSHA512 uint16 = 7
)

// ESN attribute value (RFC 4304 section 2).
const ESNUsed uint16 = 1

// Transform IDs. KEY_IKE is the only phase 1 transform (RFC 2407 section
// 4.4.2); the ESP IDs are RFC 2407 section 4.4.4 and IANA.
const (
	TransformKeyIKE      uint8 = 1
	TransformESP3DES     uint8 = 3
	TransformESPNull     uint8 = 11
	TransformESPAES      uint8 = 12 // AES-CBC
	TransformESPAESGCM8  uint8 = 18
	TransformESPAESGCM12 uint8 = 19
	TransformESPAESGCM16 uint8 = 20
)
