package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/bench/internal/rig"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/swan"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

const (
	// logTail is how many lines of each daemon's log an error shows.
	logTail     = 40
	ikeProposal = "aes128gcm16-prfsha256-x25519"
	espProposal = "aes128gcm16"
	tunnelName  = "bench"
	// runTimeout bounds one establishment plus teardown.
	runTimeout = 30 * time.Second
)

// runner measures one system in the shared topology; the daemons it starts are stopped
// before its method returns.
type runner struct {
	ctx context.Context
	tp  *netns.Topo
	dir string
	n   int
	// samples are the establishment times; apiSamples (Vigil only) the same seen from the
	// API client.
	samples, apiSamples []time.Duration
}

// vigil measures Vigil: the in-daemon time from vigild's "initiating IKE SA" log line to
// its "Child SA installed" line on gwA, and the API-client time from TunnelUp until the
// "up" event of the Child SA arrives.
func (r *runner) vigil(bin string) error {
	var cl rig.Cleanup
	defer cl.Run()
	ta, tb := rig.VigilPair(tunnelName, rig.RandomPSK(), ikeProposal, espProposal, "udp")
	b, err := rig.StartVigil(r.ctx, &cl, r.tp.GwB, bin, r.dir+"/b", "vgb-b", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{tb}})
	if err != nil {
		return err
	}
	a, err := rig.StartVigil(r.ctx, &cl, r.tp.GwA, bin, r.dir+"/a", "vgb-a", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{ta}})
	if err != nil {
		return err
	}
	for i := 0; i <= r.n; i++ { // run 0 is the warm-up
		d, dAPI, err := r.vigilOnce(a, b)
		if err != nil {
			return fmt.Errorf("run %d: %w\n--- vigild A ---\n%s\n--- vigild B ---\n%s", i, err, rig.Tail(a.Log(), logTail), rig.Tail(b.Log(), logTail))
		}
		if i > 0 {
			r.samples = append(r.samples, d)
			r.apiSamples = append(r.apiSamples, dAPI)
		}
	}
	return nil
}

var errFound = errors.New("found")

func (r *runner) vigilOnce(a, b *rig.Vigil) (inDaemon, viaAPI time.Duration, err error) {
	ctx, cancel := context.WithTimeout(r.ctx, runTimeout)
	defer cancel()
	evs, err := a.Client.Events(ctx, tunnelName, 0)
	if err != nil {
		return 0, 0, err
	}
	var since uint64
	if len(evs) > 0 {
		since = evs[len(evs)-1].Seq
	}
	logOff := a.LogSize()

	// The stream replays events after since, so starting it before or after TunnelUp
	// does not matter for correctness; it is started first so it is connected already.
	upAt := make(chan time.Time, 1)
	follow := make(chan error, 1)
	go func() {
		follow <- a.Client.FollowEvents(ctx, tunnelName, since, func(ev api.Event) error {
			if ev.Kind == "up" && strings.HasPrefix(ev.Message, "Child SA installed") {
				upAt <- time.Now()
				return errFound
			}
			return nil
		})
	}()
	start := time.Now()
	if _, err := a.Client.TunnelUp(ctx, tunnelName); err != nil {
		return 0, 0, err
	}
	select {
	case t := <-upAt:
		viaAPI = t.Sub(start)
	case err := <-follow:
		if !errors.Is(err, errFound) {
			return 0, 0, fmt.Errorf("no Child SA up event: %v", err)
		}
		viaAPI = (<-upAt).Sub(start) // sent before the stream ended
	case <-ctx.Done():
		return 0, 0, fmt.Errorf("no Child SA up event: %w", ctx.Err())
	}
	if err := b.WaitChild(ctx, tunnelName); err != nil {
		return 0, 0, err
	}
	newLog, err := a.WaitLogSince(ctx, logOff, "Child SA installed")
	if err != nil {
		return 0, 0, err
	}
	if inDaemon, err = rig.SetupFromLog(newLog, tunnelName); err != nil {
		return 0, 0, err
	}

	if _, err := a.Client.TunnelDown(ctx, tunnelName); err != nil {
		return 0, 0, err
	}
	for _, v := range []*rig.Vigil{a, b} {
		if err := v.WaitClean(ctx); err != nil {
			return 0, 0, err
		}
	}
	return inDaemon, viaAPI, nil
}

// strongswan measures charon: Charon.TimeToEstablish, from the VICI initiate request to
// the child-updown event (received by this program) of the CHILD_SA.
func (r *runner) strongswan() error {
	var cl rig.Cleanup
	defer cl.Run()
	ca, cb := rig.SwanPair(tunnelName, rig.RandomPSK())
	b, err := rig.StartCharon(&cl, r.tp.GwB, r.dir+"/b", cb)
	if err != nil {
		return err
	}
	a, err := rig.StartCharon(&cl, r.tp.GwA, r.dir+"/a", ca)
	if err != nil {
		return err
	}
	for i := 0; i <= r.n; i++ { // run 0 is the warm-up
		d, err := r.swanOnce(a, b)
		if err != nil {
			return fmt.Errorf("run %d: %w\n--- charon A ---\n%s\n--- charon B ---\n%s", i, err, rig.Tail(a.Log(), logTail), rig.Tail(b.Log(), logTail))
		}
		if i > 0 {
			r.samples = append(r.samples, d)
		}
	}
	return nil
}

func (r *runner) swanOnce(a, b *swan.Charon) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(r.ctx, runTimeout)
	defer cancel()
	d, err := a.TimeToEstablish(ctx, tunnelName)
	if err != nil {
		return 0, err
	}
	if _, err := b.WaitFor(ctx, func(s []swan.IKESA) bool { return rig.Established(s, tunnelName) }); err != nil {
		return 0, err
	}
	if err := a.TerminateIKE(tunnelName); err != nil {
		return 0, err
	}
	for _, c := range []*swan.Charon{a, b} {
		if _, err := c.WaitFor(ctx, func(s []swan.IKESA) bool { return len(s) == 0 }); err != nil {
			return 0, err
		}
	}
	return d, nil
}
