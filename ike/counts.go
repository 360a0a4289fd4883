package ike

import "fmt"

// The engine's totals for operators: tunnels, tunnels up, IKE SAs and Child SAs by state. The
// status command and the metrics read them several times a second; with 100,000 tunnels a
// walk over every tunnel and SA on the loop would hold up IKE for all of them each time, so
// the totals are kept as things change and reading them costs O(1).
//
// Where each total is kept:
//   - Tunnels: the size of the tunnel table.
//   - IKE SAs: counted from AddIKE, moved between states in SetIKEState (every change of an
//     IKE SA's state goes through it) and uncounted when it moves to IKEDead, which is when
//     RemoveIKE takes the SA out of the table.
//   - Child SAs: counted when installed (InstallChild), uncounted when removed (RemoveChild).
//     The protocols set a Child SA's other states (rekeying, rekeyed, deleting) themselves, on
//     the way through an exchange; the core sees every Child SA that may leave the installed
//     state (RekeyChildWithin, DeleteChild, and the SA a new one replaces in ChildUp) and keeps
//     it in a small set of unsettled SAs until it is installed again or removed. Reading the
//     totals brings the counts of those few up to date.
//   - Tunnels up: whether a tunnel is up (Tunnel.State) depends on its IKE SA, that SA's state
//     and its Child SA. It is re-evaluated wherever one of them changes: in SetIKEState, in
//     SwitchOutbound and RemoveChild, and on the IKEUp, IKEDown, ChildUp and ChildDown events,
//     which follow every change of a tunnel's IKE SA or Child SA (countingHooks).
//
// Recount walks everything and is what the tests compare the totals with.

// Counts are the engine's totals.
type Counts struct {
	Tunnels   int
	TunnelsUp int
	// IKE counts the IKE SAs by state (index: IKEState; 0 is an SA whose protocol has not set
	// one yet). IKE[IKEDead] is always 0: dead SAs are gone.
	IKE [IKEDead + 1]int
	// Child counts the Child SAs by state (index: ChildState). Child[ChildDeleted] is always 0.
	Child [ChildDeleted + 1]int
}

// IKESAs is the number of IKE SAs.
func (c Counts) IKESAs() int { return sum(c.IKE[:]) }

// ChildSAs is the number of Child SAs.
func (c Counts) ChildSAs() int { return sum(c.Child[:]) }

func sum(ns []int) int {
	t := 0
	for _, n := range ns {
		t += n
	}
	return t
}

// counts is the engine's running part of Counts.
type counts struct {
	tunnelsUp int
	ike       [IKEDead + 1]int
	child     [ChildDeleted + 1]int
	// unsettled holds the counted Child SAs that may not be in the state they are counted in.
	unsettled map[*ChildSA]struct{}
	// verify: compare with a recount after every event (VerifyCounts); wrong is the first
	// difference found, after that many events.
	verify bool
	wrong  error
	events int
}

// Counts returns the engine's totals (loop only). The cost is O(1) plus the Child SAs whose
// rekey or delete is under way or began since the last call.
func (e *Engine) Counts() Counts {
	e.settle()
	return Counts{Tunnels: len(e.tunnels), TunnelsUp: e.counts.tunnelsUp, IKE: e.counts.ike, Child: e.counts.child}
}

// Recount computes the totals by walking every tunnel and SA (loop only): for tests, and for
// comparing with Counts when in doubt. It costs O(tunnels + SAs).
func (e *Engine) Recount() Counts {
	var c Counts
	for _, t := range e.tunnels {
		c.Tunnels++
		if t.State() == TunnelUp {
			c.TunnelsUp++
		}
	}
	for _, sa := range e.ikeSAs {
		c.IKE[min(sa.State, IKEDead)]++
		for _, ch := range sa.children {
			c.Child[min(ch.State, ChildDeleted)]++
		}
	}
	return c
}

// CheckCounts compares Counts with Recount (loop only; for tests). After VerifyCounts it
// reports the first difference found after any event instead, if there was one.
func (e *Engine) CheckCounts() error {
	if e.counts.wrong != nil {
		return e.counts.wrong
	}
	if got, want := e.Counts(), e.Recount(); got != want {
		return fmt.Errorf("engine counts %+v, a recount finds %+v", got, want)
	}
	return nil
}

// VerifyCounts makes the engine compare Counts with Recount after every event, at
// O(tunnels + SAs) each: for tests, which read the first difference with CheckCounts. Call it
// before Run.
func (e *Engine) VerifyCounts() { e.counts.verify = true }

// verifyCounts records the first difference between Counts and Recount (VerifyCounts).
func (e *Engine) verifyCounts() {
	if e.counts.wrong == nil {
		if err := e.CheckCounts(); err != nil {
			e.counts.wrong = fmt.Errorf("after event %d: %w", e.counts.events, err)
		}
	}
	e.counts.events++
}

// countIKE counts sa once it is in the table of IKE SAs (AddIKE).
func (e *Engine) countIKE(sa *IKESA) {
	if sa.counted || sa.State == IKEDead {
		return
	}
	sa.counted, sa.countedAs = true, sa.State
	e.counts.ike[sa.State]++
}

// recountIKE moves sa's count to state st; IKEDead uncounts it (SetIKEState). It looks at the
// state sa is counted in, not sa.State: a protocol may have set sa.State itself just before
// (an SA established while it was being deleted is deleted at once).
func (e *Engine) recountIKE(sa *IKESA, st IKEState) {
	if !sa.counted {
		return
	}
	e.counts.ike[sa.countedAs]--
	if st == IKEDead {
		sa.counted = false
		return
	}
	sa.countedAs = st
	e.counts.ike[st]++
}

// countChild counts c, just installed.
func (e *Engine) countChild(c *ChildSA) {
	if c.countedAs != 0 {
		return
	}
	c.countedAs = c.State
	e.counts.child[c.State]++
}

// uncountChild forgets c, being removed.
func (e *Engine) uncountChild(c *ChildSA) {
	if c.countedAs == 0 {
		return
	}
	e.counts.child[c.countedAs]--
	c.countedAs = 0
	delete(e.counts.unsettled, c)
}

// unsettle notes that c's state may change without the core seeing it: a protocol is about to
// rekey or delete it, or has just replaced it.
func (e *Engine) unsettle(c *ChildSA) {
	if c == nil || c.countedAs == 0 {
		return
	}
	if e.counts.unsettled == nil {
		e.counts.unsettled = map[*ChildSA]struct{}{}
	}
	e.counts.unsettled[c] = struct{}{}
}

// settle brings the counts of the unsettled Child SAs up to date; those installed (again) are
// settled.
func (e *Engine) settle() {
	for c := range e.counts.unsettled {
		if c.countedAs == 0 {
			delete(e.counts.unsettled, c)
			continue
		}
		if st := min(c.State, ChildDeleted); st != c.countedAs {
			e.counts.child[c.countedAs]--
			e.counts.child[st]++
			c.countedAs = st
		}
		if c.State == ChildInstalled {
			delete(e.counts.unsettled, c)
		}
	}
}

// noteTunnel re-evaluates whether t counts as up. A tunnel removed from the configuration no
// longer counts (uncountTunnel).
func (e *Engine) noteTunnel(t *Tunnel) {
	if t == nil || t.removed {
		return
	}
	if up := t.State() == TunnelUp; up != t.countedUp {
		t.countedUp = up
		if up {
			e.counts.tunnelsUp++
		} else {
			e.counts.tunnelsUp--
		}
	}
}

// uncountTunnel forgets t, removed from the configuration.
func (e *Engine) uncountTunnel(t *Tunnel) {
	if t.countedUp {
		t.countedUp = false
		e.counts.tunnelsUp--
	}
}

// countingHooks pass the engine's events on to the gateway's hooks after updating the counts:
// IKEUp, IKEDown, ChildUp and ChildDown follow every change of a tunnel's IKE SA or Child SA,
// also those the protocols make themselves.
type countingHooks struct {
	Hooks
	e *Engine
}

func (h countingHooks) IKEUp(sa *IKESA) {
	h.e.noteTunnel(sa.Tunnel)
	h.Hooks.IKEUp(sa)
}

func (h countingHooks) IKEDown(sa *IKESA, err error) {
	h.e.noteTunnel(sa.Tunnel)
	h.Hooks.IKEDown(sa, err)
}

func (h countingHooks) ChildUp(c, old *ChildSA) {
	h.e.noteTunnel(c.Tunnel)
	h.e.unsettle(old) // the protocol marks it rekeyed next
	h.Hooks.ChildUp(c, old)
}

func (h countingHooks) ChildDown(c *ChildSA, err error) {
	h.e.noteTunnel(c.Tunnel)
	h.Hooks.ChildDown(c, err)
}
