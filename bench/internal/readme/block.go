package readme

import (
	"fmt"
	"runtime/debug"
	"strings"
	"time"
)

// Block formats a result block: the result lines in a fenced code block, then a line naming
// the command that printed them, the date (UTC) and the commit.
func Block(lines, command string, when time.Time, commit string) string {
	var b strings.Builder
	b.WriteString("```text\n")
	if lines = strings.TrimRight(lines, "\n"); lines != "" {
		b.WriteString(lines)
		b.WriteString("\n")
	}
	b.WriteString("```\n\n")
	fmt.Fprintf(&b, "Printed by `sudo %s` on %s at commit %s.\n", command, when.UTC().Format(time.DateOnly), commit)
	return b.String()
}

// Command is the command line shown in a block: script (such as "bench/setup.sh") and the
// program's arguments without -readme and -section, which choose where the result goes,
// not what is measured.
func Command(script string, args []string) string {
	out := []string{script}
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, _, inline := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && (name == "readme" || name == "section") {
			if !inline {
				i++ // the value is the next argument
			}
			continue
		}
		out = append(out, a)
	}
	return strings.Join(out, " ")
}

// Commit names the commit the running program was built from, using the version control
// stamp the go command writes into binaries it builds inside a git work tree:
// "0123456789ab", "0123456789ab with local changes", or "unknown" without a stamp.
func Commit() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	return commitOf(info.Settings)
}

func commitOf(settings []debug.BuildSetting) string {
	var rev string
	var modified bool
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return "unknown"
	}
	rev = rev[:min(len(rev), 12)]
	if modified {
		return rev + " with local changes"
	}
	return rev
}
