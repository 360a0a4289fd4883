package sad

import "github.com/vigil-ipsec/vigil/dataplane"

// Crypto is the ESP transform of one SA. *esp.SA implements it; tests may supply fakes.
type Crypto interface {
	// Overhead is the worst-case number of bytes Seal adds to an inner packet.
	Overhead() int
	// HeaderLen is the length of the ESP header including the IV.
	HeaderLen() int
	// Seal appends the ESP packet (SPI, sequence number, IV, ciphertext, ICV) to dst.
	Seal(dst, inner []byte, nextHeader uint8) ([]byte, error)
	// Open authenticates and decrypts pkt (starting at the SPI), checking anti-replay.
	Open(dst, pkt []byte) (inner []byte, nextHeader uint8, err error)
}

// Provider builds Crypto for SA configurations and maps its errors to drop reasons.
type Provider interface {
	New(c dataplane.SAConfig) (Crypto, error)
	// Classify maps an error returned by Crypto.Seal or Crypto.Open to a drop reason.
	Classify(err error) Drop
}
