// Package vigiltest runs real vigild daemons in network namespaces for end-to-end tests.
package vigiltest

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
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/api/client"
	"github.com/vigil-ipsec/vigil/internal/netns"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds vigild once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vigild-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "vigild")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/vigil-ipsec/vigil/cmd/vigild").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building vigild: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Tunnel is one [tunnel.NAME] table.
type Tunnel struct {
	Name                  string
	LocalAddr, RemoteAddr string
	LocalID, RemoteID     string
	PSK                   string
	LocalTS, RemoteTS     []string
	IKEProposals          string
	ESPProposals          string
	StartAction           string
	Encap                 string
	IKELifetime           string
	ChildLifetime         string
	DPDDelay, DPDTimeout  string
	ChildProbe            string
	Extra                 []string // more "key = value" lines
}

// Conf is a whole vigild configuration; Global holds extra [global] lines.
type Conf struct {
	Global  []string
	Tunnels []Tunnel
	Metrics string // metrics_addr; "" disables
}

func q(s string) string { return fmt.Sprintf("%q", s) }

func list(xs []string) string {
	qs := make([]string, len(xs))
	for i, x := range xs {
		qs[i] = q(x)
	}
	return "[" + strings.Join(qs, ", ") + "]"
}

// TOML renders the configuration; socket and TUN name are set by Start.
func (c Conf) TOML(socket, tun string) string {
	return c.GlobalTOML(socket, tun) + TunnelsTOML(c.Tunnels)
}

// GlobalTOML is the [global] table of the configuration (TOML without its tunnels).
func (c Conf) GlobalTOML(socket, tun string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[global]\nsocket = %s\ntun_name = %s\nmetrics_addr = %s\n", q(socket), q(tun), q(c.Metrics))
	for _, l := range c.Global {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// TunnelsTOML is the [tunnel.NAME] tables of ts.
func TunnelsTOML(ts []Tunnel) string {
	var b strings.Builder
	for _, t := range ts {
		fmt.Fprintf(&b, "\n[tunnel.%s]\nlocal_addr = %s\nremote_addr = %s\n", t.Name, q(t.LocalAddr), q(t.RemoteAddr))
		kv := func(k, v string) {
			if v != "" {
				fmt.Fprintf(&b, "%s = %s\n", k, q(v))
			}
		}
		kv("local_id", t.LocalID)
		kv("remote_id", t.RemoteID)
		kv("psk", t.PSK)
		fmt.Fprintf(&b, "local_subnets = %s\nremote_subnets = %s\n", list(t.LocalTS), list(t.RemoteTS))
		kv("ike_proposals", t.IKEProposals)
		kv("esp_proposals", t.ESPProposals)
		kv("start_action", t.StartAction)
		kv("encap", t.Encap)
		kv("ike_lifetime", t.IKELifetime)
		kv("child_lifetime", t.ChildLifetime)
		kv("dpd_delay", t.DPDDelay)
		kv("dpd_timeout", t.DPDTimeout)
		kv("child_probe", t.ChildProbe)
		for _, l := range t.Extra {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// Vigil is a vigild running in a namespace.
type Vigil struct {
	NS      *netns.NS
	Name    string
	Dir     string
	Config  string
	Socket  string
	Client  *client.Client
	t       testing.TB
	cmd     *exec.Cmd
	logPath string
	args    []string
}

// Start writes conf and runs vigild in ns; it returns once the control API answers.
func Start(t testing.TB, ns *netns.NS, name string, conf Conf) *Vigil {
	t.Helper()
	dir := t.TempDir()
	v := &Vigil{NS: ns, Name: name, Dir: dir, t: t, Socket: filepath.Join(dir, "vigil.sock"), Config: filepath.Join(dir, "vigil.toml"), logPath: filepath.Join(dir, "vigild.log")}
	if err := os.WriteFile(v.Config, []byte(conf.TOML(v.Socket, "vigil-"+name)), 0o600); err != nil {
		t.Fatal(err)
	}
	v.args = []string{Binary(t), "--config", v.Config, "--log-level", "debug"}
	v.Client = client.New(v.Socket)
	v.start()
	t.Cleanup(func() {
		v.Stop()
		if t.Failed() {
			t.Logf("vigild %s log:\n%s", name, v.Log())
		}
	})
	return v
}

func (v *Vigil) start() {
	v.t.Helper()
	logf, err := os.OpenFile(v.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		v.t.Fatal(err)
	}
	cmd := v.NS.Command(v.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := v.NS.StartCmd(cmd); err != nil {
		v.t.Fatal(err)
	}
	logf.Close()
	v.cmd = cmd
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	exited := v.NS.Exited(cmd)
	for {
		if _, err := v.Client.Status(ctx); err == nil {
			return
		}
		select {
		case <-exited:
			v.t.Fatalf("vigild exited at start:\n%s", v.Log())
		case <-ctx.Done():
			v.t.Fatalf("vigild did not answer on %s:\n%s", v.Socket, v.Log())
		case <-time.After(20 * time.Millisecond): // polling the socket: the daemon has no other readiness signal here
		}
	}
}

// Stop sends SIGTERM and waits for the daemon to exit (kills it after 5 s).
func (v *Vigil) Stop() {
	if v.cmd == nil {
		return
	}
	v.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-v.NS.Exited(v.cmd):
	case <-time.After(5 * time.Second):
		v.t.Errorf("vigild ignored SIGTERM for 5 s; its goroutines are in the log (SIGQUIT)")
		// The Go runtime dumps every goroutine's stack to stderr (the log file) and exits.
		v.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-v.NS.Exited(v.cmd):
		case <-time.After(2 * time.Second):
		}
	}
	v.NS.Stop(v.cmd) // reaps (and kills if still running)
	v.cmd = nil
}

// Kill9 kills the daemon without letting it clean up (state is lost, no Deletes are sent).
func (v *Vigil) Kill9() {
	if v.cmd == nil {
		return
	}
	v.cmd.Process.Signal(syscall.SIGKILL)
	<-v.NS.Exited(v.cmd)
	v.cmd = nil
	// A killed daemon leaves its TUN device's routes behind with the device gone; nothing to do.
}

// Restart starts the daemon again with the same configuration.
func (v *Vigil) Restart() { v.start() }

// Log returns the daemon's log.
func (v *Vigil) Log() string {
	b, _ := os.ReadFile(v.logPath)
	return string(b)
}

// WaitLog returns the daemon's log once it contains substr, or what it holds when ctx ends
// (and ctx's error). vigild writes its log through a writer goroutine (internal/logwriter),
// so a line may reach the file a moment after the event that followed it reached an API
// client: a test that looks for a line waits for it. The file is polled (there is no event
// for it), every 10 ms.
func (v *Vigil) WaitLog(ctx context.Context, substr string) (string, error) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		log := v.Log()
		if strings.Contains(log, substr) {
			return log, nil
		}
		select {
		case <-ctx.Done():
			return log, ctx.Err()
		case <-tick.C:
		}
	}
}

// WaitFor re-evaluates cond on the daemon's SAs after every event until it holds or ctx ends.
func (v *Vigil) WaitFor(ctx context.Context, what string, cond func([]api.IKESA) bool) ([]api.IKESA, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	evs := make(chan struct{}, 1)
	go v.Client.FollowEvents(ctx, "", 0, func(api.Event) error {
		select {
		case evs <- struct{}{}:
		default:
		}
		return nil
	})
	for {
		sas, err := v.Client.SAs(ctx, "")
		if err == nil && cond(sas) {
			return sas, nil
		}
		select {
		case <-ctx.Done():
			return sas, fmt.Errorf("waiting for %s: %w (last SAs: %s)", what, ctx.Err(), summary(sas))
		case <-evs:
		case <-time.After(500 * time.Millisecond): // counters (bytes) change without events
		}
	}
}

// WaitEvent waits for an event matching cond (from the start of the log).
func (v *Vigil) WaitEvent(ctx context.Context, since uint64, cond func(api.Event) bool) (api.Event, error) {
	var found api.Event
	errFound := errors.New("found")
	err := v.Client.FollowEvents(ctx, "", since, func(ev api.Event) error {
		if cond(ev) {
			found = ev
			return errFound
		}
		return nil
	})
	if errors.Is(err, errFound) {
		return found, nil
	}
	return found, fmt.Errorf("event not seen: %v", err)
}

// LastSeq is the sequence number of the newest event.
func (v *Vigil) LastSeq(ctx context.Context) uint64 {
	evs, _ := v.Client.Events(ctx, "", 0)
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].Seq
}

// Child returns the installed Child SA of tunnel, if exactly one is installed.
func Child(sas []api.IKESA, tunnel string) (api.ChildSA, bool) {
	var out []api.ChildSA
	for _, sa := range sas {
		if sa.Tunnel != tunnel || sa.State != "established" {
			continue
		}
		for _, c := range sa.Children {
			if c.State == "installed" {
				out = append(out, c)
			}
		}
	}
	if len(out) != 1 {
		return api.ChildSA{}, false
	}
	return out[0], true
}

// HasChild is a WaitFor condition: tunnel has exactly one installed Child SA.
func HasChild(tunnel string) func([]api.IKESA) bool {
	return func(sas []api.IKESA) bool { _, ok := Child(sas, tunnel); return ok }
}

func summary(sas []api.IKESA) string {
	var b strings.Builder
	for _, sa := range sas {
		fmt.Fprintf(&b, "[%s %s %s:", sa.Tunnel, sa.SPIi, sa.State)
		for _, c := range sa.Children {
			fmt.Fprintf(&b, " %08x/%08x %s", uint32(c.SPIIn), uint32(c.SPIOut), c.State)
		}
		b.WriteString("] ")
	}
	return b.String()
}

// PID is the daemon's process id (0 if not running).
func (v *Vigil) PID() int {
	if v.cmd == nil || v.cmd.Process == nil {
		return 0
	}
	return v.cmd.Process.Pid
}

// RSS is the daemon's resident memory in KiB, from /proc.
func (v *Vigil) RSS() int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", v.PID()))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			var kb int
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "VmRSS:")), "%d", &kb)
			return kb
		}
	}
	return 0
}

// TUN is the name of the daemon's TUN device.
func (v *Vigil) TUN() string { return "vigil-" + v.Name }

// WriteConfig replaces the daemon's configuration file (for reload tests).
func (v *Vigil) WriteConfig(conf Conf) {
	v.t.Helper()
	if err := os.WriteFile(v.Config, []byte(conf.TOML(v.Socket, v.TUN())), 0o600); err != nil {
		v.t.Fatal(err)
	}
}

// WriteRawConfig replaces the configuration file with arbitrary text.
func (v *Vigil) WriteRawConfig(text string) {
	v.t.Helper()
	if err := os.WriteFile(v.Config, []byte(text), 0o600); err != nil {
		v.t.Fatal(err)
	}
}

// Args are the daemon's command line.
func (v *Vigil) Args() []string { return v.args }
