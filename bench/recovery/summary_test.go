package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func ok(d time.Duration) outcome { return outcome{sample: sample{recovered: true, outage: d}} }

var missed = outcome{}

func TestDescribe(t *testing.T) {
	const limit = 240 * time.Second
	ms := time.Millisecond
	for _, tc := range []struct {
		name string
		outs []outcome
		want string
	}{
		{"all recovered", []outcome{ok(4 * ms), ok(3100 * time.Microsecond), ok(3 * ms), ok(5 * ms), ok(2 * ms)}, "median 3.1ms max 5.0ms (n=5)"},
		{"even count averages", []outcome{ok(2 * ms), ok(4 * ms)}, "median 3.0ms max 4.0ms (n=2)"},
		{"none recovered", []outcome{missed, missed, missed}, "no recovery in 240 s (n=3)"},
		{"some missed", []outcome{ok(3 * time.Second), missed, ok(2 * time.Second)}, "median 3.00s max > 240 s (n=3, 1 no recovery in 240 s)"},
		{"median missed", []outcome{ok(3 * time.Second), missed, missed}, "median > 240 s max > 240 s (n=3, 2 no recovery in 240 s)"},
		{"even with missed middle", []outcome{ok(time.Second), missed}, "median > 240 s max > 240 s (n=2, 1 no recovery in 240 s)"},
		{"failures counted apart", []outcome{ok(10 * time.Second), {err: errors.New("boom")}}, "median 10.0s max 10.0s (n=1, 1 failed)"},
		{"all failed", []outcome{{err: errors.New("boom\nlog")}, {err: errors.New("bang")}}, "error: boom (2 of 2 runs failed)"},
		{"nothing", nil, "not run"},
	} {
		if got := describe(tc.outs, limit); got != tc.want {
			t.Errorf("%s: describe = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{840 * time.Microsecond, "0.84ms"},
		{3100 * time.Microsecond, "3.1ms"},
		{412 * time.Millisecond, "412ms"},
		{3210 * time.Millisecond, "3.21s"},
		{171400 * time.Millisecond, "171.4s"},
	} {
		if got := formatDuration(tc.d); got != tc.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	if got := seconds(30 * time.Second); got != "30 s" {
		t.Errorf("seconds(30s) = %q", got)
	}
}

func TestSelectScenarios(t *testing.T) {
	for _, tc := range []struct {
		only, want string
		bad        bool
	}{
		{"", "silent-child-loss-vigil,silent-child-loss-swan,peer-restart-vigil,peer-restart-swan", false},
		{"peer-restart-swan", "peer-restart-swan", false},
		{"peer-restart, silent-child-loss-vigil", "silent-child-loss-vigil,peer-restart-vigil,peer-restart-swan", false},
		{"peer-restart,peer-restart-vigil", "peer-restart-vigil,peer-restart-swan", false},
		{"nope", "", true},
	} {
		got, err := selectScenarios(scenarios[:4], tc.only)
		if (err != nil) != tc.bad || scenarioIDs(got) != tc.want {
			t.Errorf("selectScenarios(%q) = %s, %v; want %s (error %v)", tc.only, scenarioIDs(got), err, tc.want, tc.bad)
		}
	}
}

func TestEveryScenarioHasItsBaseline(t *testing.T) {
	for _, sc := range scenarios {
		if _, ok := findBaseline(sc.baseline); !ok {
			t.Errorf("scenario %s names unknown baseline %q", sc.id, sc.baseline)
		}
	}
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		runs int
		cap  time.Duration
		bad  bool
	}{
		{nil, 5, 240 * time.Second, false},
		{[]string{"-quick"}, 1, 30 * time.Second, false},
		{[]string{"-quick", "-runs", "3"}, 3, 30 * time.Second, false},
		{[]string{"-quick", "-cap", "10s"}, 1, 10 * time.Second, false},
		{[]string{"-runs", "0"}, 0, 0, true},
		{[]string{"-cap", "0s"}, 0, 0, true},
		{[]string{"extra"}, 0, 0, true},
		{[]string{"-child-life", "7s"}, 5, 240 * time.Second, false},
		{[]string{"-child-life", "2s"}, 0, 0, true},
		{[]string{"-child-life", "6500ms"}, 0, 0, true},
		{[]string{"-section", "recovery"}, 0, 0, true},
		{[]string{"-readme", "no-such-file.md", "-section", "recovery"}, 0, 0, true},
	} {
		o, err := parseFlags(tc.args)
		if (err != nil) != tc.bad {
			t.Errorf("parseFlags(%q): error %v, want error %v", tc.args, err, tc.bad)
			continue
		}
		if !tc.bad && (o.runs != tc.runs || o.cap != tc.cap) {
			t.Errorf("parseFlags(%q) = runs %d cap %v, want %d %v", tc.args, o.runs, o.cap, tc.runs, tc.cap)
		}
	}
}

func TestLineFormat(t *testing.T) {
	sc := scenario{fault: "silent-child-loss", pair: "vigil<->vigil"}
	bl := baseline{pair: "strongswan<->strongswan"}
	got := line(sc, []outcome{ok(3100 * time.Microsecond)}, bl, []outcome{missed}, 240*time.Second)
	want := "recovery silent-child-loss  vigil<->vigil       median 3.1ms max 3.1ms (n=1) | strongswan<->strongswan no recovery in 240 s (n=1)"
	if got != want {
		t.Errorf("line =\n%q\nwant\n%q", got, want)
	}
}

// scenarioIDs lists the scenarios' ids, comma-separated.
func scenarioIDs(scs []scenario) string {
	var s []string
	for _, sc := range scs {
		s = append(s, sc.id)
	}
	return strings.Join(s, ",")
}
