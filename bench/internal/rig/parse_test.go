package rig

import (
	"strings"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     time.Duration
		ok       bool
	}{
		{"plain", "1234 (vigild) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 100 0 0", 3250 * time.Millisecond, true},
		{"spaces and paren in name", "42 (a b) c) R 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0", 100 * time.Millisecond, true},
		{"no name", "42 R 1 2 3", 0, false},
		{"short", "42 (x) R 1 2 3 4 5 6 7 8 9 10", 0, false},
		{"negative", "42 (x) R 1 2 3 4 5 6 7 8 9 -1 3", 0, false},
		{"huge", "42 (x) R 1 2 3 4 5 6 7 8 9 999999999999999999 3", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStat([]byte(tc.in))
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("parseStat = %v, %v; want %v, ok %v", got, err, tc.want, tc.ok)
			}
		})
	}
}

const iperfSample = `{"start":{},"intervals":[],"end":{"sum_sent":{"bytes":1,"bits_per_second":2.5e9,"retransmits":7},` +
	`"sum_received":{"bytes":1,"bits_per_second":2.4e9}}}`

func TestParseIperf(t *testing.T) {
	r, err := parseIperf([]byte(iperfSample))
	if err != nil || r.BitsPerSecond != 2.4e9 || r.Retransmits != 7 || r.Mbps() != 2400 {
		t.Fatalf("parseIperf = %+v, %v", r, err)
	}
	for _, bad := range []string{
		``, `{`, `{"error":"unable to connect to server: Connection refused"}`,
		`{"end":{"sum_received":{"bits_per_second":0}}}`, `{"end":{"sum_received":{"bits_per_second":-5}}}`,
	} {
		if _, err := parseIperf([]byte(bad)); err == nil {
			t.Errorf("parseIperf(%q) accepted", bad)
		}
	}
	if _, err := parseIperf([]byte(`{"error":"unable to connect"}`)); err == nil || !strings.Contains(err.Error(), "unable to connect") {
		t.Errorf("iperf3's error not reported: %v", err)
	}
}

const logSample = `{"time":"2026-01-02T03:04:05.000100000Z","level":"INFO","msg":"listening","addr":"192.0.2.1"}
{"time":"2026-01-02T03:04:05.001000000Z","level":"INFO","msg":"initiating IKE SA","tunnel":"other"}
{"time":"2026-01-02T03:04:05.002000000Z","level":"INFO","msg":"initiating IKE SA","tunnel":"bench"}
not json at all
{"time":"2026-01-02T03:04:05.002500000Z","level":"INFO","msg":"Child SA installed","tunnel":"other","rekey_of":""}
{"time":"2026-01-02T03:04:05.003750000Z","level":"INFO","msg":"Child SA installed","tunnel":"bench","rekey_of":""}
{"time":"2026-01-02T03:04:05.009000000Z","level":"INFO","msg":"Child SA installed","tunnel":"bench","rekey_of":"0x01020304"}
`

func TestSetupFromLog(t *testing.T) {
	d, err := SetupFromLog([]byte(logSample), "bench")
	if err != nil || d != 1750*time.Microsecond {
		t.Fatalf("SetupFromLog = %v, %v; want 1.75ms", d, err)
	}
	rekeyOnly := `{"time":"2026-01-02T03:04:05.002Z","msg":"initiating IKE SA","tunnel":"bench"}
{"time":"2026-01-02T03:04:05.003Z","msg":"Child SA installed","tunnel":"bench","rekey_of":"0x1"}`
	for name, in := range map[string]string{
		"empty":         "",
		"no initiation": `{"time":"2026-01-02T03:04:05.003Z","msg":"Child SA installed","tunnel":"bench"}`,
		"rekey only":    rekeyOnly,
		"other tunnel":  logSample[:strings.Index(logSample, "\n")+1],
		"child before IKE": `{"time":"2026-01-02T03:04:05.009Z","msg":"initiating IKE SA","tunnel":"bench"}` + "\n" +
			`{"time":"2026-01-02T03:04:05.001Z","msg":"Child SA installed","tunnel":"bench"}`,
	} {
		if d, err := SetupFromLog([]byte(in), "bench"); err == nil {
			t.Errorf("%s: SetupFromLog = %v, want an error", name, d)
		}
	}
}

func TestSummarize(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		out := make([]time.Duration, len(xs))
		for i, x := range xs {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	for _, tc := range []struct {
		in                 []time.Duration
		min, med, p90, max time.Duration
	}{
		{ms(5), 5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond},
		{ms(4, 1, 3, 2), time.Millisecond, 2500 * time.Microsecond, 4 * time.Millisecond, 4 * time.Millisecond},
		{ms(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), time.Millisecond, 5500 * time.Microsecond, 9 * time.Millisecond, 10 * time.Millisecond},
		{ms(20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1), time.Millisecond, 10500 * time.Microsecond, 18 * time.Millisecond, 20 * time.Millisecond},
	} {
		s := Summarize(tc.in)
		if s.N != len(tc.in) || s.Min != tc.min || s.Median != tc.med || s.P90 != tc.p90 || s.Max != tc.max {
			t.Errorf("Summarize(%v) = %+v", tc.in, s)
		}
	}
	if s := Summarize(nil); s != (Summary{}) {
		t.Errorf("Summarize(nil) = %+v", s)
	}
}

func TestMs(t *testing.T) {
	for d, want := range map[time.Duration]string{
		1930 * time.Microsecond:  "1.93ms",
		12400 * time.Microsecond: "12.4ms",
		250 * time.Millisecond:   "250ms",
	} {
		if got := Ms(d); got != want {
			t.Errorf("Ms(%v) = %q, want %q", d, got, want)
		}
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("1234 (vigild) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 100 0 0"))
	f.Add([]byte("42 (a b) c) R 1 42 42 0 -1 0 0 0 0 0 7 3"))
	f.Add([]byte(")"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseStat(b)
		if err == nil && d < 0 {
			t.Fatalf("negative CPU time %v", d)
		}
	})
}

func FuzzParseIperf(f *testing.F) {
	f.Add([]byte(iperfSample))
	f.Add([]byte(`{"error":"x"}`))
	f.Add([]byte(`{"end":{"sum_received":{"bits_per_second":1e300}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseIperf(b)
		if err == nil && !(r.BitsPerSecond > 0) {
			t.Fatalf("accepted rate %v", r.BitsPerSecond)
		}
	})
}

func FuzzSetupFromLog(f *testing.F) {
	f.Add([]byte(logSample), "bench")
	f.Add([]byte(""), "")
	f.Add([]byte(`{"time":"x","msg":"initiating IKE SA","tunnel":""}`), "")
	f.Fuzz(func(t *testing.T, b []byte, tunnel string) {
		d, err := SetupFromLog(b, tunnel)
		if err == nil && d < 0 {
			t.Fatalf("negative setup time %v", d)
		}
	})
}

func TestTail(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "...\nb\nc"},
		{"a\nb\nc", 3, "a\nb\nc"},
		{"a\nb\nc", 5, "a\nb\nc"},
		{"", 3, ""},
		{"abc", 0, "abc"},
		{"a\nb\nc\nd", 1, "...\nd"},
	} {
		if got := Tail(tc.in, tc.n); got != tc.want {
			t.Errorf("Tail(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\tvigild\nVmPeak:\t 1300000 kB\nVmRSS:\t   21840 kB\nRssAnon:\t   10000 kB\n"
	if got, err := parseVmRSS([]byte(status)); err != nil || got != 21840*1024 {
		t.Fatalf("parseVmRSS = %d, %v; want %d", got, err, 21840*1024)
	}
	for name, in := range map[string]string{
		"no line":   "Name:\tkthreadd\nState:\tS (sleeping)\n",
		"no unit":   "VmRSS:\t 12\n",
		"bad unit":  "VmRSS:\t 12 MB\n",
		"negative":  "VmRSS:\t -12 kB\n",
		"not a int": "VmRSS:\t 1.5 kB\n",
		"huge":      "VmRSS:\t 99999999999999999 kB\n",
	} {
		if got, err := parseVmRSS([]byte(in)); err == nil {
			t.Errorf("%s: parseVmRSS = %d, want an error", name, got)
		}
	}
}
