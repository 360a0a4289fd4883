package gateway

import (
	"bytes"
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/dataplane/memory"
	"github.com/vigil-ipsec/vigil/ike"
)

// TestUnauthenticatedLogLinesThrottled: ESP on unknown SPIs and unprotected notifies from an
// address without IKE SA log one line per source and kind per interval, however many arrive.
func TestUnauthenticatedLogLinesThrottled(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g, err := New(parseConf(t, tunnelTOML("ab", addrA, addrB, 1, "none")), Options{
		Logger: log,
		OpenDataplane: func(h dataplane.IKEHandler) (dataplane.Dataplane, error) {
			return memory.NewNetwork().Attach(nil, h), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g.dp.Close()
	src := netip.MustParseAddrPort("198.51.100.9:4500")
	dst := netip.MustParseAddrPort(addrA + ":4500")
	for i := range 500 {
		g.unknownSPI(dataplane.Event{Kind: dataplane.EventUnknownSPI, SPI: uint32(1000 + i), Src: src, Dst: dst}, nil, false)
		g.receivedUnprotected(src, ike.HintInvalidSPI, uint32(i))
	}
	other := netip.MustParseAddrPort("198.51.100.10:4500")
	g.unknownSPI(dataplane.Event{Kind: dataplane.EventUnknownSPI, SPI: 1, Src: other, Dst: dst}, nil, false)
	out := buf.String()
	if n := strings.Count(out, "ESP on unknown SPI from a peer without IKE SA"); n != 2 {
		t.Errorf("%d unknown-SPI lines for 500 packets from one source and 1 from another, want 2:\n%s", n, out)
	}
	if n := strings.Count(out, "unprotected notify from a peer without IKE SA"); n != 1 {
		t.Errorf("%d unprotected-notify lines for 500 notifies, want 1:\n%s", n, out)
	}
}
