package rig

import (
	"fmt"
	"os"
	"sync"
)

// Cleanup is a stack of undo functions, run last-in first-out by Run. It is safe for
// concurrent use; Run runs each function once even if called again.
type Cleanup struct {
	mu  sync.Mutex
	fns []undo
}

type undo struct {
	what string
	fn   func() error
}

// Push registers fn, described by what (for error messages), to run on Run.
func (c *Cleanup) Push(what string, fn func() error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fns = append(c.fns, undo{what, fn})
}

// Run runs the registered functions newest first and reports failures on stderr.
func (c *Cleanup) Run() {
	for {
		c.mu.Lock()
		if len(c.fns) == 0 {
			c.mu.Unlock()
			return
		}
		u := c.fns[len(c.fns)-1]
		c.fns = c.fns[:len(c.fns)-1]
		c.mu.Unlock()
		if err := u.fn(); err != nil {
			fmt.Fprintf(os.Stderr, "cleanup %s: %v\n", u.what, err)
		}
	}
}

// WorkDir makes a temporary working directory named prefix*: removed by cl, or kept (and its
// path printed on stderr) with keep, for looking at the configurations and logs afterwards.
func WorkDir(cl *Cleanup, prefix string, keep bool) (string, error) {
	work, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	if keep {
		fmt.Fprintln(os.Stderr, "# working directory:", work)
	} else {
		cl.Push("working directory", func() error { return os.RemoveAll(work) })
	}
	return work, nil
}
