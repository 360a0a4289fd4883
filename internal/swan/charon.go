package swan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/strongswan/govici/vici"
	"github.com/vigil-ipsec/vigil/internal/netns"
)

// Binaries used; variables so a test machine with another layout can adjust.
var (
	// CharonPath is the charon daemon binary.
	CharonPath = "/usr/lib/ipsec/charon"
	// SwanctlPath is the swanctl binary.
	SwanctlPath = "swanctl"
)

const (
	// startTimeout bounds the wait for charon's VICI socket.
	startTimeout = 15 * time.Second
	// stopTimeout is how long Stop waits after SIGTERM before SIGKILL.
	stopTimeout = 5 * time.Second
	// cmdTimeout bounds VICI commands issued by methods without a context.
	cmdTimeout = 30 * time.Second
	// maxSocketPath is the usable length of a unix socket path.
	maxSocketPath = 107
)

// Charon is a running strongSwan charon daemon in a network namespace.
type Charon struct {
	ns     *netns.NS
	dir    string
	conf   Conf
	cmd    *exec.Cmd
	killed bool // Kill9 ended it on purpose

	bulkConns int // connections in the swanctl.conf StartBulk wrote

	ctl    *vici.Session // initiate, terminate, rekey
	query  *vici.Session // list-sas
	events *vici.Session // SA events, fanned out by hub
	hub    *eventHub

	stopOnce sync.Once
	stopErr  error
}

// Start writes dir/strongswan.conf and dir/swanctl/swanctl.conf for conf,
// starts charon inside ns with a private mount namespace (a private /run
// from dir/run, so the fixed /var/run/charon.pid cannot collide between
// instances), waits for its VICI socket and loads the connection and PSK
// with swanctl. charon logs to dir/charon.log. dir must be absolute; it is
// created if missing. Call Stop when done.
func Start(ns *netns.NS, dir string, conf Conf) (*Charon, error) {
	if err := checkPlace(ns, dir); err != nil {
		return nil, err
	}
	swconf, err := conf.swanctlConf()
	if err != nil {
		return nil, err
	}
	ssconf, err := strongswanConf(dir, conf)
	if err != nil {
		return nil, err
	}
	c, err := launch(ns, dir, ssconf, swconf, true)
	if err != nil {
		return nil, err
	}
	c.conf = conf
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	if err := c.loadConf(ctx, 1); err != nil {
		return nil, c.startFailed(err)
	}
	return c, nil
}

// checkPlace checks Start's namespace and directory arguments.
func checkPlace(ns *netns.NS, dir string) error {
	if ns == nil {
		return errors.New("swan: nil namespace")
	}
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("swan: directory %q is not absolute", dir)
	}
	if sock := filepath.Join(dir, viciSocketFile); len(sock) > maxSocketPath {
		return fmt.Errorf("swan: VICI socket path %q longer than %d bytes", sock, maxSocketPath)
	}
	return nil
}

// launch writes strongswan.conf (ssconf) and swanctl.conf (swconf) into dir,
// starts charon and connects to its VICI socket, subscribing to the SA events
// if events is set (see connect). Nothing is loaded yet.
func launch(ns *netns.NS, dir, ssconf, swconf string, events bool) (*Charon, error) {
	sock := filepath.Join(dir, viciSocketFile)
	for _, d := range []string{dir, filepath.Join(dir, runDirName), filepath.Join(dir, swanctlDirName)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("swan: %w", err)
		}
	}
	for _, f := range []struct {
		path, data string
	}{
		{filepath.Join(dir, strongswanConfFile), ssconf},
		{filepath.Join(dir, swanctlDirName, swanctlConfFile), swconf},
	} {
		if err := os.WriteFile(f.path, []byte(f.data), 0o600); err != nil {
			return nil, fmt.Errorf("swan: %w", err)
		}
	}
	for _, stale := range []string{sock, filepath.Join(dir, runDirName, "charon.pid")} {
		if err := os.Remove(stale); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("swan: %w", err)
		}
	}
	out, err := os.OpenFile(filepath.Join(dir, outFile), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("swan: %w", err)
	}
	defer out.Close() // the child keeps its own copy

	// ip netns exec → unshare -m → sh → exec charon: all exec, so the
	// tracked pid is charon's own and SIGTERM reaches it.
	cmd := ns.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount --bind "$1" /run && exec "$2"`, "sh", filepath.Join(dir, runDirName), CharonPath)
	cmd.Env = append(os.Environ(), "STRONGSWAN_CONF="+filepath.Join(dir, strongswanConfFile))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Dir = dir
	if err := ns.StartCmd(cmd); err != nil {
		return nil, fmt.Errorf("swan: start charon: %w", err)
	}
	c := &Charon{ns: ns, dir: dir, cmd: cmd}
	if err := c.connect(events); err != nil {
		return nil, c.startFailed(err)
	}
	return c, nil
}

// startFailed stops the daemon and returns err with the log attached.
func (c *Charon) startFailed(err error) error {
	c.Stop()
	return fmt.Errorf("%w\n--- charon log (%s) ---\n%s", err, c.dir, c.Log())
}

// connect waits (bounded) for the VICI socket and opens the sessions. Without
// events, no SA events are subscribed (charon then need not serialise one for
// every SA change) and WaitFor and TimeToEstablish fail.
func (c *Charon) connect(events bool) error {
	sock := c.socket()
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	exited := c.ns.Exited(c.cmd)
	for {
		s, err := vici.NewSession(vici.WithSocketPath(sock))
		if err == nil {
			c.ctl = s
			break
		}
		select {
		case <-exited:
			return errors.New("swan: charon exited during start-up")
		case <-deadline.C:
			return fmt.Errorf("swan: no VICI socket after %v: %w", startTimeout, err)
		case <-tick.C:
		}
	}
	q, err := vici.NewSession(vici.WithSocketPath(sock))
	if err != nil {
		return fmt.Errorf("swan: VICI: %w", err)
	}
	c.query = q
	if !events {
		c.hub = newEventHub()
		c.hub.closed = true // subscribe fails: there is no event session
		return nil
	}
	// Subscribe now, while no SA exists and no SA event can race the
	// registration (see saEvents).
	ev, err := vici.NewSession(vici.WithSocketPath(sock))
	if err != nil {
		return fmt.Errorf("swan: VICI: %w", err)
	}
	c.events = ev
	ch := make(chan vici.Event, 256)
	ev.NotifyEvents(ch)
	if err := ev.Subscribe(saEvents...); err != nil {
		return fmt.Errorf("swan: VICI subscribe: %w", err)
	}
	c.hub = newEventHub()
	go c.hub.run(ch)
	return nil
}

// loadConf loads swanctl.conf into the daemon and checks that swanctl
// reports want connections loaded.
func (c *Charon) loadConf(ctx context.Context, want int) error {
	out, err := c.Swanctl(ctx, "--load-all", "--noprompt", "--file", filepath.Join(c.dir, swanctlDirName, swanctlConfFile))
	if err != nil {
		return err
	}
	if !strings.Contains(string(out), fmt.Sprintf("successfully loaded %d connections", want)) {
		return fmt.Errorf("swan: swanctl did not load %d connections: %s", want, lastLines(string(out), 5))
	}
	return nil
}

// socket is the VICI socket path.
func (c *Charon) socket() string { return filepath.Join(c.dir, viciSocketFile) }

// Dir is the directory holding the configuration, log and VICI socket.
func (c *Charon) Dir() string { return c.dir }

// Conf is the configuration the daemon was started with.
func (c *Charon) Conf() Conf { return c.conf }

// Swanctl runs swanctl against this daemon (e.g. "--list-sas") and returns
// its combined output.
func (c *Charon) Swanctl(ctx context.Context, args ...string) ([]byte, error) {
	// The socket also comes from strongswan.conf (swanctl.socket); --uri
	// is only accepted after the command option.
	cmd := exec.CommandContext(ctx, SwanctlPath, args...)
	cmd.Env = append(os.Environ(),
		"STRONGSWAN_CONF="+filepath.Join(c.dir, strongswanConfFile),
		"SWANCTL_DIR="+filepath.Join(c.dir, swanctlDirName))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("swan: swanctl %q: %w: %s", args, err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// Log returns charon's log file plus anything it wrote to stdout/stderr,
// for test failure messages.
func (c *Charon) Log() string {
	var b strings.Builder
	if data, err := os.ReadFile(filepath.Join(c.dir, logFile)); err != nil {
		fmt.Fprintf(&b, "(no log: %v)\n", err)
	} else {
		b.Write(data)
	}
	if data, err := os.ReadFile(filepath.Join(c.dir, outFile)); err == nil && len(data) > 0 {
		b.WriteString("--- charon stdout/stderr ---\n")
		b.Write(data)
	}
	return b.String()
}

// Stop closes the VICI sessions, sends charon SIGTERM, waits up to 5s for
// it to exit and kills it otherwise. It is safe to call more than once.
func (c *Charon) Stop() error {
	c.stopOnce.Do(func() {
		for _, s := range []*vici.Session{c.ctl, c.query, c.events} {
			if s != nil {
				s.Close()
			}
		}
		exited := c.ns.Exited(c.cmd)
		if exited == nil {
			return // already reaped by the namespace's Close
		}
		if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			c.stopErr = fmt.Errorf("swan: SIGTERM charon: %w", err)
		}
		t := time.NewTimer(stopTimeout)
		defer t.Stop()
		select {
		case <-exited:
			if err := c.ns.Stop(c.cmd); err != nil && c.stopErr == nil && !c.killed {
				c.stopErr = fmt.Errorf("swan: charon exit: %w", err)
			}
		case <-t.C:
			c.ns.Stop(c.cmd)
			c.stopErr = fmt.Errorf("swan: charon ignored SIGTERM for %v, killed", stopTimeout)
		}
	})
	return c.stopErr
}

// Kill9 kills charon with SIGKILL: it loses all state and tells no peer.
func (c *Charon) Kill9() error {
	if c.cmd == nil || c.cmd.Process == nil {
		return nil
	}
	// charon runs under unshare and sh -c 'exec charon', so the process is charon itself.
	c.killed = true
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.ns.Exited(c.cmd)
	return nil
}
