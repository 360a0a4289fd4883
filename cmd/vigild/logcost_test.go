package main

import (
	"io"
	"log/slog"
	"net/netip"
	"os"
	"testing"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ike"
)

// pipeSink is where the benchmark's log lines go: a pipe that another goroutine drains, as
// stderr does to journald or a terminal (every write is a write(2)).
func pipeSink(b *testing.B) *os.File {
	r, w, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, r); close(done) }()
	b.Cleanup(func() { w.Close(); <-done; r.Close() })
	return w
}

// logSetUp logs the lines of one tunnel set-up on the initiator, with the attributes built as
// ike/v2/init.go, ike/lifecycle.go (Establish) and ike/install.go (Activate) build them (the
// exact text is pinned by ike/v2's TestSetUpLogLines).
func logSetUp(log *slog.Logger, sa *ike.IKESA, c *ike.ChildSA, name string) {
	spiR := sa.SPIr
	sa.SPIr = 0
	log.Info("initiating IKE SA", "tunnel", name, "peer", sa.Remote, "ike", sa.String())
	sa.SPIr = spiR
	log.Info("IKE SA established", "tunnel", name, "peer", sa.Remote, "ike", sa.String(), "initiator", sa.Initiator,
		"algorithms", sa.Suite.String(), "udp_encap", sa.Floated || sa.NATLocal || sa.NATRemote)
	log.Info("Child SA installed", "tunnel", name, "spi_in", ike.SPIString(c.SPIIn), "spi_out", ike.SPIString(c.SPIOut),
		"algorithms", c.Suite.String(), "encap", "raw", "rekey_of", ike.RekeyOf(nil))
}

// BenchmarkLogSetUp measures what logging one tunnel set-up costs the initiator (three lines)
// through vigild's logger, per format. Allocations per op are exact; ns per op are noisy on a
// shared machine.
func BenchmarkLogSetUp(b *testing.B) {
	sa := &ike.IKESA{
		SPIi: 0x0cd87274d67084ca, SPIr: 0x0d2bbebddd9e7c35, Initiator: true,
		Remote: netip.MustParseAddrPort("192.0.2.2:500"),
		Suite:  crypto.Suite{Encr: crypto.EncrAESGCM16, EncrKeyBits: 128, PRF: crypto.PRFHMACSHA256, DH: crypto.DHCurve25519},
	}
	c := &ike.ChildSA{SPIIn: 0x374303f2, SPIOut: 0x14a1da05, Suite: crypto.Suite{Encr: crypto.EncrAESGCM16, EncrKeyBits: 256, ESN: true}}
	for _, format := range []string{"text", "json"} {
		b.Run(format, func(b *testing.B) {
			log, err := newLogger(format, slog.LevelInfo, pipeSink(b))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				logSetUp(log, sa, c, "tunnel-04711")
			}
		})
	}
}
