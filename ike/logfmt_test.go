package ike

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"
)

// TestSPIStringAndIKESAString: the hand-written formatters print what the fmt verbs they
// replace printed.
func TestSPIStringAndIKESAString(t *testing.T) {
	for _, v := range []uint64{0, 1, 0xf, 0x10, 0x374303f2, 0x0cd87274d67084ca, 0xffffffff, 0x100000000, 1<<63 + 5, ^uint64(0)} {
		if got, want := SPIString(uint32(v)), fmt.Sprintf("0x%08x", uint32(v)); got != want {
			t.Errorf("SPIString(%#x) = %q, want %q", uint32(v), got, want)
		}
		sa := &IKESA{SPIi: v, SPIr: ^v}
		if got, want := sa.String(), fmt.Sprintf("%016x_i %016x_r", sa.SPIi, sa.SPIr); got != want {
			t.Errorf("IKESA{%#x, %#x}.String() = %q, want %q", sa.SPIi, sa.SPIr, got, want)
		}
	}
}

// TestLogInfo: LogInfo logs like Logger.Info, and nothing below the handler's level.
func TestLogInfo(t *testing.T) {
	var got, want bytes.Buffer
	opts := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}
	LogInfo(slog.New(slog.NewJSONHandler(&got, opts)).With("engine", 1), "m", slog.String("a", "x y"), slog.String("b", ""))
	slog.New(slog.NewJSONHandler(&want, opts)).With("engine", 1).Info("m", "a", "x y", "b", "")
	if got.String() != want.String() {
		t.Errorf("LogInfo wrote %q, Logger.Info %q", got.String(), want.String())
	}
	var quiet bytes.Buffer
	LogInfo(slog.New(slog.NewTextHandler(&quiet, &slog.HandlerOptions{Level: slog.LevelWarn})), "m")
	if quiet.Len() != 0 {
		t.Errorf("logged below the level: %q", quiet.String())
	}
}
