package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseFlags(t *testing.T) {
	md := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(md, []byte("<!-- bench:setup:begin -->\n<!-- bench:setup:end -->\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := parseFlags([]string{"-quick", "-readme", md, "-section", "setup"})
	if err != nil || o.n != 5 || !o.readme.Enabled() || o.readme.Section != "setup" {
		t.Fatalf("parseFlags = %+v, %v", o, err)
	}
	for _, args := range [][]string{
		{"-n", "0"},
		{"-systems", "vigil,openvpn"},
		{"-readme", md},                           // no -section
		{"-readme", md, "-section", "throughput"}, // no such markers
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q): no error", args)
		}
	}
}
