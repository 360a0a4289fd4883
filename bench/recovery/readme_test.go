package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMakefileRecoveryRuns: the recovery commands of `make bench-readme` (one per README
// section) name known scenarios and, together, measure every scenario exactly once, so the
// README shows each line once and no line is left stale.
func TestMakefileRecoveryRuns(t *testing.T) {
	t.Chdir(filepath.Join("..", "..")) // the Makefile's commands run in the repository root
	mk, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	runs := 0
	for _, line := range strings.Split(string(mk), "\n") {
		args := strings.Fields(line)
		if !strings.HasPrefix(line, "\t") || len(args) == 0 || args[0] != "bench/recovery.sh" {
			continue
		}
		runs++
		o, err := parseFlags(args[1:]) // also checks the -readme files' markers
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		sel, err := selectScenarios(scenarios, o.only)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		for _, sc := range sel {
			seen[sc.id]++
		}
	}
	if runs == 0 {
		t.Fatal("no bench/recovery.sh command in the Makefile")
	}
	for _, sc := range scenarios {
		if seen[sc.id] != 1 {
			t.Errorf("scenario %s measured %d times by make bench-readme, want once", sc.id, seen[sc.id])
		}
	}
}
