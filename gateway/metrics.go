package gateway

import (
	"iter"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/ike"
)

// Metrics are the daemon's Prometheus metrics.
type Metrics struct {
	reg *prometheus.Registry
	gw  *Gateway

	invalidSPISent     *prometheus.CounterVec
	invalidSPIReceived *prometheus.CounterVec
	invalidSPILimited  prometheus.Counter
	unknownSPI         prometheus.Counter
	recoveries         *prometheus.CounterVec
	heals              *prometheus.CounterVec
	outage             *prometheus.HistogramVec
	rekeys             *prometheus.CounterVec
	exchange           *prometheus.HistogramVec
	ikeUp              prometheus.Counter
	dataplaneHealthy   prometheus.Gauge

	lastScrape atomic.Pointer[scrapeStats] // how the last scrape used the engine loop
}

func newMetrics(g *Gateway) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), gw: g}
	m.invalidSPISent = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_invalid_spi_sent_total", Help: "INVALID_SPI notifies sent, by protection."}, []string{"kind"})
	m.invalidSPIReceived = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_invalid_spi_received_total", Help: "INVALID_SPI / INVALID_IKE_SPI notifies received."}, []string{"protected"})
	m.invalidSPILimited = prometheus.NewCounter(prometheus.CounterOpts{Name: "vigil_invalid_spi_rate_limited_total", Help: "INVALID_SPI notifies not sent because of rate limits."})
	m.unknownSPI = prometheus.NewCounter(prometheus.CounterOpts{Name: "vigil_unknown_spi_packets_total", Help: "ESP packets received on unknown SPIs."})
	m.recoveries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_recoveries_total", Help: "Stale-SA recoveries started, by cause."}, []string{"cause"})
	m.heals = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_heals_total", Help: "Repairs started because this side lost its state, by cause (child-lost-here, restart-heal)."}, []string{"cause"})
	m.outage = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "vigil_outage_seconds", Help: "Outages ended by recovery, from detection to a new Child SA.",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}}, []string{"cause"})
	m.rekeys = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_rekeys_total", Help: "Completed rekeys."}, []string{"kind"})
	m.exchange = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "vigil_ike_exchange_seconds", Help: "Round-trip time of IKE exchanges we initiated.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"exchange"})
	m.ikeUp = prometheus.NewCounter(prometheus.CounterOpts{Name: "vigil_ike_sas_established_total", Help: "IKE SAs established (including rekeys)."})
	m.dataplaneHealthy = prometheus.NewGauge(prometheus.GaugeOpts{Name: "vigil_dataplane_healthy", Help: "1 while the dataplane works, 0 once it failed (the daemon then exits)."})
	m.dataplaneHealthy.Set(1)
	m.reg.MustRegister(m.dataplaneHealthy)
	m.reg.MustRegister(m.invalidSPISent, m.invalidSPIReceived, m.invalidSPILimited, m.unknownSPI, m.recoveries, m.heals, m.outage, m.rekeys, m.exchange, m.ikeUp, m)
	return m
}

var (
	descTunnelUp   = prometheus.NewDesc("vigil_tunnel_up", "1 if the tunnel has an established Child SA.", []string{"tunnel"}, nil)
	descBytes      = prometheus.NewDesc("vigil_tunnel_bytes_total", "Bytes through the tunnel's current Child SA.", []string{"tunnel", "direction"}, nil)
	descPackets    = prometheus.NewDesc("vigil_tunnel_packets_total", "Packets through the tunnel's current Child SA.", []string{"tunnel", "direction"}, nil)
	descReplay     = prometheus.NewDesc("vigil_esp_replay_drops_total", "Inbound ESP packets dropped as replays (current Child SA).", []string{"tunnel"}, nil)
	descAuthFail   = prometheus.NewDesc("vigil_esp_auth_failures_total", "Inbound ESP packets failing the integrity check (current Child SA).", []string{"tunnel"}, nil)
	descTunnels    = prometheus.NewDesc("vigil_tunnels", "Configured tunnels.", nil, nil)
	descTunnelsUp  = prometheus.NewDesc("vigil_tunnels_up", "Tunnels with an established Child SA.", nil, nil)
	descSAs        = prometheus.NewDesc("vigil_sas", "SAs by kind and state.", []string{"kind", "state"}, nil)
	descRetrans    = prometheus.NewDesc("vigil_ike_retransmissions_total", "IKE requests retransmitted.", nil, nil)
	descTimeouts   = prometheus.NewDesc("vigil_ike_exchange_timeouts_total", "IKE exchanges that exhausted their retransmissions.", nil, nil)
	descAuthFails  = prometheus.NewDesc("vigil_ike_auth_failures_total", "IKE authentication failures.", nil, nil)
	descMalformed  = prometheus.NewDesc("vigil_ike_malformed_total", "IKE messages dropped as malformed or failing integrity checks.", nil, nil)
	descInternal   = prometheus.NewDesc("vigil_internal_errors_total", "Messages or events whose handling failed with an internal error (the SA concerned was torn down; the daemon kept running).", nil, nil)
	descRejected   = prometheus.NewDesc("vigil_ike_rejected_total", "IKE messages refused for security reasons, by reason.", []string{"reason"}, nil)
	descDH         = prometheus.NewDesc("vigil_ike_dh_values_total", "Diffie-Hellman values of ours given to exchanges: made new, or reused within dh_reuse.", []string{"source"}, nil)
	descDHSecrets  = prometheus.NewDesc("vigil_ike_dh_secrets_total", "Diffie-Hellman shared secrets of reused values of ours: computed, or remembered from an earlier exchange with the same peer value.", []string{"source"}, nil)
	describedDescs = []*prometheus.Desc{descReplay, descAuthFail, descTunnelUp, descBytes, descPackets, descTunnels, descTunnelsUp, descSAs,
		descRetrans, descTimeouts, descAuthFails, descMalformed, descInternal, descRejected, descDH, descDHSecrets}
)

// The SA states reported by vigil_sas, with zeros: a series that vanishes when its count
// drops to zero would leave a stale last value in Prometheus.
var (
	ikeStates   = []ike.IKEState{ike.IKEInitSent, ike.IKEHalfOpen, ike.IKEAuthSent, ike.IKEEstablished, ike.IKEDeleting}
	childStates = []ike.ChildState{ike.ChildInstalled, ike.ChildRekeying, ike.ChildRekeyed, ike.ChildDeleting}
)

// Describe implements prometheus.Collector for the gauges read at scrape time.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range describedDescs {
		ch <- d
	}
}

// scrapeSlice is how many tunnels one turn of a scrape reads on the engine loop. The
// per-tunnel series take a walk over every tunnel (100,000 of them make 700,000 series); in
// turns of this many the loop is never held for long, and IKE messages and timers queued
// meanwhile run between the turns.
const scrapeSlice = 1000

// tunnelRow is what a scrape reads of one tunnel on the loop.
type tunnelRow struct {
	name                 string
	up                   float64
	bin, bout, pin, pout uint64
	replay, authFail     uint64
}

// scrapeStats describe the last scrape's use of the engine loop (debug log, tests).
type scrapeStats struct {
	tunnels, turns int
	longest        time.Duration // the longest single hold of the loop
	total          time.Duration // all turns together
}

// Collect reads the totals (kept by the engine as things change) in one short turn on the
// engine loop, then the tunnels in turns of scrapeSlice, emitting each turn's series before
// the next.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	g := m.gw
	if g == nil {
		return
	}
	var sc scrapeStats
	hold := func(f func()) bool {
		return g.callIfRunning(func() {
			t0 := time.Now()
			f()
			d := time.Since(t0)
			sc.longest, sc.total, sc.turns = max(sc.longest, d), sc.total+d, sc.turns+1
		})
	}
	var n ike.Counts
	var st ike.Stats
	var next func() ([]tunnelRow, bool)
	var stop func()
	if !hold(func() {
		n, st = g.engine.Counts(), g.engine.Stats()
		next, stop = iter.Pull(m.tunnelTurns(g.engine.Tunnels()))
	}) {
		return // the loop stopped: the gateway is shutting down
	}
	m.collectTotals(ch, n, st)
	for {
		var rows []tunnelRow
		more := false
		// Done, or the loop stopped: then no turn is in the middle of the walk, and nothing
		// changes the tunnels any more (stop may run here).
		if !hold(func() { rows, more = next() }) || !more {
			break
		}
		for _, r := range rows {
			emitTunnel(ch, r)
		}
		sc.tunnels += len(rows)
	}
	stop()
	m.lastScrape.Store(&sc)
	g.log.Debug("metrics scraped", "tunnels", sc.tunnels, "loop_turns", sc.turns, "longest_loop_hold", sc.longest, "loop_time", sc.total)
}

// tunnelTurns walks the tunnels (the engine's map), yielding the rows of scrapeSlice of them
// at a time; the caller pulls each turn on the engine loop and must be done with the rows
// before it pulls the next. Between turns the walk waits in yield, as a range loop whose
// body changes the map: tunnels added or removed meanwhile are reported or not, none twice,
// and every other tunnel once.
func (m *Metrics) tunnelTurns(tunnels map[string]*ike.Tunnel) iter.Seq[[]tunnelRow] {
	return func(yield func([]tunnelRow) bool) {
		rows := make([]tunnelRow, 0, scrapeSlice)
		for name, t := range tunnels {
			if rows = append(rows, m.tunnelRow(name, t)); len(rows) == scrapeSlice {
				if !yield(rows) {
					return
				}
				rows = rows[:0]
			}
		}
		if len(rows) > 0 {
			yield(rows)
		}
	}
}

// tunnelRow reads one tunnel (loop only).
func (m *Metrics) tunnelRow(name string, t *ike.Tunnel) tunnelRow {
	r := tunnelRow{name: name}
	if t.State() == ike.TunnelUp {
		r.up = 1
	}
	if c := t.Child; c != nil {
		in, _ := m.gw.dp.SAStats(dataplane.InSA(c.SPIIn))
		out, _ := m.gw.dp.SAStats(dataplane.OutSA(c.ID, c.SPIOut))
		r.bin, r.pin, r.bout, r.pout = in.Bytes, in.Packets, out.Bytes, out.Packets
		r.replay, r.authFail = in.ReplayDrops, in.AuthFails
	}
	return r
}

func emitTunnel(ch chan<- prometheus.Metric, r tunnelRow) {
	ch <- prometheus.MustNewConstMetric(descTunnelUp, prometheus.GaugeValue, r.up, r.name)
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(r.bin), r.name, "in")
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(r.bout), r.name, "out")
	ch <- prometheus.MustNewConstMetric(descPackets, prometheus.CounterValue, float64(r.pin), r.name, "in")
	ch <- prometheus.MustNewConstMetric(descPackets, prometheus.CounterValue, float64(r.pout), r.name, "out")
	ch <- prometheus.MustNewConstMetric(descReplay, prometheus.CounterValue, float64(r.replay), r.name)
	ch <- prometheus.MustNewConstMetric(descAuthFail, prometheus.CounterValue, float64(r.authFail), r.name)
}

// collectTotals emits the aggregate series: the engine's totals and protocol counters.
func (m *Metrics) collectTotals(ch chan<- prometheus.Metric, n ike.Counts, st ike.Stats) {
	ch <- prometheus.MustNewConstMetric(descTunnels, prometheus.GaugeValue, float64(n.Tunnels))
	ch <- prometheus.MustNewConstMetric(descTunnelsUp, prometheus.GaugeValue, float64(n.TunnelsUp))
	for _, s := range ikeStates {
		ch <- prometheus.MustNewConstMetric(descSAs, prometheus.GaugeValue, float64(n.IKE[s]), "ike", s.String())
	}
	for _, s := range childStates {
		ch <- prometheus.MustNewConstMetric(descSAs, prometheus.GaugeValue, float64(n.Child[s]), "child", s.String())
	}
	ch <- prometheus.MustNewConstMetric(descRetrans, prometheus.CounterValue, float64(st.Retransmits))
	ch <- prometheus.MustNewConstMetric(descTimeouts, prometheus.CounterValue, float64(st.ExchangeTimeouts))
	ch <- prometheus.MustNewConstMetric(descAuthFails, prometheus.CounterValue, float64(st.AuthFailures))
	ch <- prometheus.MustNewConstMetric(descMalformed, prometheus.CounterValue, float64(st.Malformed))
	ch <- prometheus.MustNewConstMetric(descInternal, prometheus.CounterValue, float64(st.InternalErrors))
	ch <- prometheus.MustNewConstMetric(descDH, prometheus.CounterValue, float64(st.DHValues), "made")
	ch <- prometheus.MustNewConstMetric(descDH, prometheus.CounterValue, float64(st.DHReused), "reused")
	ch <- prometheus.MustNewConstMetric(descDHSecrets, prometheus.CounterValue, float64(st.DHSecrets), "computed")
	ch <- prometheus.MustNewConstMetric(descDHSecrets, prometheus.CounterValue, float64(st.DHSecretsReused), "remembered")
	for reason, v := range map[string]uint64{
		"state":            st.Rejected,
		"address-change":   st.AddressChangesRefused,
		"half-open-limit":  st.HalfOpenRefused,
		"unprotected-rate": st.UnprotectedDropped,
	} {
		ch <- prometheus.MustNewConstMetric(descRejected, prometheus.CounterValue, float64(v), reason)
	}
}

// Handler serves the metrics in the Prometheus text format.
func (g *Gateway) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(g.metrics.reg, promhttp.HandlerOpts{})
}
