package rig

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/api/client"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// pollInterval is how often the Wait helpers re-read daemon state.
const pollInterval = 10 * time.Millisecond

// Vigil is a vigild running in a namespace with JSON logs at level info.
type Vigil struct {
	*Proc
	// Client talks to its control socket.
	Client *client.Client
	// LogPath is the daemon's log file (JSON lines).
	LogPath string
}

// StartVigil writes conf to dir/vigil.toml (TUN device tun) and starts bin in ns with it,
// registering its stop on cl. It returns once the control API answers.
func StartVigil(ctx context.Context, cl *Cleanup, ns *netns.NS, bin, dir, tun string, conf vigiltest.Conf) (*Vigil, error) {
	f, err := WriteVigilConf(dir, tun, conf)
	if err != nil {
		return nil, err
	}
	return LaunchVigil(ctx, cl, ns, bin, f, VigilOptions{})
}

// VigilFiles are where a vigild's configuration and control socket are.
type VigilFiles struct {
	Dir, Config, Socket string
}

// WriteVigilConf creates dir and writes conf to dir/vigil.toml, with the control socket
// dir/vigil.sock and TUN device tun.
func WriteVigilConf(dir, tun string, conf vigiltest.Conf) (VigilFiles, error) {
	f := VigilFiles{Dir: dir, Config: filepath.Join(dir, "vigil.toml"), Socket: filepath.Join(dir, "vigil.sock")}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return f, err
	}
	return f, os.WriteFile(f.Config, []byte(conf.TOML(f.Socket, tun)), 0o600)
}

// tunnelsDir is where WriteVigilConfSplit puts the included files, relative to the main file.
const tunnelsDir = "tunnels.d"

// WriteVigilConfSplit writes conf as WriteVigilConf does, but with the tunnels in included
// files of perFile tunnels each (dir/tunnels.d/00000.toml, ...; the layout a configuration
// management system writes for many tunnels), and the main file including them.
func WriteVigilConfSplit(dir, tun string, conf vigiltest.Conf, perFile int) (VigilFiles, error) {
	f := VigilFiles{Dir: dir, Config: filepath.Join(dir, "vigil.toml"), Socket: filepath.Join(dir, "vigil.sock")}
	if err := os.MkdirAll(filepath.Join(dir, tunnelsDir), 0o700); err != nil {
		return f, err
	}
	main := fmt.Sprintf("include = [%q]\n\n", tunnelsDir+"/*.toml") + conf.GlobalTOML(f.Socket, tun) // top-level keys first
	if err := os.WriteFile(f.Config, []byte(main), 0o600); err != nil {
		return f, err
	}
	for i := 0; i*perFile < len(conf.Tunnels); i++ {
		if err := WriteTunnelFile(f, conf, perFile, i); err != nil {
			return f, err
		}
	}
	return f, nil
}

// WriteTunnelFile (re)writes the i-th included file of a configuration WriteVigilConfSplit
// wrote with perFile tunnels per file.
func WriteTunnelFile(f VigilFiles, conf vigiltest.Conf, perFile, i int) error {
	ts := conf.Tunnels[i*perFile : min((i+1)*perFile, len(conf.Tunnels))]
	path := filepath.Join(f.Dir, tunnelsDir, fmt.Sprintf("%05d.toml", i))
	return os.WriteFile(path, []byte(vigiltest.TunnelsTOML(ts)), 0o600)
}

// VigilOptions are LaunchVigil's less common settings.
type VigilOptions struct {
	// Args are extra vigild arguments, e.g. --debug-addr.
	Args []string
	// Ready bounds the wait for the control API; 0 means 10 s. A daemon with many tunnels
	// needs longer: it answers once its configuration is loaded.
	Ready time.Duration
}

// LaunchVigil starts bin in ns with the configuration f.Config (JSON logs at level info to
// f.Dir/vigild.log), registering its stop on cl. It returns once the control API answers.
func LaunchVigil(ctx context.Context, cl *Cleanup, ns *netns.NS, bin string, f VigilFiles, o VigilOptions) (*Vigil, error) {
	logPath := filepath.Join(f.Dir, "vigild.log")
	args := append([]string{bin, "--config", f.Config, "--log-format", "json", "--log-level", "info"}, o.Args...)
	p, err := StartProc(ns, logPath, nil, args...)
	if err != nil {
		return nil, err
	}
	cl.Push("vigild in "+ns.Name, p.Stop)
	v := &Vigil{Proc: p, Client: client.New(f.Socket), LogPath: logPath}
	ready := o.Ready
	if ready <= 0 {
		ready = 10 * time.Second
	}
	sctx, cancel := context.WithTimeout(ctx, ready)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := v.Client.Status(sctx); err == nil {
			return v, nil
		}
		select {
		case <-p.Exited():
			return nil, fmt.Errorf("vigild in %s exited at start:\n%s", ns.Name, Tail(v.Log(), 40))
		case <-sctx.Done():
			return nil, fmt.Errorf("vigild in %s did not answer: %w\n%s", ns.Name, sctx.Err(), Tail(v.Log(), 40))
		case <-tick.C:
		}
	}
}

// Log returns the daemon's log.
func (v *Vigil) Log() string {
	b, err := os.ReadFile(v.LogPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// LogSize is the current length of the log, for reading only what follows.
func (v *Vigil) LogSize() int64 {
	fi, err := os.Stat(v.LogPath)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// WaitLogSince returns the log from byte offset off on once that part contains substr, or ctx's
// error. vigild writes its log through a writer goroutine (internal/logwriter), so a line
// may reach the file a moment after the API showed what followed it; the file is polled every
// 10 ms (there is no event for it).
func (v *Vigil) WaitLogSince(ctx context.Context, off int64, substr string) ([]byte, error) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		b, err := v.LogSince(off)
		if err != nil {
			return nil, err
		}
		if bytes.Contains(b, []byte(substr)) {
			return b, nil
		}
		select {
		case <-ctx.Done():
			return b, fmt.Errorf("%q not in vigild's log: %w", substr, ctx.Err())
		case <-tick.C:
		}
	}
}

// LogSince returns the log from byte offset off on.
func (v *Vigil) LogSince(off int64) ([]byte, error) {
	b, err := os.ReadFile(v.LogPath)
	if err != nil {
		return nil, err
	}
	if off > int64(len(b)) {
		return nil, fmt.Errorf("log %s shrank", v.LogPath)
	}
	return b[off:], nil
}

// WaitSAs polls the daemon's SAs until cond holds, ctx ends or the daemon exits.
func (v *Vigil) WaitSAs(ctx context.Context, what string, cond func([]api.IKESA) bool) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var last []api.IKESA
	for {
		sas, err := v.Client.SAs(ctx, "")
		if err == nil && cond(sas) {
			return nil
		}
		last = sas
		select {
		case <-ctx.Done():
			return fmt.Errorf("vigild in %s: waiting for %s: %w (SAs: %+v)", v.NS.Name, what, ctx.Err(), last)
		case <-v.Exited():
			return fmt.Errorf("vigild in %s exited while waiting for %s:\n%s", v.NS.Name, what, v.Log())
		case <-tick.C:
		}
	}
}

// WaitChild waits until tunnel has exactly one installed Child SA.
func (v *Vigil) WaitChild(ctx context.Context, tunnel string) error {
	return v.WaitSAs(ctx, "an installed Child SA of "+tunnel, vigiltest.HasChild(tunnel))
}

// WaitClean waits until the daemon has no SAs at all.
func (v *Vigil) WaitClean(ctx context.Context) error {
	return v.WaitSAs(ctx, "no SAs", func(s []api.IKESA) bool { return len(s) == 0 })
}

// VigilPair returns matching tunnel configurations named name for gwA (initiator side)
// and gwB of the site-to-site topology, with the given proposals and encapsulation.
func VigilPair(name, psk, ike, esp, encap string) (a, b vigiltest.Tunnel) {
	a = vigiltest.Tunnel{
		Name: name, LocalAddr: netns.GwAWAN.String(), RemoteAddr: netns.GwBWAN.String(),
		LocalID: "fqdn:a.bench.example", RemoteID: "fqdn:b.bench.example", PSK: psk,
		LocalTS: []string{netns.NetA.String()}, RemoteTS: []string{netns.NetB.String()},
		IKEProposals: ike, ESPProposals: esp, Encap: encap,
	}
	b = vigiltest.Tunnel{
		Name: name, LocalAddr: netns.GwBWAN.String(), RemoteAddr: netns.GwAWAN.String(),
		LocalID: "fqdn:b.bench.example", RemoteID: "fqdn:a.bench.example", PSK: psk,
		LocalTS: []string{netns.NetB.String()}, RemoteTS: []string{netns.NetA.String()},
		IKEProposals: ike, ESPProposals: esp, Encap: encap,
	}
	return a, b
}

// RandomPSK returns a fresh pre-shared key for one benchmark run.
func RandomPSK() string { return "vgb-" + netns.RandHex(32) }
