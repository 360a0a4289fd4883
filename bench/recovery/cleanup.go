package main

import (
	"fmt"
	"os"
	"sync"
)

// cleanup is a stack of undo functions run newest first. Each function runs at most once,
// even when run is called concurrently (by a run's own end and by an interrupt); every call of
// run returns only when no function is left or still running, so the program may exit then.
type cleanup struct {
	mu      sync.Mutex
	fns     []undo
	running int
	idle    *sync.Cond // signalled when running drops to 0
}

type undo struct {
	what string
	fn   func() error
}

// push registers fn, described by what for error messages.
func (c *cleanup) push(what string, fn func() error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fns = append(c.fns, undo{what, fn})
}

// run pops and runs the registered functions until none is left, then waits for those another
// caller is still running; failures go to stderr.
func (c *cleanup) run() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idle == nil {
		c.idle = sync.NewCond(&c.mu)
	}
	for len(c.fns) > 0 {
		u := c.fns[len(c.fns)-1]
		c.fns = c.fns[:len(c.fns)-1]
		c.running++
		c.mu.Unlock()
		if err := u.fn(); err != nil {
			fmt.Fprintf(os.Stderr, "# cleanup %s: %v\n", u.what, err)
		}
		c.mu.Lock()
		c.running--
		if c.running == 0 {
			c.idle.Broadcast()
		}
	}
	for c.running > 0 {
		c.idle.Wait()
	}
}

// registry holds the cleanup stacks of the runs in progress, so that an interrupt can undo
// everything even while runs are stuck.
type registry struct {
	mu   sync.Mutex
	live map[*cleanup]struct{}
}

var liveRuns = &registry{live: make(map[*cleanup]struct{})}

func (r *registry) add(c *cleanup) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.live[c] = struct{}{}
}

func (r *registry) remove(c *cleanup) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.live, c)
}

// runAll runs every registered stack (used when the program must exit now).
func (r *registry) runAll() {
	r.mu.Lock()
	all := make([]*cleanup, 0, len(r.live))
	for c := range r.live {
		all = append(all, c)
	}
	r.mu.Unlock()
	for _, c := range all {
		c.run()
	}
}
