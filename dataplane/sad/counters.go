package sad

import "sync/atomic"

// Counters is a snapshot of a dataplane's global counters, for metrics.
type Counters struct {
	PacketsIn  uint64 // inner packets decrypted and delivered
	BytesIn    uint64 // inner bytes decrypted and delivered
	PacketsOut uint64 // inner packets sealed and sent
	BytesOut   uint64 // inner bytes sealed and sent

	UnknownSPI           uint64 // ESP packets for SPIs with no inbound SA
	UnknownSPISuppressed uint64 // unknown-SPI events not raised because of rate limiting
	ReplayDrops          uint64
	AuthFails            uint64
	Malformed            uint64 // unparseable ESP or inner packets, bad padding
	Dummy                uint64 // ESP dummy packets (next header 59)
	NoPolicy             uint64 // inner packets matching no policy
	PolicyMismatch       uint64 // decrypted packets outside their SA's selectors
	Held                 uint64 // packets queued on a policy without SA
	QueueDrops           uint64 // packets lost from full hold queues
	Expired              uint64 // packets dropped on SAs past their hard lifetime
	SeqExhausted         uint64 // packets dropped because the sequence space ran out
	TooBig               uint64 // packets answered with ICMP fragmentation-needed/packet-too-big
	NoRoute              uint64 // sealed packets with no socket or peer to send them
	SendErrors           uint64 // socket or device write errors
	EventDrops           uint64 // events lost because the event queue was full

	IKEIn      uint64 // IKE messages delivered to the handler
	IKEOut     uint64 // IKE messages sent
	IKEDrops   uint64 // IKE messages dropped (queue full, test loss)
	Keepalives uint64 // NAT keepalives received
}

// Counter indexes one counter in a Tally.
type Counter uint8

// Counter indexes, in the order of the Counters fields.
const (
	CPacketsIn Counter = iota
	CBytesIn
	CPacketsOut
	CBytesOut
	CUnknownSPI
	CUnknownSPISuppressed
	CReplayDrops
	CAuthFails
	CMalformed
	CDummy
	CNoPolicy
	CPolicyMismatch
	CHeld
	CQueueDrops
	CExpired
	CSeqExhausted
	CTooBig
	CNoRoute
	CSendErrors
	CEventDrops
	CIKEIn
	CIKEOut
	CIKEDrops
	CKeepalives
	numCounters
)

// Tally accumulates counters locally (one per worker, no atomics) before they are added to
// the shared Stats once per batch, so workers do not contend on shared cache lines per packet.
type Tally [numCounters]uint64

// Drop counts one packet dropped for reason d.
func (t *Tally) Drop(d Drop) {
	if c := dropCounter[d]; c != numCounters {
		t[c]++
	}
}

var dropCounter = [...]Counter{
	DropNone:           numCounters,
	DropMalformed:      CMalformed,
	DropAuth:           CAuthFails,
	DropReplay:         CReplayDrops,
	DropDummy:          CDummy,
	DropPadding:        CMalformed,
	DropSeqExhausted:   CSeqExhausted,
	DropUnknownSPI:     CUnknownSPI,
	DropNoPolicy:       CNoPolicy,
	DropHeld:           CHeld,
	DropQueueFull:      CQueueDrops,
	DropExpired:        CExpired,
	DropPolicyMismatch: CPolicyMismatch,
	DropTooBig:         CTooBig,
	DropNoRoute:        CNoRoute,
}

// Stats holds counters shared by all workers of a dataplane.
type Stats struct {
	c [numCounters]atomic.Uint64
}

// Add adds t to s and zeroes t.
func (s *Stats) Add(t *Tally) {
	for i, v := range t {
		if v != 0 {
			s.c[i].Add(v)
			t[i] = 0
		}
	}
}

// Inc adds n to one counter.
func (s *Stats) Inc(c Counter, n uint64) { s.c[c].Add(n) }

// Snapshot returns the current values.
func (s *Stats) Snapshot() Counters {
	g := func(c Counter) uint64 { return s.c[c].Load() }
	return Counters{
		PacketsIn:            g(CPacketsIn),
		BytesIn:              g(CBytesIn),
		PacketsOut:           g(CPacketsOut),
		BytesOut:             g(CBytesOut),
		UnknownSPI:           g(CUnknownSPI),
		UnknownSPISuppressed: g(CUnknownSPISuppressed),
		ReplayDrops:          g(CReplayDrops),
		AuthFails:            g(CAuthFails),
		Malformed:            g(CMalformed),
		Dummy:                g(CDummy),
		NoPolicy:             g(CNoPolicy),
		PolicyMismatch:       g(CPolicyMismatch),
		Held:                 g(CHeld),
		QueueDrops:           g(CQueueDrops),
		Expired:              g(CExpired),
		SeqExhausted:         g(CSeqExhausted),
		TooBig:               g(CTooBig),
		NoRoute:              g(CNoRoute),
		SendErrors:           g(CSendErrors),
		EventDrops:           g(CEventDrops),
		IKEIn:                g(CIKEIn),
		IKEOut:               g(CIKEOut),
		IKEDrops:             g(CIKEDrops),
		Keepalives:           g(CKeepalives),
	}
}
