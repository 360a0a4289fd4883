package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	md := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(md, []byte("<!-- bench:scale:begin -->\n<!-- bench:scale:end -->\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := parseFlags([]string{"-n", "10000, 1000,10000", "-systems", "strongswan", "-peers", "250",
		"-timeout", "90s", "-readme", md, "-section", "scale"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.ns, []int{1000, 10000}) || !slices.Equal(o.systems, []string{sysSwan}) || o.peers != 250 ||
		o.timeout != 90*time.Second || !o.readme.Enabled() {
		t.Fatalf("parseFlags = %+v", o)
	}
	o, err = parseFlags(nil)
	if err != nil || !slices.Equal(o.ns, []int{1000, 10000, 100000}) || !slices.Equal(o.systems, allSystems) ||
		o.peers != 1 || o.timeout != 300*time.Second || o.profile != "" {
		t.Fatalf("defaults = %+v, %v", o, err)
	}
	for _, args := range [][]string{
		{"-n", "0"},
		{"-n", "1000,x"},
		{"-n", "300000"},
		{"-n", ""},
		{"-systems", "vigil,libreswan"},
		{"-peers", "0"},
		{"-peers", "70000"},
		{"-timeout", "10ms"},
		{"-profile", t.TempDir(), "-systems", "strongswan"},
		{"-readme", md},                      // no -section
		{"-readme", md, "-section", "setup"}, // no such markers
		{"extra"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q): no error", args)
		}
	}
}

func TestResultLine(t *testing.T) {
	const mib = 1 << 20
	r := result{sys: sysVigil, n: 10000, peers: 1, up: 10000, took: 3210 * time.Millisecond, load: 450 * time.Millisecond,
		idleB: 21 * mib, baseA: 21 * mib, rssA: 21*mib + 10000*8090, rssB: 21*mib + 10000*7782, cpu: 6100 * time.Millisecond}
	want := "scale n=10000 peers=1 vigil:      10000/10000 up in 3.21 s = 3115 tunnels/s  RSS/tunnel A 7.9 KiB B 7.6 KiB" +
		" (all up: A 98.2 MiB B 95.2 MiB)  idle B 21.0 MiB (2.2 KiB/tunnel)  CPU 0.61 ms/tunnel  load B 0.45 s"
	if got := r.line(); got != want {
		t.Errorf("line:\n got %s\nwant %s", got, want)
	}
	r.idleCPU = [2][2]time.Duration{{340 * time.Millisecond, 330 * time.Millisecond}, {0, 10 * time.Millisecond}}
	want += "  idle CPU (all up, no traffic; % of a core over 10.0 s) first A 3.4% B 3.3%, after 20.0 s A 0.0% B 0.1%"
	r.reload = reloadResult{took: 85 * time.Millisecond, daemon: 21 * time.Millisecond, kept: 49, sample: 50, back: 1200 * time.Millisecond}
	want += "  reload B (1 tunnel changed) 85 ms (vigild: 21 ms), 49/50 others kept their SAs, changed one up again in 1.20 s"
	if got := r.line(); got != want {
		t.Errorf("line with reload:\n got %s\nwant %s", got, want)
	}

	s := result{sys: sysSwan, n: 10000, peers: 1, up: 2345, took: 300 * time.Second, load: 12 * time.Second,
		idleB: 300 * mib, baseA: 300 * mib, rssA: 300*mib + 2345*20480, rssB: 300*mib + 2345*10240, cpu: 500 * time.Second}
	want = "scale n=10000 peers=1 strongswan: 2345/10000 up after 300 s (timeout)  RSS growth A 45.8 MiB B 22.9 MiB" +
		"  idle B 300.0 MiB (30.7 KiB/tunnel)  CPU 500 s  load B 12.0 s"
	if got := s.line(); got != want {
		t.Errorf("line:\n got %s\nwant %s", got, want)
	}
	if s.complete() || !r.complete() {
		t.Error("complete() wrong")
	}

	e := result{sys: sysVigil, n: 5, peers: 2, err: errors.New("vigild exited\nlog tail")}
	if got := e.line(); got != "scale n=5 peers=2 vigil:      error: vigild exited" {
		t.Errorf("error line: %q", got)
	}
	l := result{sys: sysSwan, n: 100000, peers: 1, took: 301 * time.Second, load: 301 * time.Second, note: "timeout loading B"}
	if got := l.line(); got != "scale n=100000 peers=1 strongswan: 0/100000 up after 301 s (timeout loading B)  idle B 0 B (0 B/tunnel)  load B 301 s" {
		t.Errorf("load timeout line: %q", got)
	}
	if got := skippedLine(sysSwan, 100000, 1, 10000); got != "scale n=100000 peers=1 strongswan: skipped (did not bring n=10000 up)" {
		t.Errorf("skipped line: %q", got)
	}
}

func TestRatioLine(t *testing.T) {
	v := result{sys: sysVigil, n: 1000, peers: 1, up: 1000, took: time.Second, idleB: 10 << 20, baseA: 10 << 20,
		rssA: 10<<20 + 1000*10240, rssB: 10<<20 + 1000*5120, cpu: time.Second}
	s := result{sys: sysSwan, n: 1000, peers: 1, up: 1000, took: 14 * time.Second, idleB: 20 << 20, baseA: 20 << 20,
		rssA: 20<<20 + 1000*20480, rssB: 20 << 20, cpu: 150 * time.Second}
	got, ok := ratioLine(v, s)
	want := "ratio n=1000 peers=1 strongswan/vigil time 14.0  RSS/tunnel A 2.00 B -  idle B 2.00  CPU/tunnel 150"
	if !ok || got != want {
		t.Errorf("ratio:\n got %s\nwant %s", got, want)
	}
	s.up = 900
	if got, ok := ratioLine(v, s); !ok || got != "ratio n=1000 peers=1 strongswan/vigil: none (strongswan: 900 of 1000 up)" {
		t.Errorf("incomplete: %q", got)
	}
	if _, ok := ratioLine(v, result{}); ok {
		t.Error("a ratio without strongSwan")
	}
}

func TestUnits(t *testing.T) {
	for d, want := range map[time.Duration]string{1234 * time.Millisecond: "1.23 s", 42100 * time.Millisecond: "42.1 s", 301 * time.Second: "301 s"} {
		if got := secs(d); got != want {
			t.Errorf("secs(%v) = %q, want %q", d, got, want)
		}
	}
	for b, want := range map[float64]string{12: "12 B", 8090: "7.9 KiB", 21.3 * (1 << 20): "21.3 MiB", 3 << 30: "3.00 GiB", -2048: "-2.0 KiB"} {
		if got := size(b); got != want {
			t.Errorf("size(%v) = %q, want %q", b, got, want)
		}
	}
}

func TestCharonOptions(t *testing.T) {
	for n, want := range map[int]int{1: 1024, 1024: 1024, 1025: 2048, 100000: 131072, 1 << 22: 1 << 20} {
		if got := tableSize(n); got != want {
			t.Errorf("tableSize(%d) = %d, want %d", n, got, want)
		}
	}
	opts := map[string]string{}
	for _, kv := range charonOptions(10000, 10*time.Second) {
		if _, dup := opts[kv[0]]; dup {
			t.Errorf("option %s twice", kv[0])
		}
		opts[kv[0]] = kv[1]
	}
	for k, want := range map[string]string{"ikesa_table_size": "16384", "block_threshold": "1000000", "cookie_threshold": "1000000", "half_open_timeout": "30"} {
		if opts[k] != want {
			t.Errorf("%s = %q, want %q", k, opts[k], want)
		}
	}
	if got := charonOptions(1, 300*time.Second); !slices.Contains(got, [2]string{"half_open_timeout", "300"}) {
		t.Errorf("half_open_timeout does not follow -timeout: %v", got)
	}
}

func TestPollInterval(t *testing.T) {
	for n, want := range map[int]time.Duration{1: 20 * time.Millisecond, 5000: 50 * time.Millisecond, 100000: 200 * time.Millisecond} {
		if got := pollInterval(n); got != want {
			t.Errorf("pollInterval(%d) = %v, want %v", n, got, want)
		}
	}
	if v, s := prefix(sysVigil, 1, 1), prefix(sysSwan, 1, 1); len(v) != len(s) || !strings.HasSuffix(v, "vigil:     ") {
		t.Errorf("prefixes do not line up: %q, %q", v, s)
	}
}

// TestMakefileScaleRuns: the scale commands of `make bench-readme` parse, and their -readme
// files have the sections' markers.
func TestMakefileScaleRuns(t *testing.T) {
	t.Chdir(filepath.Join("..", "..")) // the Makefile's commands run in the repository root
	mk, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	for _, line := range strings.Split(string(mk), "\n") {
		args := strings.Fields(line)
		if !strings.HasPrefix(line, "\t") || len(args) == 0 || args[0] != "bench/scale.sh" {
			continue
		}
		runs++
		if o, err := parseFlags(args[1:]); err != nil || !o.readme.Enabled() {
			t.Errorf("%q: %v (writes a README: %v)", line, err, o.readme.Enabled())
		}
	}
	if runs == 0 {
		t.Fatal("no bench/scale.sh command in the Makefile")
	}
}

func TestReloadTook(t *testing.T) {
	log := []byte(`{"time":"x","level":"INFO","msg":"vigild started"}
{"time":"x","level":"INFO","msg":"configuration reloaded","unchanged":99999,"took":21392000,"loop_held":11248000}
`)
	if got := reloadTook(log); got != 21392*time.Microsecond {
		t.Errorf("reloadTook = %v, want 21.392ms", got)
	}
	if got := reloadTook([]byte("not json\n")); got != 0 {
		t.Errorf("reloadTook of no such line = %v", got)
	}
}
