package gateway

import "github.com/vigil-ipsec/vigil/ike"

// Initiations are paced. A gateway that starts (or reloads, or loses a peer) with 100,000
// tunnels must not send 100,000 IKE_SA_INITs at once: the peer would answer the first few
// hundred, demand COOKIEs from the rest or drop them (half-open limits), and every dropped
// one would come back as a retransmission later, the herd arriving again. Instead at most
// maxInitiating IKE SAs of ours are being negotiated at any time; each one that is
// established or fails lets the next tunnel in the queue start. The rate adapts itself to
// what the two gateways can do.
//
// The initiations that set up many tunnels wait their turn (start-up, reconnects after a
// failure, reloads); those that an operator or an outage asks for (manual "up", trap
// acquires, heals) go to the head of the queue, or start at once while there is room.

// maxInitiating bounds the IKE SAs we negotiate as initiator at once. It stays below the
// default cookie threshold of a responder (strongSwan's and ours: 500 half-open SAs), so a
// peer we start many tunnels with never needs to ask for COOKIEs.
const maxInitiating = 200

// pacer holds the initiations in flight and the tunnels waiting for one (loop-owned).
type pacer struct {
	inflight map[*ike.IKESA]struct{}
	queue    []queued // FIFO from head
	head     int
	waiting  map[string]bool // tunnel names in queue
}

type queued struct{ name, why string }

// paced reports whether an initiation for why waits its turn behind the others.
func paced(why string) bool { return why == "start" || why == "reconnect" || why == "reload" }

// initiate starts a tunnel unless it is up or connecting, or queues it while maxInitiating
// IKE SAs are being negotiated (loop only).
func (g *Gateway) initiate(name, why string) {
	t := g.engine.Tunnel(name)
	if t == nil || t.IKE != nil {
		return
	}
	p := &g.pace
	if len(p.inflight) >= maxInitiating {
		if !p.waiting[name] {
			p.waiting[name] = true
			q := queued{name, why}
			if paced(why) {
				p.queue = append(p.queue, q)
			} else {
				p.pushFront(q)
			}
		}
		if !paced(why) {
			g.tstate[name].manualDown = false
		}
		return
	}
	g.startInitiation(t, why)
}

// startInitiation sends the tunnel's first IKE message.
func (g *Gateway) startInitiation(t *ike.Tunnel, why string) {
	name := t.Cfg.Name
	g.tstate[name].manualDown = false
	if sa := g.engine.Initiate(t); sa != nil {
		g.pace.inflight[sa] = struct{}{}
		g.event(name, "connect", why, t.Cfg.Remote.Addr().String(), 0, nil, "initiating IKE SA", 0)
	}
}

// initiationDone notes that sa, if it is one of our initiations, is established or gone,
// and starts the next queued tunnels (after the current event).
func (g *Gateway) initiationDone(sa *ike.IKESA) {
	p := &g.pace
	if _, ok := p.inflight[sa]; !ok {
		return
	}
	delete(p.inflight, sa)
	if p.head < len(p.queue) {
		g.engine.Later(g.startQueued)
	}
}

// startQueued starts queued tunnels while there is room.
func (g *Gateway) startQueued() {
	p := &g.pace
	for len(p.inflight) < maxInitiating && p.head < len(p.queue) {
		q := p.queue[p.head]
		p.queue[p.head] = queued{}
		p.head++
		delete(p.waiting, q.name)
		t := g.engine.Tunnel(q.name)
		ts := g.state(q.name)
		if t == nil || t.IKE != nil || ts == nil || ts.manualDown {
			continue // removed, up meanwhile (the peer initiated), or taken down
		}
		g.startInitiation(t, q.why)
	}
	if p.head == len(p.queue) {
		p.queue, p.head = p.queue[:0], 0
	} else if p.head > 1024 && p.head > len(p.queue)/2 {
		p.queue = append(p.queue[:0], p.queue[p.head:]...)
		p.head = 0
	}
}

// pushFront queues q ahead of the others.
func (p *pacer) pushFront(q queued) {
	if p.head > 0 {
		p.head--
		p.queue[p.head] = q
		return
	}
	p.queue = append([]queued{q}, p.queue...)
}
