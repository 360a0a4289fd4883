package readme

import (
	"bufio"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func parseTarget(t *testing.T, args ...string) (*Target, error) {
	t.Helper()
	var tg Target
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	tg.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return &tg, tg.Check()
}

func TestTargetFlags(t *testing.T) {
	a, b := writeDoc(t), writeDoc(t)
	tg, err := parseTarget(t, "-readme", a, "-readme", b, "-section", "setup")
	if err != nil || !tg.Enabled() || len(tg.Files) != 2 || tg.Files[1] != b || tg.Section != "setup" {
		t.Fatalf("%+v, %v", tg, err)
	}
	if err := tg.Write("setup vigil median 1ms\n", "bench/setup.sh"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{a, b} {
		got, _ := os.ReadFile(f)
		if !strings.Contains(string(got), "<!-- bench:setup:begin -->\n```text\nsetup vigil median 1ms\n```\n\nPrinted by `sudo bench/setup.sh` on ") {
			t.Fatalf("%s:\n%s", f, got)
		}
	}

	none, err := parseTarget(t)
	if err != nil || none.Enabled() {
		t.Fatalf("no flags: %+v, %v", none, err)
	}
	if err := none.Write("x", "y"); err != nil {
		t.Fatalf("Write without flags: %v", err)
	}
}

func TestTargetCheck(t *testing.T) {
	a := writeDoc(t)
	for _, tc := range []struct {
		name string
		args []string
		want error // nil: any error will do
	}{
		{"section without file", []string{"-section", "setup"}, nil},
		{"file without section", []string{"-readme", a}, nil},
		{"empty file name", []string{"-readme", "", "-section", "setup"}, nil},
		{"bad section name", []string{"-readme", a, "-section", "set up"}, nil},
		{"missing file", []string{"-readme", a + ".gone", "-section", "setup"}, os.ErrNotExist},
		{"section not in file", []string{"-readme", a, "-section", "throughput"}, ErrMissingMarker},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseTarget(t, tc.args...)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("err = %v, want an error wrapping %v", err, tc.want)
			}
		})
	}
	if got, _ := os.ReadFile(a); string(got) != doc {
		t.Fatal("Check changed the file")
	}
}

// TestMakefileSections checks each command of `make bench-readme` against the repository:
// the script exists, and every -readme file has the -section markers. (The programs run the
// same check before measuring; this catches a renamed section without root and a long run.)
func TestMakefileSections(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	cmds := benchReadmeCommands(t, filepath.Join(root, "Makefile"))
	if len(cmds) < 3 {
		t.Fatalf("found %d benchmark commands in the bench-readme target, want one per program at least", len(cmds))
	}
	for _, args := range cmds {
		if _, err := os.Stat(filepath.Join(root, args[0])); err != nil {
			t.Errorf("%s: %v", args[0], err)
		}
		var tg Target
		for i := 1; i+1 < len(args); i++ {
			switch args[i] {
			case "-readme":
				tg.Files = append(tg.Files, filepath.Join(root, args[i+1]))
			case "-section":
				tg.Section = args[i+1]
			}
		}
		if !tg.Enabled() || tg.Section == "" {
			t.Errorf("%q: no -readme or -section", args)
		} else if err := tg.Check(); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
}

// benchReadmeCommands returns the recipe lines of the bench-readme target that run a
// bench/ script, split into words.
func benchReadmeCommands(t *testing.T, makefile string) [][]string {
	t.Helper()
	f, err := os.Open(makefile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds [][]string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "bench-readme:"):
			in = true
		case in && strings.HasPrefix(line, "\t"):
			if args := strings.Fields(line); len(args) > 0 && strings.HasPrefix(args[0], "bench/") {
				cmds = append(cmds, args)
			}
		default:
			in = false // a recipe ends at the first line that does not start with a tab
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cmds
}
