package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
)

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0ms"},
		{350 * time.Millisecond, "350ms"},
		{500 * time.Microsecond, "500µs"},
		{45 * time.Second, "45s"},
		{45*time.Second + 900*time.Millisecond, "45s"},
		{2*time.Minute + 5*time.Second, "2m5s"},
		{3 * time.Minute, "3m"},
		{time.Hour + 2*time.Minute + 3*time.Second, "1h2m"},
		{2 * time.Hour, "2h"},
		{50*time.Hour + 10*time.Minute, "2d2h"},
		{-45 * time.Second, "-45s"},
	}
	for _, tt := range tests {
		if got := humanDuration(tt.d); got != tt.want {
			t.Errorf("humanDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	tests := []struct {
		n    uint64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1536000, "1.5 MiB"},
		{5 << 30, "5.0 GiB"},
		{1<<64 - 1, "16.0 EiB"},
	}
	for _, tt := range tests {
		if got := humanBytes(tt.n); got != tt.want {
			t.Errorf("humanBytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestRekeyIn(t *testing.T) {
	if rekeyIn(0) != "-" || rekeyIn(-time.Second) != "overdue" || rekeyIn(90*time.Second) != "1m30s" {
		t.Errorf("rekeyIn: %q %q %q", rekeyIn(0), rekeyIn(-time.Second), rekeyIn(90*time.Second))
	}
}

func TestErrorLines(t *testing.T) {
	err := errors.Join(errors.New("a.toml:1: x"), fmt.Errorf("wrapped: %w", errors.Join(errors.New("a.toml:2: y"), errors.New("a.toml:3: z"))), errors.New("two\nlines"))
	got := fmt.Sprintf("%q", errorLines(err))
	// A wrapped join is one error whose message has several lines: each still gets its own line.
	want := `["a.toml:1: x" "wrapped: a.toml:2: y" "a.toml:3: z" "two" "lines"]`
	if got != want {
		t.Errorf("errorLines = %s, want %s", got, want)
	}
}

func TestEndpoint(t *testing.T) {
	for _, tt := range [][3]string{
		{"192.0.2.1", "", "192.0.2.1"},
		{"192.0.2.1", "192.0.2.1", "192.0.2.1"},
		{"192.0.2.1", "gw.example", "192.0.2.1 (gw.example)"},
		{"", "gw.example", "- (gw.example)"},
		{"", "", "-"},
	} {
		if got := endpoint(tt[0], tt[1]); got != tt[2] {
			t.Errorf("endpoint(%q, %q) = %q, want %q", tt[0], tt[1], got, tt[2])
		}
	}
}

// TestWriteReloadCountsManyUnchanged: the table lists added, removed and changed tunnels by
// name, but 100,000 unchanged ones as a count.
func TestWriteReloadCountsManyUnchanged(t *testing.T) {
	var many []string
	for i := range 100000 {
		many = append(many, fmt.Sprint("t", i))
	}
	var b strings.Builder
	if err := writeReload(&b, api.ReloadResult{Changed: []string{"t5"}, Unchanged: many}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "100000 tunnels") || strings.Contains(out, "t99999") || !strings.Contains(out, "t5") {
		t.Errorf("reload table:\n%s", out)
	}
	b.Reset()
	if err := writeReload(&b, api.ReloadResult{Unchanged: []string{"a", "b"}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "a, b") {
		t.Errorf("a short list is not shown by name:\n%s", b.String())
	}
}
