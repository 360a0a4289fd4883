package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLoopbackOnly(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9745":           true,
		"127.1.2.3:6060":           true,
		"[::1]:6060":               true,
		"[::ffff:127.0.0.1]:6060":  true,
		"localhost:6060":           true,
		"LOCALHOST:6060":           true,
		":6060":                    false, // every interface
		"0.0.0.0:6060":             false,
		"[::]:6060":                false,
		"192.0.2.1:9745":           false,
		"[2001:db8::1]:9745":       false,
		"[fe80::1%eth0]:9745":      false,
		"example.com:9745":         false, // a name may resolve anywhere
		"localhost.example.com:80": false,
		"127.0.0.1":                false, // no port: unparsable
		"":                         false,
	} {
		if got := loopbackOnly(addr); got != want {
			t.Errorf("loopbackOnly(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestWarnExposed(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	warnExposed(log, "pprof endpoint (--debug-addr)", "127.0.0.1:6060")
	if buf.Len() != 0 {
		t.Errorf("loopback address warned: %s", buf.String())
	}
	warnExposed(log, "pprof endpoint (--debug-addr)", "0.0.0.0:6060")
	if out := buf.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "--debug-addr") || !strings.Contains(out, "0.0.0.0:6060") {
		t.Errorf("no warning for 0.0.0.0: %q", out)
	}
}
