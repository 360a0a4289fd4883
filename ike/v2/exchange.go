package v2

import (
	"net/netip"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// request is one exchange we initiate. Requests of an IKE SA run one at a time (window size 1,
// RFC 7296 2.3); later ones wait in sa.queue and are built when they are sent, so that they
// see the state the earlier exchanges left.
type request struct {
	exch   wire.ExchangeType
	build  func() []wire.Payload // nil for IKE_SA_INIT, whose raw bytes are prebuilt
	onResp func(m *wire.Message)
	onFail func(err error)
	msgID  uint32
	raw    []byte
	timer  *ike.Timer
	budget time.Duration // overrides the tunnel's DPDTimeout when set
	retry  ike.Retransmission
	// notify marks an informational notify we volunteer (INVALID_SPI): it may be dropped
	// from the queue, silently, to make room.
	notify bool
}

// maxQueuedNotifies bounds the volunteered notifies waiting behind the exchange in flight of
// one IKE SA; beyond it the oldest is dropped. Rekeys, deletes and liveness checks are never
// dropped.
const maxQueuedNotifies = 4

// request queues an encrypted request on sa.
func (e *engine) request(sa *ike.IKESA, exch wire.ExchangeType, build func() []wire.Payload, onResp func(*wire.Message), onFail func(error)) {
	e.enqueue(sa, &request{exch: exch, build: build, onResp: onResp, onFail: onFail})
}

// enqueue sends r now or queues it behind the exchange in flight.
func (e *engine) enqueue(sa *ike.IKESA, r *request) {
	if v2of(sa).pending == nil {
		e.sendRequest(sa, r)
		return
	}
	if r.notify {
		n, oldest := 0, -1
		for i, q := range v2of(sa).queue {
			if q.notify {
				if oldest < 0 {
					oldest = i
				}
				n++
			}
		}
		if n >= maxQueuedNotifies {
			v2of(sa).queue = append(v2of(sa).queue[:oldest], v2of(sa).queue[oldest+1:]...)
			e.Counters().NotifiesDropped++
		}
	}
	v2of(sa).queue = append(v2of(sa).queue, r)
}

func (e *engine) sendRequest(sa *ike.IKESA, r *request) {
	if r.raw == nil {
		r.msgID = v2of(sa).nextMsgID
		v2of(sa).nextMsgID++
		r.raw = seal(sa, header(sa, r.exch, r.msgID, false), r.build())
	}
	v2of(sa).pending = r
	r.retry = e.StartRetransmission(r.budget)
	e.Send(sa, r.raw)
	e.arm(sa, r)
}

func (e *engine) arm(sa *ike.IKESA, r *request) {
	r.timer = e.After(r.retry.Timeout, func() { e.retransmit(sa, r) })
}

// retransmit resends r with exponential back-off, or fails it when the tries or the tunnel's
// time budget are used up.
func (e *engine) retransmit(sa *ike.IKESA, r *request) {
	if v2of(sa).pending != r || sa.State == ike.IKEDead {
		return
	}
	if !e.NextRetransmission(sa, &r.retry, r.exch.String()) {
		v2of(sa).pending = nil
		r.onFail(ike.ErrTimeout)
		e.next(sa)
		return
	}
	e.Send(sa, r.raw)
	e.arm(sa, r)
}

// next sends the next queued request, if any.
func (e *engine) next(sa *ike.IKESA) {
	if v2of(sa).pending != nil || len(v2of(sa).queue) == 0 || sa.State == ike.IKEDead {
		return
	}
	r := v2of(sa).queue[0]
	v2of(sa).queue = v2of(sa).queue[1:]
	e.sendRequest(sa, r)
}

// failQueued fails every waiting request of a dying SA.
func (e *engine) failQueued(sa *ike.IKESA, err error) {
	p, q := v2of(sa).pending, v2of(sa).queue
	v2of(sa).pending, v2of(sa).queue = nil, nil
	if p != nil {
		if p.timer != nil {
			p.timer.Stop()
		}
		p.onFail(err)
	}
	for _, r := range q {
		r.onFail(err)
	}
}

// handleProtected processes a message of an existing IKE SA (anything but IKE_SA_INIT).
func (e *engine) handleProtected(sa *ike.IKESA, local, remote netip.AddrPort, h wire.Header, msg []byte) {
	e.SetCurrent(sa)
	if h.IsResponse() {
		r := v2of(sa).pending
		if r == nil || h.MessageID != r.msgID || r.exch != h.Exchange {
			return
		}
		m, err := open(sa, msg)
		if err != nil {
			e.unprotectedHint(remote, msg)
			e.Counters().Malformed++
			e.Log().Debug("dropping response that fails to decrypt", "ike", sa.String(), "err", err)
			return
		}
		r.timer.Stop()
		v2of(sa).pending = nil
		sa.SetLastInbound(time.Now())
		e.Hooks().Exchange(sa, r.exch.String(), time.Since(r.retry.Started), r.retry.Tries)
		r.onResp(m)
		e.next(sa)
		return
	}
	switch {
	case h.MessageID == v2of(sa).peerMsgID:
	case h.MessageID+1 == v2of(sa).peerMsgID && v2of(sa).lastRespOK:
		if _, err := open(sa, msg); err == nil {
			e.Counters().ResponsesResent++
			e.Dataplane().SendIKE(local, remote, v2of(sa).lastResp)
		}
		return
	default:
		return
	}
	if !requestAllowed(sa, h.Exchange) {
		// Before IKE_AUTH completes the peer has proved nothing but its IKE_SA_INIT keys: anyone
		// who sent one from a configured peer's address has those. Only IKE_AUTH may run on a
		// half-open SA; INFORMATIONAL and CREATE_CHILD_SA content (notifies, deletes, new SAs)
		// is processed on an established IKE SA only. The message ID is not consumed.
		e.Counters().Rejected++
		e.Log().Debug("dropping request not allowed in this IKE SA state", "ike", sa.String(), "state", sa.State, "exchange", h.Exchange)
		return
	}
	m, err := open(sa, msg)
	if err != nil {
		e.Counters().Malformed++
		e.Log().Debug("dropping request that fails to decrypt", "ike", sa.String(), "err", err)
		return
	}
	v2of(sa).peerMsgID++
	sa.SetLastInbound(time.Now())
	e.PeerMoved(sa, local, remote)
	resp, after := e.handleRequest(sa, h, m)
	raw := seal(sa, header(sa, h.Exchange, h.MessageID, true), resp)
	v2of(sa).lastResp, v2of(sa).lastRespOK = raw, true
	// Answer where the request came from (RFC 7296 2.11), whether or not the SA follows it.
	if err := e.Dataplane().SendIKE(local, remote, raw); err != nil {
		e.Log().Debug("sending IKE message failed", "peer", remote, "err", err)
	}
	if after != nil {
		after()
	}
}

// requestAllowed reports whether a request of type exch may be processed on sa in its state.
func requestAllowed(sa *ike.IKESA, exch wire.ExchangeType) bool {
	switch exch {
	case wire.ExchangeIKEAuth:
		return sa.State == ike.IKEHalfOpen && !sa.Initiator
	case wire.ExchangeCreateChildSA, wire.ExchangeInformational:
		return sa.State == ike.IKEEstablished || sa.State == ike.IKEDeleting
	}
	return false
}

// handleRequest dispatches a request; it returns the response payloads and an optional action
// to run once the response has been sent.
func (e *engine) handleRequest(sa *ike.IKESA, h wire.Header, m *wire.Message) ([]wire.Payload, func()) {
	switch h.Exchange {
	case wire.ExchangeIKEAuth:
		return e.handleAuthRequest(sa, m)
	case wire.ExchangeCreateChildSA:
		if sa.State != ike.IKEEstablished {
			return []wire.Payload{&wire.Notify{Type: wire.NotifyTemporaryFailure}}, nil
		}
		return e.handleCreateChildRequest(sa, m)
	case wire.ExchangeInformational:
		return e.handleInformationalRequest(sa, m)
	}
	return nil, nil
}

// notifyError returns the first error notify of a message, or 0.
func notifyError(m *wire.Message) wire.NotifyType {
	for _, p := range m.Payloads {
		if n, ok := p.(*wire.Notify); ok && n.Type.IsError() {
			return n.Type
		}
	}
	return 0
}

// seal encrypts and protects a message of sa (its SK payload holds payloads). Once the IKE SA
// is established, messages are rare (DPD, rekeys, deletes): the SK cipher's state (for AES-GCM
// some kilobytes of tables) is built for each message and dropped after it rather than held by
// each of 100,000 quiet IKE SAs.
func seal(sa *ike.IKESA, h wire.Header, payloads []wire.Payload) []byte {
	raw := wire.AppendEncrypted(nil, h, payloads, v2of(sa).out)
	if sa.State == ike.IKEEstablished {
		crypto.ReleaseSK(v2of(sa).out)
	}
	return raw
}

// open checks and decrypts a protected message of sa (see seal for the cipher state).
func open(sa *ike.IKESA, msg []byte) (*wire.Message, error) {
	m, err := wire.OpenEncrypted(msg, v2of(sa).in)
	if sa.State == ike.IKEEstablished {
		crypto.ReleaseSK(v2of(sa).in)
	}
	return m, err
}
