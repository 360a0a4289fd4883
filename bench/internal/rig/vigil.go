package rig

import (
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
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "vigil.sock")
	cfg := filepath.Join(dir, "vigil.toml")
	if err := os.WriteFile(cfg, []byte(conf.TOML(sock, tun)), 0o600); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "vigild.log")
	p, err := StartProc(ns, logPath, nil, bin, "--config", cfg, "--log-format", "json", "--log-level", "info")
	if err != nil {
		return nil, err
	}
	cl.Push("vigild in "+ns.Name, p.Stop)
	v := &Vigil{Proc: p, Client: client.New(sock), LogPath: logPath}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := v.Client.Status(sctx); err == nil {
			return v, nil
		}
		select {
		case <-p.Exited():
			return nil, fmt.Errorf("vigild in %s exited at start:\n%s", ns.Name, v.Log())
		case <-sctx.Done():
			return nil, fmt.Errorf("vigild in %s did not answer: %w\n%s", ns.Name, sctx.Err(), v.Log())
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
