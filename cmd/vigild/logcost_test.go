package main

import (
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/internal/logwriter"
)

// TestRunWritesLogBeforeExit: what vigild writes through its log writer is out when run
// returns (main exits right after), here the message of a start-up failure after the logger
// exists (the control socket's directory cannot be created: its parent is a file).
func TestRunWritesLogBeforeExit(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	file := filepath.Join(dir, "vigil.toml")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("[global]\nsocket = \""+notDir+"/sub/vigil.sock\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	saved := os.Stderr
	os.Stderr = stderr
	code := run([]string{"--config", file, "--log-format", "json"})
	os.Stderr = saved
	got, err := os.ReadFile(stderr.Name())
	if err != nil {
		t.Fatal(err)
	}
	if code != 1 || !strings.HasPrefix(string(got), "vigild: creating control socket directory") || !strings.HasSuffix(string(got), "\n") {
		t.Errorf("run returned %d, stderr %q; want 1 and the whole failure message", code, got)
	}
}

// fileSink is where the benchmark's log lines go: a file, as when vigild's stderr is
// redirected to one (every write is a write(2) that copies into the page cache).
func fileSink(b *testing.B) *os.File {
	f, err := os.Create(filepath.Join(b.TempDir(), "vigild.log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}

// cpuTime is the CPU time (user and system) the process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// logSetUp logs the lines of one tunnel set-up on the initiator, with the attributes built as
// ike/v2/init.go, ike/lifecycle.go (Establish) and ike/install.go (Activate) build them (the
// exact text is pinned by ike/v2's TestSetUpLogLines).
func logSetUp(log *slog.Logger, sa *ike.IKESA, c *ike.ChildSA, name string) {
	spiR := sa.SPIr
	sa.SPIr = 0
	ike.LogInfo(log, "initiating IKE SA", slog.String("tunnel", name), slog.String("peer", sa.Remote.String()), slog.String("ike", sa.String()))
	sa.SPIr = spiR
	log.Info("IKE SA established", "tunnel", name, "peer", sa.Remote, "ike", sa.String(), "initiator", sa.Initiator,
		"algorithms", sa.Suite.String(), "udp_encap", sa.Floated || sa.NATLocal || sa.NATRemote)
	ike.LogInfo(log, "Child SA installed", slog.String("tunnel", name), slog.String("spi_in", ike.SPIString(c.SPIIn)),
		slog.String("spi_out", ike.SPIString(c.SPIOut)), slog.String("algorithms", c.Suite.String()),
		slog.String("encap", "raw"), slog.String("rekey_of", ike.RekeyOf(nil)))
}

// BenchmarkLogSetUp measures what logging one tunnel set-up costs the initiator (three lines)
// through vigild's logger into a file, per format, written directly or through vigild's
// group-commit writer (flushed before the clock stops). Besides ns/op (wall time) it reports
// cpu-ns/op, the process's CPU time per op: with the writer, the write(2) calls run on another
// goroutine, in parallel. Allocations per op are exact; times are noisy on a shared machine.
func BenchmarkLogSetUp(b *testing.B) {
	sa := &ike.IKESA{
		SPIi: 0x0cd87274d67084ca, SPIr: 0x0d2bbebddd9e7c35, Initiator: true,
		Remote: netip.MustParseAddrPort("192.0.2.2:500"),
		Suite:  crypto.Suite{Encr: crypto.EncrAESGCM16, EncrKeyBits: 128, PRF: crypto.PRFHMACSHA256, DH: crypto.DHCurve25519},
	}
	c := &ike.ChildSA{SPIIn: 0x374303f2, SPIOut: 0x14a1da05, Suite: crypto.Suite{Encr: crypto.EncrAESGCM16, EncrKeyBits: 256, ESN: true}}
	for _, format := range []string{"text", "json"} {
		for _, grouped := range []bool{false, true} {
			name := format + "/direct"
			if grouped {
				name = format + "/logwriter"
			}
			b.Run(name, func(b *testing.B) {
				var out io.Writer = fileSink(b)
				flush := func() {}
				if grouped {
					lw := logwriter.New(out, logwriter.Options{})
					b.Cleanup(func() { lw.Close() })
					out, flush = lw, lw.Flush
				}
				log, err := newLogger(format, slog.LevelInfo, out)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				cpu := cpuTime(b)
				for range b.N {
					logSetUp(log, sa, c, "tunnel-04711")
				}
				flush()
				b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}
