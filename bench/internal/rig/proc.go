package rig

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/vigil-ipsec/vigil/internal/netns"
)

// stopTimeout is how long Proc.Stop waits after SIGTERM before killing.
const stopTimeout = 5 * time.Second

// Proc is a daemon running in a namespace, started with StartProc. Its pid is the
// daemon's own ("ip netns exec" execs it).
type Proc struct {
	NS  *netns.NS
	Cmd *exec.Cmd
}

// StartProc starts args inside ns with stdout and stderr appended to logPath and extra
// environment env. The namespace tracks the process, so closing it kills the process.
func StartProc(ns *netns.NS, logPath string, env []string, args ...string) (*Proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own copy
	cmd := ns.Command(args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), env...)
	if err := ns.StartCmd(cmd); err != nil {
		return nil, err
	}
	return &Proc{NS: ns, Cmd: cmd}, nil
}

// PID is the process id.
func (p *Proc) PID() int { return p.Cmd.Process.Pid }

// Exited is closed when the process has exited.
func (p *Proc) Exited() <-chan struct{} {
	if ch := p.NS.Exited(p.Cmd); ch != nil {
		return ch
	}
	done := make(chan struct{})
	close(done)
	return done
}

// Stop sends SIGTERM, waits up to 5 s for the process to exit, kills it otherwise, and
// reaps it. It is safe to call more than once.
func (p *Proc) Stop() error {
	exited := p.NS.Exited(p.Cmd)
	if exited == nil {
		return nil // already reaped
	}
	var serr error
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		serr = err
	}
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-exited:
	case <-t.C:
		serr = fmt.Errorf("%q ignored SIGTERM for %v, killed", p.Cmd.Args, stopTimeout)
	}
	p.NS.Stop(p.Cmd) // kills if still running; the exit status of a SIGTERMed daemon is not interesting
	return serr
}
