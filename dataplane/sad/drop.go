package sad

// Drop says why a packet did not pass. DropNone means it passed.
type Drop uint8

// Drop reasons.
const (
	DropNone           Drop = iota
	DropMalformed           // packet could not be parsed (inner or ESP)
	DropAuth                // ESP integrity check failed
	DropReplay              // ESP sequence number replayed or too old
	DropDummy               // ESP dummy packet (next header 59), dropped silently
	DropPadding             // ESP padding check failed after authentication
	DropSeqExhausted        // outbound sequence number space exhausted
	DropUnknownSPI          // no inbound SA for the SPI
	DropNoPolicy            // no policy matches the inner packet
	DropHeld                // policy has no SA yet: packet queued (not a loss)
	DropQueueFull           // hold queue overflow (an older packet was dropped)
	DropExpired             // SA reached its hard lifetime
	DropPolicyMismatch      // decrypted inner packet does not match the SA's selectors
	DropTooBig              // inner packet too big for the path; ICMP sent
	DropNoRoute             // no socket or peer to send the sealed packet with
)

var dropNames = [...]string{
	DropNone:           "none",
	DropMalformed:      "malformed",
	DropAuth:           "auth",
	DropReplay:         "replay",
	DropDummy:          "dummy",
	DropPadding:        "padding",
	DropSeqExhausted:   "seq-exhausted",
	DropUnknownSPI:     "unknown-spi",
	DropNoPolicy:       "no-policy",
	DropHeld:           "held",
	DropQueueFull:      "queue-full",
	DropExpired:        "expired",
	DropPolicyMismatch: "policy-mismatch",
	DropTooBig:         "too-big",
	DropNoRoute:        "no-route",
}

func (d Drop) String() string {
	if int(d) < len(dropNames) {
		return dropNames[d]
	}
	return "?"
}

// Error makes a Drop usable as an error value.
func (d Drop) Error() string { return "packet dropped: " + d.String() }
