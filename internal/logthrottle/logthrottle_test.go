package logthrottle

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newClocked(iv time.Duration, n int) (*Throttle, *clock) {
	c := &clock{t: time.Unix(1000, 0)}
	t := New(iv, n)
	t.SetClock(c.now)
	return t, c
}

func addr(i int) netip.Addr { return netip.AddrFrom4([4]byte{192, 0, byte(i >> 8), byte(i)}) }

func TestAllowPerSourceAndKind(t *testing.T) {
	th, c := newClocked(10*time.Second, 0)
	a, b := addr(1), addr(2)
	if ok, _ := th.Allow(a, "malformed"); !ok {
		t.Fatal("first line withheld")
	}
	for range 5 {
		if ok, _ := th.Allow(a, "malformed"); ok {
			t.Fatal("second line within the interval let through")
		}
	}
	if ok, _ := th.Allow(a, "unknown-spi"); !ok {
		t.Error("another kind from the same source withheld")
	}
	if ok, _ := th.Allow(b, "malformed"); !ok {
		t.Error("the same kind from another source withheld")
	}
	// A v4-mapped v6 address is the same source.
	if ok, _ := th.Allow(netip.AddrFrom16(a.As16()), "malformed"); ok {
		t.Error("v4-mapped form of the source let through")
	}
	c.advance(9 * time.Second)
	if ok, _ := th.Allow(a, "malformed"); ok {
		t.Error("line after 9 s let through")
	}
	c.advance(time.Second)
	ok, n := th.Allow(a, "malformed")
	if !ok || n != 7 {
		t.Errorf("after the interval: ok=%v suppressed=%d, want true 7", ok, n)
	}
	if ok, n := th.Allow(b, "malformed"); !ok || n != 0 {
		t.Errorf("b after the interval: ok=%v suppressed=%d", ok, n)
	}
}

func TestBoundedTable(t *testing.T) {
	th, c := newClocked(10*time.Second, 3)
	for i := range 3 {
		th.Allow(addr(i), "k")
	}
	// Full of fresh entries: new sources are suppressed, the table does not grow.
	for i := 3; i < 1000; i++ {
		if ok, _ := th.Allow(addr(i), "k"); ok {
			t.Fatalf("source %d let through with a full table", i)
		}
	}
	if th.Len() != 3 {
		t.Fatalf("table holds %d entries, max 3", th.Len())
	}
	// Once the oldest is stale it makes room.
	c.advance(10 * time.Second)
	if ok, _ := th.Allow(addr(5000), "k"); !ok {
		t.Error("new source withheld although the table has a stale entry")
	}
	if th.Len() != 3 {
		t.Errorf("table holds %d entries, max 3", th.Len())
	}
}

func TestLogLines(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	th, c := newClocked(10*time.Second, 2)
	src := addr(1)
	for range 100 {
		th.Log(l, slog.LevelDebug, src, "malformed", "dropping malformed IKE message", "peer", src)
	}
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Fatalf("%d lines for 100 calls within the interval:\n%s", n, buf.String())
	}
	c.advance(10 * time.Second)
	buf.Reset()
	th.Log(l, slog.LevelDebug, src, "malformed", "dropping malformed IKE message", "peer", src)
	if out := buf.String(); !strings.Contains(out, "suppressed=99") || !strings.Contains(out, "peer=192.0.0.1") {
		t.Errorf("next line = %q, want suppressed=99", out)
	}
	// A flood from many sources: at most max lines per interval plus one summary.
	buf.Reset()
	c.advance(10 * time.Second)
	for i := range 10000 {
		th.Log(l, slog.LevelInfo, addr(i), "auth", "authentication failed")
	}
	c.advance(10 * time.Second)
	th.Log(l, slog.LevelInfo, addr(1), "auth", "authentication failed")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) > 5 {
		t.Errorf("%d lines for a flood from 10000 sources, want at most 5:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(buf.String(), "too many sources") {
		t.Errorf("no summary of the suppressed lines:\n%s", buf.String())
	}
	// Disabled levels count nothing.
	buf.Reset()
	quiet := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	th2, _ := newClocked(10*time.Second, 0)
	th2.Log(quiet, slog.LevelDebug, src, "x", "debug line")
	if th2.Len() != 0 || buf.Len() != 0 {
		t.Error("a disabled level used the throttle")
	}
	// A nil Throttle logs everything.
	var none *Throttle
	none.Log(quiet, slog.LevelInfo, src, "x", "a")
	none.Log(quiet, slog.LevelInfo, src, "x", "b")
	if strings.Count(buf.String(), "\n") != 2 {
		t.Errorf("nil Throttle: %q", buf.String())
	}
}

func BenchmarkAllow(b *testing.B) {
	th := New(0, 1024)
	for i := 0; b.Loop(); i++ {
		th.Allow(addr(i%4096), fmt.Sprint(i%2))
	}
}
