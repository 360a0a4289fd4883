package v2

import (
	"bytes"
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/vigil-ipsec/vigil/ike"
)

// TestMalformedAndUnknownSALogThrottled: a flood of malformed messages or of messages for
// unknown IKE SAs from one source logs one line of each kind per interval.
func TestMalformedAndUnknownSALogThrottled(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := ike.New(ike.Config{}, nil, nil, log)
	p := New(e)
	local := netip.MustParseAddrPort("192.0.2.1:500")
	remote := netip.MustParseAddrPort("198.51.100.7:500")
	// An IKEv2 header (28 bytes) of an INFORMATIONAL response for IKE SPIs nobody has.
	unknown := make([]byte, 28)
	unknown[0], unknown[8] = 1, 2 // SPIi, SPIr non-zero
	unknown[17] = 0x20            // version 2.0
	unknown[18] = 37              // INFORMATIONAL
	unknown[19] = 0x20            // response: not answered with INVALID_IKE_SPI
	unknown[27] = 28              // length
	for range 1000 {
		p.Handle(local, remote, []byte{0x20, 1, 2})
		p.Handle(local, remote, unknown)
	}
	out := buf.String()
	if n := strings.Count(out, "dropping malformed IKE message"); n != 1 {
		t.Errorf("%d malformed-message lines for 1000 messages, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "IKE message for unknown IKE SA"); n != 1 {
		t.Errorf("%d unknown-SA lines for 1000 messages, want 1:\n%s", n, out)
	}
	if s := e.Stats(); s.Malformed != 1000 || s.UnknownSPI != 1000 {
		t.Errorf("stats %+v: every message must still be counted", s)
	}
}
