package ike

import "time"

// RekeyChildWithin rekeys c like RekeyChild, but gives up after budget instead of the tunnel's
// dpd_timeout. The gateway's Child SA probe uses it: a probe goes out because nothing came
// back, so a peer that does not answer within a short budget is most likely gone, and waiting
// the whole dpd_timeout would only lengthen the outage (loop only).
func (e *Engine) RekeyChildWithin(c *ChildSA, budget time.Duration, done func(*ChildSA, error)) {
	e.nextBudget = budget
	defer func() { e.nextBudget = 0 }()
	e.RekeyChild(c, done)
}
