package v2

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ike/iketest"
)

// lockedBuffer is a log sink for an engine goroutine and the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// setUpLogged sets up one tunnel between two engines with deterministic randomness (so the
// SPIs in the log are always the same) and returns the initiator's and the responder's log
// (the format's handler, without the time).
func setUpLogged(t *testing.T, json bool) (initiator, responder string) {
	var logs [2]lockedBuffer
	synctest.Test(t, func(t *testing.T) {
		fn := iketest.NewNet()
		mk := func(i int, local, remote, lnet, rnet, lid, rid string) *iketest.Node {
			dp := fn.NewDP(netip.MustParseAddr(local))
			h := iketest.NewHooks()
			opts := &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
				if len(groups) == 0 && a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			}}
			var handler slog.Handler = slog.NewTextHandler(&logs[i], opts)
			if json {
				handler = slog.NewJSONHandler(&logs[i], opts)
			}
			seed := [32]byte{byte(i + 1)}
			cfg := ike.Config{Rand: rand.NewChaCha8(seed)}
			e := ike.New(cfg, dp, h, slog.New(handler), New)
			dp.Attach(e)
			tc := &ike.TunnelConfig{
				Name: "site-b", Local: netip.MustParseAddrPort(local + ":500"), Remote: netip.MustParseAddrPort(remote + ":500"),
				LocalID: ike.Identity{Type: ike.IDFQDN, Data: []byte(lid)}, RemoteID: ike.Identity{Type: ike.IDFQDN, Data: []byte(rid)},
				PSK: []byte("a-very-secret-pre-shared-key"), LocalTS: []netip.Prefix{netip.MustParsePrefix(lnet)}, RemoteTS: []netip.Prefix{netip.MustParsePrefix(rnet)},
				IKEProposals: iketest.MustProps(t, "aes128gcm16-prfsha256-x25519", true), ESPProposals: iketest.MustProps(t, "aes256gcm16-esn", false),
				IKELifetime: time.Hour, ChildLifetime: time.Hour, DPDTimeout: 10 * time.Second, ReplayWindow: 1024,
			}
			return &iketest.Node{E: e, DP: dp, Hooks: h, T: e.AddTunnel(tc)}
		}
		a := mk(0, "192.0.2.1", "192.0.2.2", "10.1.0.0/16", "10.2.0.0/16", "a.example", "b.example")
		b := mk(1, "192.0.2.2", "192.0.2.1", "10.2.0.0/16", "10.1.0.0/16", "b.example", "a.example")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go a.E.Run(ctx)
		go b.E.Run(ctx)
		a.E.Do(func() { a.E.Initiate(a.T) })
		a.Wait(t, "child-up")
		b.Wait(t, "child-up")
	})
	return logs[0].String(), logs[1].String()
}

// lineWith returns the line of log with message msg (fails if there is none).
func lineWith(t *testing.T, log, msg string) string {
	t.Helper()
	for l := range strings.Lines(log) {
		if strings.Contains(l, msg) {
			return l
		}
	}
	t.Fatalf("no %q line in the log:\n%s", msg, log)
	return ""
}

// TestSetUpLogLines pins the exact text of the lines a tunnel set-up logs (message, attribute
// names, order and formatting), in both of vigild's formats: the bench and operators parse
// them, and the set-up path formats their values by hand to keep logging cheap.
func TestSetUpLogLines(t *testing.T) {
	const (
		ikeSA   = "0cd87274d67084ca_i 0d2bbebddd9e7c35_r"
		ikeInit = "0cd87274d67084ca_i 0000000000000000_r"
	)
	for _, tc := range []struct {
		json bool
		want []string // initiator's lines, then responder's
	}{
		{false, []string{
			`level=INFO msg="initiating IKE SA" tunnel=site-b peer=192.0.2.2:500 ike="` + ikeInit + `"` + "\n",
			`level=INFO msg="IKE SA established" tunnel=site-b peer=192.0.2.2:500 ike="` + ikeSA + `" initiator=true algorithms=aes128gcm16-prfsha256-x25519 udp_encap=false` + "\n",
			`level=INFO msg="Child SA installed" tunnel=site-b spi_in=0x7b7c831d spi_out=0x14a1da05 algorithms=aes256gcm16-esn encap=raw rekey_of=""` + "\n",
			`level=INFO msg="IKE SA established" tunnel=site-b peer=192.0.2.1:500 ike="` + ikeSA + `" initiator=false algorithms=aes128gcm16-prfsha256-x25519 udp_encap=false` + "\n",
			`level=INFO msg="Child SA installed" tunnel=site-b spi_in=0x14a1da05 spi_out=0x7b7c831d algorithms=aes256gcm16-esn encap=raw rekey_of=""` + "\n",
		}},
		{true, []string{
			`{"level":"INFO","msg":"initiating IKE SA","tunnel":"site-b","peer":"192.0.2.2:500","ike":"` + ikeInit + `"}` + "\n",
			`{"level":"INFO","msg":"IKE SA established","tunnel":"site-b","peer":"192.0.2.2:500","ike":"` + ikeSA + `","initiator":true,"algorithms":"aes128gcm16-prfsha256-x25519","udp_encap":false}` + "\n",
			`{"level":"INFO","msg":"Child SA installed","tunnel":"site-b","spi_in":"0x7b7c831d","spi_out":"0x14a1da05","algorithms":"aes256gcm16-esn","encap":"raw","rekey_of":""}` + "\n",
			`{"level":"INFO","msg":"IKE SA established","tunnel":"site-b","peer":"192.0.2.1:500","ike":"` + ikeSA + `","initiator":false,"algorithms":"aes128gcm16-prfsha256-x25519","udp_encap":false}` + "\n",
			`{"level":"INFO","msg":"Child SA installed","tunnel":"site-b","spi_in":"0x14a1da05","spi_out":"0x7b7c831d","algorithms":"aes256gcm16-esn","encap":"raw","rekey_of":""}` + "\n",
		}},
	} {
		ini, resp := setUpLogged(t, tc.json)
		got := []string{
			lineWith(t, ini, "initiating IKE SA"), lineWith(t, ini, "IKE SA established"), lineWith(t, ini, "Child SA installed"),
			lineWith(t, resp, "IKE SA established"), lineWith(t, resp, "Child SA installed"),
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("json=%v line %d:\n got %s want %s", tc.json, i, got[i], tc.want[i])
			}
		}
	}
}
