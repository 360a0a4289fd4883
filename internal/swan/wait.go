package swan

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// recheckInterval is the backstop for state changes that raise no VICI
// event (e.g. a rekeyed SA being deleted, or a deleted CHILD_SA being
// destroyed after strongSwan's delete delay): WaitFor re-checks at least
// this often.
const recheckInterval = 250 * time.Millisecond

// WaitFor waits until cond holds for the daemon's SAs and returns them. It
// re-evaluates cond on each VICI SA event (up/down, rekey, update), with a
// 250ms backstop for transitions charon raises no event for; ctx bounds the
// wait. On timeout the error shows the last SAs.
func (c *Charon) WaitFor(ctx context.Context, cond func([]IKESA) bool) ([]IKESA, error) {
	sub, err := c.hub.subscribe(64)
	if err != nil {
		return nil, err
	}
	defer c.hub.unsubscribe(sub)
	ch := sub.ch
	exited := c.ns.Exited(c.cmd)
	backstop := time.NewTicker(recheckInterval)
	defer backstop.Stop()
	for {
		// Drain queued wake-ups: one check covers them all.
		for drained := false; !drained; {
			select {
			case _, ok := <-ch:
				if !ok {
					return nil, errors.New("swan: VICI event stream closed")
				}
			default:
				drained = true
			}
		}
		lctx, cancel := context.WithTimeout(ctx, cmdTimeout)
		sas, err := c.listSAs(lctx)
		cancel()
		if err != nil {
			return nil, err
		}
		if cond(sas) {
			return sas, nil
		}
		select {
		case <-ctx.Done():
			return sas, fmt.Errorf("swan: condition not met: %w; SAs: %+v", ctx.Err(), sas)
		case <-exited:
			return sas, errors.New("swan: charon exited")
		case <-backstop.C:
		case _, ok := <-ch:
			if !ok {
				return sas, errors.New("swan: VICI event stream closed")
			}
		}
	}
}

// WaitIKE waits until an IKE SA of connection name is in state (e.g.
// "ESTABLISHED") and returns it. An empty state waits until no IKE SA of
// that connection is left and returns the zero IKESA.
func (c *Charon) WaitIKE(ctx context.Context, name, state string) (IKESA, error) {
	var found IKESA
	_, err := c.WaitFor(ctx, func(sas []IKESA) bool {
		for _, sa := range sas {
			if sa.Name == name {
				if state != "" && sa.State == state {
					found = sa
					return true
				}
				if state == "" {
					return false
				}
			}
		}
		return state == ""
	})
	return found, err
}

// WaitChild waits until a CHILD_SA named child is in state (e.g.
// "INSTALLED") and returns it. An empty state waits until no CHILD_SA of
// that name is left and returns the zero ChildSA.
func (c *Charon) WaitChild(ctx context.Context, child, state string) (ChildSA, error) {
	var found ChildSA
	_, err := c.WaitFor(ctx, func(sas []IKESA) bool {
		for _, sa := range sas {
			for _, ch := range sa.Children {
				if ch.Name != child {
					continue
				}
				if state == "" {
					return false
				}
				if ch.State == state {
					found = ch
					return true
				}
			}
		}
		return state == ""
	})
	return found, err
}

// TimeToEstablish initiates the CHILD_SA config child and returns the time
// from the request until charon reported the CHILD_SA up (child-updown).
func (c *Charon) TimeToEstablish(ctx context.Context, child string) (time.Duration, error) {
	sub, err := c.hub.subscribe(64, "child-updown")
	if err != nil {
		return 0, err
	}
	defer c.hub.unsubscribe(sub)
	ch := sub.ch
	start := time.Now()
	if err := c.initiateCtx(ctx, child); err != nil {
		return 0, err
	}
	for {
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("swan: no child-updown for %q: %w", child, ctx.Err())
		case ev, ok := <-ch:
			if !ok {
				return 0, errors.New("swan: VICI event stream closed")
			}
			if up, _ := ev.Message.Get("up").(string); up != "yes" {
				continue
			}
			sas, err := parseSAs(ev.Message)
			if err != nil {
				return 0, err
			}
			for _, sa := range sas {
				for _, cs := range sa.Children {
					if cs.Name == child {
						return ev.Timestamp.Sub(start), nil
					}
				}
			}
		}
	}
}
