package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/bench/internal/rig"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// tunnelsPerFile is how many tunnels each of B's included files holds.
const tunnelsPerFile = 1000

// reloadSample is how many other tunnels' SAs are compared before and after the reload.
const reloadSample = 50

// reloadBackTimeout bounds the wait for the changed tunnel to come up again.
const reloadBackTimeout = time.Minute

// reloadResult is the measurement of a reload of B that changes one of its n tunnels.
type reloadResult struct {
	took         time.Duration // the reload call, as the operator waits for it
	daemon       time.Duration // what vigild logged the reload took ("took"; 0 if not found)
	kept, sample int           // sampled other tunnels whose IKE and Child SA SPIs stayed
	back         time.Duration // until the changed tunnel was up again (A reconnects)
}

// measureReload changes one tunnel of B's configuration (its dpd_delay, in the included file
// that holds it), reloads B (after one reload without a change) and checks what issue #12 asks: the reload reports that one tunnel
// changed and the others unchanged, the others keep their SAs (a sample's SPIs are compared),
// and the changed one comes back.
func measureReload(ctx context.Context, vb *rig.Vigil, fb rig.VigilFiles, cb vigiltest.Conf, n int) (reloadResult, error) {
	var rr reloadResult
	k := n / 2
	changed := cb.Tunnels[k].Name
	var names []string
	for i := 0; i < n && len(names) < reloadSample; i += max(1, n/reloadSample) {
		if i != k {
			names = append(names, cb.Tunnels[i].Name)
		}
	}
	// A first reload that changes nothing: files written moments before vigild read them are
	// read again once (config: the racy-clean rule), which is not what an edit costs.
	if _, err := vb.Client.Reload(ctx); err != nil {
		return rr, fmt.Errorf("first reload: %w", err)
	}
	before, err := spis(ctx, vb, append(names, changed))
	if err != nil {
		return rr, err
	}
	old := before[len(names)]
	cb.Tunnels = slices.Clone(cb.Tunnels)
	cb.Tunnels[k].DPDDelay = "17s"
	if err := rig.WriteTunnelFile(fb, cb, tunnelsPerFile, k/tunnelsPerFile); err != nil {
		return rr, err
	}
	logOff := vb.LogSize()
	t0 := time.Now()
	res, err := vb.Client.Reload(ctx)
	rr.took = time.Since(t0)
	if err != nil {
		return rr, fmt.Errorf("reload: %w", err)
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if log, err := vb.WaitLogSince(lctx, logOff, `"msg":"configuration reloaded"`); err == nil {
		rr.daemon = reloadTook(log)
	}
	cancel()
	if !slices.Equal(res.Changed, []string{changed}) || len(res.Added)+len(res.Removed) != 0 || res.UnchangedCount != n-1 {
		return rr, fmt.Errorf("reload changed %v, added %v, removed %v, %d unchanged; want only %s changed",
			res.Changed, res.Added, res.Removed, res.UnchangedCount, changed)
	}
	after, err := spis(ctx, vb, names)
	if err != nil {
		return rr, err
	}
	rr.sample = len(names)
	for i := range names {
		if before[i] != "" && before[i] == after[i] {
			rr.kept++
		} else {
			fmt.Fprintf(os.Stderr, "# reload: tunnel %s's SAs before %q, after %q\n", names[i], before[i], after[i])
		}
	}
	t1 := time.Now()
	for {
		sas, err := vb.Client.SAs(ctx, changed)
		if err != nil {
			return rr, err
		}
		if len(sas) > 0 && len(sas[0].Children) > 0 && spiString(sas) != old { // new SAs, not the old ones
			rr.back = time.Since(t1)
			return rr, nil
		}
		if time.Since(t1) > reloadBackTimeout {
			return rr, fmt.Errorf("tunnel %s not up again %v after the reload", changed, reloadBackTimeout)
		}
		select {
		case <-ctx.Done():
			return rr, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// spis returns, for each tunnel, its IKE and Child SAs' SPIs as one string ("" if none).
func spis(ctx context.Context, v *rig.Vigil, names []string) ([]string, error) {
	out := make([]string, len(names))
	for i, name := range names {
		sas, err := v.Client.SAs(ctx, name)
		if err != nil {
			return nil, err
		}
		out[i] = spiString(sas)
	}
	return out, nil
}

// spiString is the SPIs of the established IKE SAs and their installed Child SAs (an SA
// still negotiating or on its way out is not the tunnel's).
func spiString(sas []api.IKESA) string {
	s := ""
	for _, sa := range sas {
		if sa.State != "established" {
			continue
		}
		s += fmt.Sprintf("%s/%s;", sa.SPIi, sa.SPIr)
		for _, c := range sa.Children {
			if c.State == "installed" {
				s += fmt.Sprintf("%v/%v;", c.SPIIn, c.SPIOut)
			}
		}
	}
	return s
}

// reloadTook finds vigild's "configuration reloaded" line in its JSON log and returns the
// "took" it gives (slog writes a duration as nanoseconds); 0 if there is none.
func reloadTook(log []byte) time.Duration {
	for line := range bytes.Lines(log) {
		var e struct {
			Msg  string `json:"msg"`
			Took int64  `json:"took"`
		}
		if json.Unmarshal(line, &e) == nil && e.Msg == "configuration reloaded" {
			return time.Duration(e.Took)
		}
	}
	return 0
}
