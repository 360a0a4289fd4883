package rig

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/vigil-ipsec/vigil/internal/netns"
)

// iperfPort is iperf3's default port.
const iperfPort = 5201

// IperfResult is what a benchmark takes from one iperf3 client run.
type IperfResult struct {
	// BitsPerSecond is the receiver-side goodput summed over all streams.
	BitsPerSecond float64
	// Retransmits is the sender's TCP retransmission count.
	Retransmits int
}

// Mbps is BitsPerSecond in Mbit/s.
func (r IperfResult) Mbps() float64 { return r.BitsPerSecond / 1e6 }

// Iperf runs a one-off iperf3 server (`iperf3 -s -1`) in server and an iperf3 TCP client
// (`-c dst -t dur -P streams -J`) in client. If during is set, it is called right before the
// client starts and its returned function right after the client ends (to meter CPU).
func Iperf(ctx context.Context, client, server *netns.NS, dst netip.Addr, dur time.Duration, streams int,
	during func() (func() error, error)) (IperfResult, error) {
	srv, err := server.Start("iperf3", "-s", "-1", "-p", strconv.Itoa(iperfPort))
	if err != nil {
		return IperfResult{}, err
	}
	defer server.Stop(srv)
	if err := waitListen(ctx, server, iperfPort, server.Exited(srv)); err != nil {
		return IperfResult{}, err
	}
	var after func() error
	if during != nil {
		if after, err = during(); err != nil {
			return IperfResult{}, err
		}
	}
	cctx, cancel := context.WithTimeout(ctx, dur+30*time.Second)
	defer cancel()
	secs := strconv.FormatFloat(dur.Seconds(), 'f', -1, 64)
	out, runErr := client.Run(cctx, "iperf3", "-c", dst.String(), "-p", strconv.Itoa(iperfPort),
		"-t", secs, "-P", strconv.Itoa(streams), "-J")
	if after != nil {
		if err := after(); err != nil && runErr == nil {
			runErr = err
		}
	}
	res, perr := parseIperf(out)
	if runErr != nil {
		if perr != nil && len(out) > 0 && out[0] == '{' {
			return res, fmt.Errorf("%w (%v)", runErr, perr) // iperf3's own error message
		}
		return res, runErr
	}
	return res, perr
}

// waitListen polls `ss` in ns until a TCP socket listens on port.
func waitListen(ctx context.Context, ns *netns.NS, port int, exited <-chan struct{}) error {
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		out, err := ns.Run(wctx, "ss", "-Hltn", "sport = :"+strconv.Itoa(port))
		if err == nil && len(out) > 0 {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("iperf3 server in %s exited before listening", ns.Name)
		case <-wctx.Done():
			return fmt.Errorf("iperf3 server in %s not listening on %d: %w", ns.Name, port, wctx.Err())
		case <-tick.C:
		}
	}
}

// iperfJSON is the part of `iperf3 -J` output used here.
type iperfJSON struct {
	Error string `json:"error"`
	End   struct {
		SumSent struct {
			BitsPerSecond float64 `json:"bits_per_second"`
			Retransmits   int     `json:"retransmits"`
		} `json:"sum_sent"`
		SumReceived struct {
			BitsPerSecond float64 `json:"bits_per_second"`
		} `json:"sum_received"`
	} `json:"end"`
}

// parseIperf extracts the result from iperf3's JSON report.
func parseIperf(b []byte) (IperfResult, error) {
	var j iperfJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return IperfResult{}, fmt.Errorf("iperf3 JSON: %w", err)
	}
	if j.Error != "" {
		return IperfResult{}, fmt.Errorf("iperf3: %s", j.Error)
	}
	r := IperfResult{BitsPerSecond: j.End.SumReceived.BitsPerSecond, Retransmits: j.End.SumSent.Retransmits}
	if !(r.BitsPerSecond > 0) || r.BitsPerSecond > 1e15 {
		return r, fmt.Errorf("iperf3: implausible receiver rate %v bit/s", r.BitsPerSecond)
	}
	return r, nil
}
