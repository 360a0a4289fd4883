package readme

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"
)

// Target is where a benchmark program writes its result block: the section named by
// -section in each file given with -readme. The zero Target writes nothing.
type Target struct {
	Files   []string
	Section string
}

// AddFlags registers -readme (repeatable) and -section on fs.
func (t *Target) AddFlags(fs *flag.FlagSet) {
	fs.Func("readme", "Markdown `file` whose -section block gets the result lines (repeatable)", func(s string) error {
		if s == "" {
			return errors.New("empty file name")
		}
		t.Files = append(t.Files, s)
		return nil
	})
	fs.StringVar(&t.Section, "section", "", "`name` of the block in the -readme files, between <!-- bench:NAME:begin --> and <!-- bench:NAME:end -->")
}

// Enabled reports whether the flags ask for a block to be written.
func (t *Target) Enabled() bool { return len(t.Files) > 0 }

// Check validates the flags and that every file has the section's markers, so that a
// program finds a typo before it measures for half an hour rather than after.
func (t *Target) Check() error {
	switch {
	case !t.Enabled() && t.Section == "":
		return nil
	case !t.Enabled():
		return errors.New("-section without -readme")
	case t.Section == "":
		return errors.New("-readme without -section")
	}
	if err := CheckSection(t.Section); err != nil {
		return fmt.Errorf("-section: %w", err)
	}
	for _, f := range t.Files {
		doc, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("-readme: %w", err)
		}
		if _, err := Replace(doc, t.Section, ""); err != nil {
			return fmt.Errorf("-readme %s: %w", f, err)
		}
	}
	return nil
}

// Write puts the block for the result lines, printed by command (see Command), into every
// file. It does nothing when the flags were not given.
func (t *Target) Write(lines, command string) error {
	if !t.Enabled() {
		return nil
	}
	block := Block(lines, command, time.Now(), Commit())
	for _, f := range t.Files {
		if err := Update(f, t.Section, block); err != nil {
			return err
		}
	}
	return nil
}
