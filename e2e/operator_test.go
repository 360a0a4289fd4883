package e2e

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// second returns a second tunnel between the same gateways for other subnets.
func second(t vigiltest.Tunnel, local, remote string) vigiltest.Tunnel {
	t.Name = "extra"
	t.LocalTS, t.RemoteTS = []string{local}, []string{remote}
	return t
}

// TestReload: unchanged tunnels keep their SAs and SPIs, added ones start, changed ones are
// renegotiated, removed ones are deleted with a Delete, and a bad file is refused.
func TestReload(t *testing.T) {
	forVersions(t, func(t *testing.T, iv ikeVersion) { reload(t, iv) })
}

func reload(t *testing.T, iv ikeVersion) {
	topo := netns.NewSiteToSite(t, "vgo")
	ta, tb := sideA("site"), sideB("site")
	ta.StartAction = "start"
	xa := second(ta, "10.1.9.0/24", "10.2.9.0/24")
	xb := second(tb, "10.2.9.0/24", "10.1.9.0/24")
	if iv.num == 1 {
		// Two IKEv1 tunnels to the same peer must differ in identities (README, Limits): the
		// responder picks the tunnel of a Main Mode by identity, before any selectors.
		xa.LocalID, xa.RemoteID = "fqdn:a-extra.example", "fqdn:b-extra.example"
		xb.LocalID, xb.RemoteID = xa.RemoteID, xa.LocalID
	}
	ta, tb, xa, xb = iv.tunnel(ta), iv.tunnel(tb), iv.tunnel(xa), iv.tunnel(xb)
	b := vigiltest.Start(t, topo.GwB, "b", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{tb, xb}})
	a := vigiltest.Start(t, topo.GwA, "a", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{ta}})
	ctx := ctxT(t, 60*time.Second)
	c0, _ := pairUp(t, ctx, a, b, "site")

	// Add "extra".
	a.WriteConfig(vigiltest.Conf{Tunnels: []vigiltest.Tunnel{ta, xa}})
	res, err := a.Client.Reload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Added, ",") != "extra" || strings.Join(res.Unchanged, ",") != "site" {
		t.Fatalf("reload result %+v", res)
	}
	pairUp(t, ctx, a, b, "extra")
	c1, _ := pairUp(t, ctx, a, b, "site")
	if c1.SPIIn != c0.SPIIn || c1.SPIOut != c0.SPIOut {
		t.Errorf("unchanged tunnel lost its SAs: %v/%v -> %v/%v", c0.SPIIn, c0.SPIOut, c1.SPIIn, c1.SPIOut)
	}

	// A broken file is refused and changes nothing.
	a.WriteRawConfig("[global]\nsocket = 1\n")
	if _, err := a.Client.Reload(ctx); err == nil || !strings.Contains(err.Error(), "vigil.toml:2") {
		t.Errorf("bad config not refused with file:line: %v", err)
	}
	if _, err := a.Client.Tunnel(ctx, "extra"); err != nil {
		t.Errorf("running configuration lost: %v", err)
	}

	// Change "extra" (another ESP proposal) and remove nothing.
	xa2 := xa
	xa2.ESPProposals = "aes256gcm16"
	xb.ESPProposals = "aes256gcm16,aes128gcm16"
	b.WriteConfig(vigiltest.Conf{Tunnels: []vigiltest.Tunnel{tb, xb}})
	if _, err := b.Client.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	a.WriteConfig(vigiltest.Conf{Tunnels: []vigiltest.Tunnel{ta, xa2}})
	res, err = a.Client.Reload(ctx)
	if err != nil || strings.Join(res.Changed, ",") != "extra" {
		t.Fatalf("reload: %+v %v", res, err)
	}
	if _, err := a.WaitFor(ctx, "extra renegotiated", func(s []api.IKESA) bool {
		c, ok := vigiltest.Child(s, "extra")
		return ok && c.Algorithms == "aes256gcm16"
	}); err != nil {
		t.Fatal(err)
	}

	// Remove "extra": B hears a Delete.
	seqB := b.LastSeq(ctx)
	a.WriteConfig(vigiltest.Conf{Tunnels: []vigiltest.Tunnel{ta}})
	if res, err = a.Client.Reload(ctx); err != nil || strings.Join(res.Removed, ",") != "extra" {
		t.Fatalf("reload: %+v %v", res, err)
	}
	if _, err := b.WaitEvent(ctx, seqB, func(ev api.Event) bool { return ev.Tunnel == "extra" && ev.Kind == "down" && ev.Cause == "peer-delete" }); err != nil {
		t.Fatal(err)
	}
	c2, _ := pairUp(t, ctx, a, b, "site")
	if c2.SPIIn != c0.SPIIn {
		t.Errorf("site's SAs changed across reloads")
	}

	// SIGHUP reloads too.
	seqA := a.LastSeq(ctx)
	a.WriteConfig(vigiltest.Conf{Tunnels: []vigiltest.Tunnel{ta, xa}})
	if err := syscall.Kill(a.PID(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if _, err := a.WaitEvent(ctx, seqA, func(ev api.Event) bool { return ev.Kind == "reload" }); err != nil {
		t.Fatal(err)
	}
	pairUp(t, ctx, a, b, "extra")
}

// scrape reads the metrics endpoint inside ns.
func scrape(t *testing.T, ns *netns.NS, addr string) map[string]float64 {
	t.Helper()
	var body string
	err := ns.Do(func() error {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		io.WriteString(c, "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(resp.Body)
		body = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]float64{}
	for _, l := range strings.Split(body, "\n") {
		if l == "" || l[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err == nil {
			m[l[:i]] = v
		}
	}
	return m
}

// TestMetrics scrapes the Prometheus endpoint and checks that the values move with traffic and
// with a recovery.
func TestMetrics(t *testing.T) {
	forVersions(t, func(t *testing.T, iv ikeVersion) { metrics(t, iv) })
}

func metrics(t *testing.T, iv ikeVersion) {
	topo := netns.NewSiteToSite(t, "vgo")
	ta, tb := sideA("site"), sideB("site")
	ta.StartAction = "start"
	b := vigiltest.Start(t, topo.GwB, "b", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{iv.tunnel(tb)}})
	a := vigiltest.Start(t, topo.GwA, "a", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{iv.tunnel(ta)}, Metrics: "127.0.0.1:9745"})
	ctx := ctxT(t, 60*time.Second)
	_, cb := pairUp(t, ctx, a, b, "site")
	m0 := scrape(t, topo.GwA, "127.0.0.1:9745")
	if m0[`vigil_tunnel_up{tunnel="site"}`] != 1 {
		t.Errorf("vigil_tunnel_up = %v", m0[`vigil_tunnel_up{tunnel="site"}`])
	}
	ping(t, ctx, topo)
	m1 := scrape(t, topo.GwA, "127.0.0.1:9745")
	k := `vigil_tunnel_packets_total{direction="out",tunnel="site"}`
	if m1[k] <= m0[k] {
		t.Errorf("%s did not move: %v -> %v", k, m0[k], m1[k])
	}
	if m1[`vigil_sas{kind="child",state="installed"}`] != 1 {
		t.Errorf("SA gauges wrong: %v", m1)
	}
	// The exchange histogram counts the exchange that created the Child SA: IKE_AUTH, or
	// IKEv1's Quick Mode (its Main Mode is not observed there).
	exch := map[int]string{1: "QUICK_MODE", 2: "IKE_AUTH"}[iv.num]
	if k := `vigil_ike_exchange_seconds_count{exchange="` + exch + `"}`; m1[k] != 1 {
		t.Errorf("%s = %v, want 1: %v", k, m1[k], m1)
	}
	// A recovery moves the recovery counters.
	seq := a.LastSeq(ctx)
	b.Client.DeleteChildSA(ctx, cb.SPIIn, false)
	go topo.HostA.Ping(ctx, netns.HostBAddr) // traffic that meets the dead SA
	if _, err := a.WaitEvent(ctx, seq, recovered); err != nil {
		t.Fatal(err)
	}
	m2 := scrape(t, topo.GwA, "127.0.0.1:9745")
	if m2[`vigil_recoveries_total{cause="invalid-spi"}`] != 1 || m2[`vigil_invalid_spi_received_total{protected="true"}`] < 1 || m2[`vigil_outage_seconds_count{cause="invalid-spi"}`] != 1 {
		t.Errorf("recovery metrics did not move: %v", m2)
	}
}

// TestShutdown: SIGTERM deletes the SAs (the peer hears it), removes the TUN device and its
// routes, and exits within 2 s. A second daemon on the same socket refuses to start.
func TestShutdown(t *testing.T) {
	forVersions(t, func(t *testing.T, iv ikeVersion) { shutdown(t, iv) })
}

func shutdown(t *testing.T, iv ikeVersion) {
	topo := netns.NewSiteToSite(t, "vgo")
	a, b := vigilPair(t, topo, iv, func(ta, tb *vigiltest.Tunnel) { tb.StartAction = "" })
	ctx := ctxT(t, 30*time.Second)
	pairUp(t, ctx, a, b, "site")

	// Second daemon, same socket.
	out, err := topo.GwA.Run(ctx, a.Args()...)
	if err == nil || !strings.Contains(string(out), "another vigild is running") {
		t.Errorf("second vigild: %v\n%s", err, out)
	}

	seq := b.LastSeq(ctx)
	start := time.Now()
	a.Stop()
	took := time.Since(start)
	if took > 2*time.Second {
		t.Errorf("shutdown took %v", took)
	}
	if _, err := b.WaitEvent(ctx, seq, func(ev api.Event) bool { return ev.Kind == "down" && ev.Cause == "peer-delete" }); err != nil {
		t.Errorf("peer was not told: %v", err)
	}
	if out, err := topo.GwA.Run(ctx, "ip", "link", "show", a.TUN()); err == nil {
		t.Errorf("TUN device still there:\n%s", out)
	}
	if out, _ := topo.GwA.Run(ctx, "ip", "route", "show", netns.NetB.String()); strings.TrimSpace(string(out)) != "" {
		t.Errorf("route still there: %s", out)
	}
	t.Logf("shutdown took %v", took)
}
