package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	md := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(md, []byte("<!-- bench:throughput:begin -->\n<!-- bench:throughput:end -->\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := parseFlags([]string{"-quick", "-systems", "vigil-udp", "-readme", md, "-section", "throughput"})
	if err != nil || o.duration != 2*time.Second || len(o.systems) != 1 || !o.readme.Enabled() || o.readme.Section != "throughput" {
		t.Fatalf("parseFlags = %+v, %v", o, err)
	}
	for _, args := range [][]string{
		{"-duration", "500ms"},
		{"-systems", "ipsec-tools"},
		{"-section", "throughput"},           // no -readme
		{"-readme", md, "-section", "setup"}, // no such markers
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q): no error", args)
		}
	}
}
