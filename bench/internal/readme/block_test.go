package readme

import (
	"runtime/debug"
	"testing"
	"time"
)

var when = time.Date(2026, 5, 1, 23, 30, 0, 0, time.FixedZone("UTC+2", 2*3600))

func TestBlock(t *testing.T) {
	got := Block("setup vigil median 1.53ms\nratio strongswan/vigil 2.5\n\n", "bench/setup.sh -n 20", when, "0123456789ab")
	want := "```text\nsetup vigil median 1.53ms\nratio strongswan/vigil 2.5\n```\n\n" +
		"Printed by `sudo bench/setup.sh -n 20` on 2026-05-01 at commit 0123456789ab.\n"
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "bench/recovery.sh"},
		{[]string{"-only", "restart-here", "-runs", "5"}, "bench/recovery.sh -only restart-here -runs 5"},
		{[]string{"-readme", "README.md", "-quick", "-section", "recovery", "-readme", "bench/README.md"}, "bench/recovery.sh -quick"},
		{[]string{"--readme=README.md", "-section=recovery", "-runs=3"}, "bench/recovery.sh -runs=3"},
	} {
		if got := Command("bench/recovery.sh", tc.args); got != tc.want {
			t.Errorf("Command(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestCommitOf(t *testing.T) {
	rev := debug.BuildSetting{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"}
	for _, tc := range []struct {
		settings []debug.BuildSetting
		want     string
	}{
		{nil, "unknown"},
		{[]debug.BuildSetting{{Key: "vcs.modified", Value: "true"}}, "unknown"},
		{[]debug.BuildSetting{rev, {Key: "vcs.modified", Value: "false"}}, "0123456789ab"},
		{[]debug.BuildSetting{{Key: "vcs.modified", Value: "true"}, rev}, "0123456789ab with local changes"},
	} {
		if got := commitOf(tc.settings); got != tc.want {
			t.Errorf("commitOf(%v) = %q, want %q", tc.settings, got, tc.want)
		}
	}
}
