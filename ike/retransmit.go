package ike

import "time"

// Retransmission is the schedule of one request we sent, the same for both IKE versions: the
// first timeout is RetransmitTimeout (at most a quarter of a short budget), multiplied by
// RetransmitBase after every try up to RetransmitMax, for at most RetransmitTries
// retransmissions, and never beyond the budget: the request's own, or else the tunnel's
// dpd_timeout. The protocols own the timer and what is resent.
type Retransmission struct {
	Tries   int           // retransmissions so far
	Timeout time.Duration // until the next one
	Started time.Time
	Budget  time.Duration // the request's own budget; zero: the tunnel's dpd_timeout
}

// StartRetransmission begins the schedule of a request sent now.
func (e *Engine) StartRetransmission(budget time.Duration) Retransmission {
	r := Retransmission{Timeout: e.cfg.RetransmitTimeout, Started: time.Now(), Budget: budget}
	if budget > 0 && r.Timeout > budget/4 {
		r.Timeout = budget / 4
	}
	return r
}

// NextRetransmission is called when sa's request timed out. It returns true, with r.Timeout
// set, if the request is to be sent again; false if its tries or its budget are used up: it is
// counted and logged as a timeout (what) and has failed.
func (e *Engine) NextRetransmission(sa *IKESA, r *Retransmission, what string) bool {
	if e.quiesced {
		return false // not logged: the gateway is going away, and with it every SA
	}
	elapsed := time.Since(r.Started)
	budget := r.Budget
	if budget == 0 && sa.Tunnel != nil {
		budget = sa.Tunnel.Cfg.DPDTimeout
	}
	if r.Tries >= e.cfg.RetransmitTries || (budget > 0 && elapsed >= budget) {
		e.stats.ExchangeTimeouts++
		e.log.Info("exchange timed out", "tunnel", sa.TunnelName(), "ike", sa.String(), "exchange", what, "tries", r.Tries+1, "after", elapsed.Round(time.Millisecond))
		return false
	}
	r.Tries++
	e.stats.Retransmits++
	r.Timeout = min(time.Duration(float64(r.Timeout)*e.cfg.RetransmitBase), e.cfg.RetransmitMax)
	if budget > 0 && elapsed+r.Timeout > budget {
		r.Timeout = budget - elapsed
	}
	return true
}

// Quiesce stops retransmissions (loop only): from now on a request that is not answered
// within its first timeout fails. The gateway calls it when it shuts down, before it sends a
// Delete for every IKE SA: it waits for the answers only briefly anyway, and resending the
// Deletes a busy peer has not answered yet, 100,000 of them at scale, would only add to the
// load on both sides. A Delete that fails this way removes its SA as an answered one would.
func (e *Engine) Quiesce() { e.quiesced = true }
