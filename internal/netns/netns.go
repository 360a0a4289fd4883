package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
)

// netnsDir is where iproute2 keeps the bind mounts naming namespaces.
const netnsDir = "/run/netns"

// NS is a named network namespace created with "ip netns add".
type NS struct {
	// Name is the namespace name as shown by "ip netns list".
	Name string

	mu     sync.Mutex
	procs  map[*exec.Cmd]*proc
	closed bool
}

// proc is a process started with StartCmd; its Wait is owned by the NS.
type proc struct {
	done chan struct{}
	err  error
}

// New creates the network namespace name, brings its loopback interface up and
// disables IPv6 in it (so router solicitations and link-local addresses do not
// clutter captures and logs).
func New(name string) (*NS, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return nil, cmdError("ip netns add "+name, out, err)
	}
	n := &NS{Name: name, procs: make(map[*exec.Cmd]*proc)}
	setup := func() error {
		for _, kv := range [][2]string{
			{"net.ipv6.conf.all.disable_ipv6", "1"},
			{"net.ipv6.conf.default.disable_ipv6", "1"},
		} {
			if err := n.Sysctl(kv[0], kv[1]); err != nil {
				return err
			}
		}
		return n.ip("link", "set", "lo", "up")
	}
	if err := setup(); err != nil {
		return nil, errors.Join(err, n.Close())
	}
	return n, nil
}

// checkName rejects namespace names iproute2 would refuse or that could
// escape /run/netns.
func checkName(name string) error {
	if name == "" || len(name) > 64 || name == "." || name == ".." {
		return fmt.Errorf("netns: invalid namespace name %q", name)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return fmt.Errorf("netns: invalid character %q in namespace name %q", r, name)
		}
	}
	return nil
}

// path is the bind mount naming the namespace.
func (n *NS) path() string { return filepath.Join(netnsDir, n.Name) }

// Close kills every process started with Start or StartCmd that is still
// running and deletes the namespace. It is safe to call more than once.
func (n *NS) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	cmds := make([]*exec.Cmd, 0, len(n.procs))
	for c := range n.procs {
		cmds = append(cmds, c)
	}
	n.mu.Unlock()
	for _, c := range cmds {
		n.Stop(c)
	}
	if out, err := exec.Command("ip", "netns", "del", n.Name).CombinedOutput(); err != nil {
		return cmdError("ip netns del "+n.Name, out, err)
	}
	return nil
}

// Run runs args inside the namespace and returns the combined output. On
// failure the error includes the command and its output.
func (n *NS) Run(ctx context.Context, args ...string) ([]byte, error) {
	if len(args) == 0 {
		return nil, errors.New("netns: Run without a command")
	}
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Name}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, cmdError(fmt.Sprintf("netns %s: %q", n.Name, args), out, err)
	}
	return out, nil
}

// Command returns an unstarted command that runs args inside the namespace
// in its own process group. Set its Stdout, Stderr or Env as needed and
// start it with StartCmd so that Close cleans it up.
func (n *NS) Command(args ...string) *exec.Cmd {
	cmd := exec.Command("ip", append([]string{"netns", "exec", n.Name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// Start starts a long-running process inside the namespace, discarding its
// output. The process is killed on Stop or Close; do not call Wait on the
// returned command, the NS owns it.
func (n *NS) Start(args ...string) (*exec.Cmd, error) {
	if len(args) == 0 {
		return nil, errors.New("netns: Start without a command")
	}
	cmd := n.Command(args...)
	if err := n.StartCmd(cmd); err != nil {
		return nil, err
	}
	return cmd, nil
}

// StartCmd starts cmd (normally built with Command) and tracks it so that
// Stop and Close kill it. Do not call cmd.Wait; use Exited or Stop.
func (n *NS) StartCmd(cmd *exec.Cmd) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return fmt.Errorf("netns %s: closed", n.Name)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("netns %s: start %q: %w", n.Name, cmd.Args, err)
	}
	p := &proc{done: make(chan struct{})}
	n.procs[cmd] = p
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return nil
}

// Exited returns a channel closed when cmd (started with Start or StartCmd)
// has exited, or nil if cmd is not tracked by n.
func (n *NS) Exited(cmd *exec.Cmd) <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if p, ok := n.procs[cmd]; ok {
		return p.done
	}
	return nil
}

// Stop kills cmd's process group (if it is still running), waits for it
// and returns its exit error; a kill that Stop itself caused is not an error.
func (n *NS) Stop(cmd *exec.Cmd) error {
	n.mu.Lock()
	p, ok := n.procs[cmd]
	n.mu.Unlock()
	if !ok {
		return fmt.Errorf("netns %s: process %q not started by this namespace", n.Name, cmd.Args)
	}
	killed := false
	select {
	case <-p.done:
	default:
		// The process is not reaped yet, so its pid (and group id) is still ours.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		killed = true
		<-p.done
	}
	n.mu.Lock()
	delete(n.procs, cmd)
	n.mu.Unlock()
	if killed {
		return nil
	}
	return p.err
}

// ip runs "ip -n <ns> args...".
func (n *NS) ip(args ...string) error {
	full := append([]string{"-n", n.Name}, args...)
	if out, err := exec.Command("ip", full...).CombinedOutput(); err != nil {
		return cmdError(fmt.Sprintf("ip %q", full), out, err)
	}
	return nil
}

// cmdError formats a failed command with its trimmed output.
func cmdError(what string, out []byte, err error) error {
	out = bytes.TrimSpace(out)
	if len(out) == 0 {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %w: %s", what, err, out)
}
