package sad

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// sameIndex checks that two DBs hold the same policies: same tunnels, configurations,
// installation order, SAs (by Child SA) and Child SA lists.
func sameIndex(t *testing.T, a, b *DB) {
	t.Helper()
	pa, pb := a.Policies(), b.Policies()
	if len(pa) != len(pb) {
		t.Fatalf("%d policies, %d in the batched DB", len(pa), len(pb))
	}
	child := func(sa *OutSA) uint64 {
		if sa == nil {
			return 0
		}
		return sa.Config().ChildID
	}
	for i := range pa {
		x, y := pa[i], pb[i]
		if !reflect.DeepEqual(x.Config(), y.Config()) || x.seq != y.seq || child(x.SA()) != child(y.SA()) {
			t.Fatalf("policy %q: %+v seq %d sa %d, batched %+v seq %d sa %d",
				x.tunnel, x.Config(), x.seq, child(x.SA()), y.Config(), y.seq, child(y.SA()))
		}
	}
	if len(a.pols.byChild) != len(b.pols.byChild) {
		t.Fatalf("%d Child SAs indexed, %d in the batched DB", len(a.pols.byChild), len(b.pols.byChild))
	}
	for id, l := range a.pols.byChild {
		m := b.pols.byChild[id]
		if len(l) != len(m) {
			t.Fatalf("child %d: %d policies, %d in the batched DB", id, len(l), len(m))
		}
		for i := range l {
			if l[i].tunnel != m[i].tunnel {
				t.Fatalf("child %d: policy %d is %q, %q in the batched DB", id, i, l[i].tunnel, m[i].tunnel)
			}
		}
	}
}

func tunnelOf(p *Policy) string {
	if p == nil {
		return ""
	}
	return p.tunnel
}

// TestSetPoliciesLikeSetPolicy: batches of random, heavily overlapping policies (tunnels
// named several times in a batch, replaced from batch to batch, prefixes shared by many
// tunnels, some with outbound SAs) and batches of deletions give the same index as the same
// policies set and deleted one at a time: same policies, order and SAs, same answer for
// random flows, and both agree with the linear reference. A snapshot taken before a batch
// answers as before once the batch is published (the batch wrote only nodes it made).
func TestSetPoliciesLikeSetPolicy(t *testing.T) {
	for seed := range uint64(2) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			g := polGen{rand.New(rand.NewPCG(seed, 0xba7c))}
			one, batch := newDB(t, nil), newDB(t, nil)
			for child := uint64(1); child <= 25; child++ { // polGen uses children 0-49
				for _, db := range []*DB{one, batch} {
					if err := db.AddSA(outTo(child, uint32(0x1000+child), peerA, "sa")); err != nil {
						t.Fatal(err)
					}
				}
			}
			ref := newRef()
			const names = 1500
			flows := make([]Flow, 300)
			for round := range 15 {
				s0 := batch.pols.snap.Load()
				var before []string
				for i := range flows {
					flows[i] = g.flow()
					before = append(before, tunnelOf(batch.pols.lookupIn(s0, &flows[i])))
				}
				if round%5 == 4 {
					var del []string
					for name := range ref.pols {
						if g.r.IntN(3) == 0 {
							del = append(del, name)
						}
					}
					slices.Sort(del)
					g.r.Shuffle(len(del), func(i, j int) { del[i], del[j] = del[j], del[i] })
					for _, name := range del {
						if err := one.DeletePolicy(name); err != nil {
							t.Fatal(err)
						}
						delete(ref.pols, name)
					}
					if err := batch.DeletePolicies(del); err != nil {
						t.Fatal(err)
					}
				} else {
					ps := make([]dataplane.Policy, 1+g.r.IntN(600))
					for i := range ps {
						ps[i] = g.policy(fmt.Sprintf("t%d", g.r.IntN(names)))
						if err := one.SetPolicy(ps[i]); err != nil {
							t.Fatal(err)
						}
						ref.set(ps[i])
					}
					if err := batch.SetPolicies(ps); err != nil {
						t.Fatal(err)
					}
				}
				sameIndex(t, one, batch)
				checkIndexState(t, batch, ref)
				for i := range flows {
					if got := tunnelOf(batch.pols.lookupIn(s0, &flows[i])); got != before[i] {
						t.Fatalf("round %d: the snapshot before the batch changed: flow %d finds %q, found %q", round, i, got, before[i])
					}
				}
				for j := range 300 {
					f := g.flow()
					if j%3 == 0 { // the reference is slow: it scans all policies
						diffCheck(t, batch, ref, f)
					}
					if a, b := one.pols.lookup(&f), batch.pols.lookup(&f); tunnelOf(a) != tunnelOf(b) {
						t.Fatalf("round %d: %+v: %q one by one, %q batched", round, f, tunnelOf(a), tunnelOf(b))
					}
				}
			}
			var all []string
			for name := range ref.pols {
				all = append(all, name)
			}
			if err := batch.DeletePolicies(all); err != nil {
				t.Fatal(err)
			}
			s := batch.pols.snap.Load()
			if s.tunnels.len() != 0 || s.prefixes.len() != 0 || len(s.v4Lens)+len(s.v6Lens) != 0 || len(batch.pols.byChild) != 0 {
				t.Fatalf("after deleting all: %d tunnels, %d prefixes, lengths %v %v, %d children",
					s.tunnels.len(), s.prefixes.len(), s.v4Lens, s.v6Lens, len(batch.pols.byChild))
			}
		})
	}
}

type flushRec struct {
	child uint64
	pkts  [][]byte
}

// TestSetPoliciesHandsOverHeld: a batch that replaces a holding tunnel's policy, even twice,
// moves its packets along as the calls one by one do: to the last policy of the tunnel, which
// flushes them if it has an SA and holds them otherwise.
func TestSetPoliciesHandsOverHeld(t *testing.T) {
	local := []dataplane.Selector{rng("10.1.0.0", "10.1.0.255")}
	pol := func(name, remote string, child uint64) dataplane.Policy {
		return dataplane.Policy{Tunnel: name, LocalTS: local, RemoteTS: []dataplane.Selector{rng(remote+".0", remote+".255")}, OutChild: child}
	}
	var recs [2][]flushRec
	var dbs [2]*DB
	for i := range dbs {
		dbs[i] = newDB(t, func(sa *OutSA, pkts [][]byte) {
			recs[i] = append(recs[i], flushRec{sa.Config().ChildID, pkts})
		})
		db := dbs[i]
		for _, p := range []dataplane.Policy{pol("a", "10.2.0", 1), pol("b", "10.3.0", 2)} {
			if err := db.SetPolicy(p); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.AddSA(outTo(3, 0x3000, peerA, "a")); err != nil {
			t.Fatal(err)
		}
		var tl Tally
		for j := range 5 {
			dst := "10.2.0.9"
			if j >= 3 {
				dst = "10.3.0.9"
			}
			if _, d := db.Route(udp("10.1.0.1", dst, uint16(j), 53), 1, &tl); d != DropHeld {
				t.Fatalf("packet %d: %v, want held", j, d)
			}
		}
	}
	next := []dataplane.Policy{
		pol("a", "10.2.0", 0), // no SA: a's three packets wait here
		pol("c", "10.4.0", 3), // new
		pol("a", "10.2.0", 3), // SA 3: a's packets are flushed to it
		pol("b", "10.3.1", 4), // no SA 4 yet: b's two packets wait, under another prefix
		pol("c", "10.4.0", 0), // c replaced within the batch
		pol("d", "10.2.0", 3), // after a under the same prefix
		pol("b", "10.3.1", 4)} // same again
	for _, p := range next {
		if err := dbs[0].SetPolicy(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := dbs[1].SetPolicies(next); err != nil {
		t.Fatal(err)
	}
	sameIndex(t, dbs[0], dbs[1])
	for i, db := range dbs {
		if err := db.AddSA(outTo(4, 0x4000, peerA, "b")); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range recs[i] {
			var ports []uint16
			for _, p := range r.pkts {
				f, err := ParseFlow(p)
				if err != nil {
					t.Fatal(err)
				}
				ports = append(ports, f.SrcPort)
			}
			got = append(got, fmt.Sprint(r.child, ports))
		}
		if want := []string{"3 [0 1 2]", "4 [3 4]"}; !slices.Equal(got, want) {
			t.Errorf("DB %d (batched: %v): flushed %v, want %v", i, i == 1, got, want)
		}
		var tl Tally
		if sa, d := db.Route(udp("10.1.0.1", "10.2.0.9", 1, 53), 1, &tl); d != DropNone || sa.Config().ChildID != 3 {
			t.Errorf("DB %d: a packet to a: %v %v", i, sa, d)
		}
	}
}

// TestSetPoliciesAtomicOnError: a batch with an invalid policy installs nothing (the
// tunnels it would add or replace are as they were, with their held packets), and its error
// names the policy; a DeletePolicies naming an unknown tunnel, or one twice, removes nothing.
func TestSetPoliciesAtomicOnError(t *testing.T) {
	db := newDB(t, nil)
	local := []dataplane.Selector{rng("10.1.0.0", "10.1.0.255")}
	a := dataplane.Policy{Tunnel: "a", LocalTS: local, RemoteTS: []dataplane.Selector{rng("10.2.0.0", "10.2.0.255")}}
	if err := db.SetPolicy(a); err != nil {
		t.Fatal(err)
	}
	var tl Tally
	if _, d := db.Route(udp("10.1.0.1", "10.2.0.1", 1, 2), 1, &tl); d != DropHeld {
		t.Fatal(d)
	}
	pa, _ := db.Policy("a")
	snap := db.pols.snap.Load()
	bad := rng("10.3.0.9", "10.3.0.1")
	for _, tc := range []struct {
		ps   []dataplane.Policy
		want string
	}{
		{[]dataplane.Policy{
			{Tunnel: "b", LocalTS: local, RemoteTS: []dataplane.Selector{rng("10.3.0.0", "10.3.0.255")}},
			{Tunnel: "a", LocalTS: local, RemoteTS: []dataplane.Selector{rng("10.0.0.0", "10.255.255.255")}},
			{Tunnel: "c", LocalTS: local, RemoteTS: []dataplane.Selector{bad}},
		}, `policy 3 of 3: policy "c": selector range 10.3.0.9-10.3.0.1 is empty`},
		{[]dataplane.Policy{
			{Tunnel: "a", LocalTS: local, RemoteTS: []dataplane.Selector{rng("10.0.0.0", "10.255.255.255")}},
			{LocalTS: local, RemoteTS: local},
		}, "policy 2 of 2: policy without tunnel name"},
		{[]dataplane.Policy{{Tunnel: "d", LocalTS: local}}, `policy 1 of 1: policy "d": empty traffic selectors`},
	} {
		err := db.SetPolicies(tc.ps)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SetPolicies: error %v, want one saying %q", err, tc.want)
		}
		if db.pols.snap.Load() != snap || db.seq != 1 {
			t.Fatalf("a failed SetPolicies published a change (seq %d)", db.seq)
		}
		if p, _ := db.Policy("a"); p != pa || p.next != nil || p.q == nil || p.q.n != 1 {
			t.Fatalf("a failed SetPolicies touched tunnel a's policy")
		}
	}
	if err := db.SetPolicy(dataplane.Policy{Tunnel: "b", LocalTS: local, RemoteTS: local}); err != nil {
		t.Fatal(err)
	}
	snap = db.pols.snap.Load()
	for _, tc := range []struct {
		names []string
		want  string
	}{
		{[]string{"a", "b", "nope"}, `tunnel 3 of 3: policy "nope"`},
		{[]string{"b", "a", "b"}, `tunnel 3 of 3: policy "b"`},
	} {
		err := db.DeletePolicies(tc.names)
		if !errors.Is(err, dataplane.ErrNotFound) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DeletePolicies(%q): error %v, want ErrNotFound saying %q", tc.names, err, tc.want)
		}
		if db.pols.snap.Load() != snap || len(db.Policies()) != 2 {
			t.Fatalf("a failed DeletePolicies published a change")
		}
	}
	if err := db.SetPolicies(nil); err != nil || db.pols.snap.Load() != snap {
		t.Fatalf("empty SetPolicies: %v, published: %v", err, db.pols.snap.Load() != snap)
	}
	if err := db.DeletePolicies(nil); err != nil || db.pols.snap.Load() != snap {
		t.Fatalf("empty DeletePolicies: %v, published: %v", err, db.pols.snap.Load() != snap)
	}
	if err := db.DeletePolicies([]string{"b", "a"}); err != nil {
		t.Fatal(err)
	}
	if _, d := db.Route(udp("10.1.0.1", "10.2.0.1", 1, 2), 1, &tl); d != DropNoPolicy {
		t.Fatalf("after DeletePolicies: %v", d)
	}
	if pa.next == nil || pa.q != nil {
		t.Fatal("deleted policy not orphaned, or its queue kept")
	}
}

// TestSetPoliciesAllOrNothing: while batches of 200 tunnels are installed, replaced under
// other prefixes and deleted, readers see in every snapshot either none of a batch's
// tunnels or all of them, all from the same batch, under the prefixes of that batch and no
// others. Each batch waits until a reader has seen the previous one, so that the readers
// read while batches are being made. Run with -race to check the publication as well.
func TestSetPoliciesAllOrNothing(t *testing.T) {
	const n = 200
	db := newDB(t, nil)
	local := []dataplane.Selector{rng("172.16.0.0", "172.16.255.255")}
	// Generation gen files tunnel i under 10.<1 + gen%2>.<i>.0/24, with OutChild gen.
	gen := func(g uint64) []dataplane.Policy {
		ps := make([]dataplane.Policy, n)
		for i := range ps {
			pf := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(1 + g%2), byte(i), 0}), 24)
			ps[i] = dataplane.Policy{Tunnel: fmt.Sprint("b", i), LocalTS: local, OutChild: g,
				RemoteTS: []dataplane.Selector{rng(pf.Addr().String(), lastOf(pf).String())}}
		}
		return ps
	}
	var stop atomic.Bool
	var seen atomic.Uint64 // highest generation a reader has seen published (deletions count)
	var wg sync.WaitGroup
	errs := make(chan string, 2)
	for w := range 2 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for !stop.Load() {
				s := db.pols.snap.Load()
				var cur uint64
				switch s.tunnels.len() {
				case 0:
				case n:
					cur = db.pols.tunnelIn(s, "b0").outChild.Load()
				default:
					errs <- fmt.Sprintf("a snapshot with %d of %d tunnels", s.tunnels.len(), n)
					return
				}
				mixed := false
				s.tunnels.each(func(_ string, p *Policy) { mixed = mixed || p.outChild.Load() != cur })
				if mixed {
					errs <- fmt.Sprintf("a snapshot with tunnels of generation %d and others", cur)
					return
				}
				for range 20 {
					i := r.IntN(n)
					for half := uint64(0); half < 2; half++ {
						f := Flow{Src: netip.MustParseAddr("172.16.0.1"), Dst: netip.AddrFrom4([4]byte{10, byte(1 + half), byte(i), 9}), Proto: ProtoUDP}
						p := db.pols.lookupIn(s, &f)
						want := cur != 0 && cur%2 == half
						if want && (p == nil || p.tunnel != fmt.Sprint("b", i) || p.outChild.Load() != cur) || !want && p != nil {
							errs <- fmt.Sprintf("generation %d: %v finds %q (child %d)", cur, f.Dst, tunnelOf(p), p.outChild.Load())
							return
						}
					}
				}
				if cur > seen.Load() {
					seen.Store(cur)
				}
			}
		})
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprint("b", i)
	}
	const gens = 60
	for g := uint64(1); g <= gens; g++ {
		for seen.Load() < g-1 && len(errs) == 0 {
			runtime.Gosched()
		}
		if g%10 == 0 {
			if err := db.DeletePolicies(names); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.SetPolicies(gen(g)); err != nil {
			t.Fatal(err)
		}
	}
	for seen.Load() < gens && len(errs) == 0 {
		runtime.Gosched()
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// TestSwitchInPlace: a policy that changes only its outbound SA is switched in place: the
// index is not copied (no new snapshot), the packet path routes to the new SA at once, held
// packets go to it, and switching back to hold holds again. With 10,000 policies installed
// a switch allocates almost nothing (a copy of the index would be kilobytes).
func TestSwitchInPlace(t *testing.T) {
	var flushed []uint64
	db := newDB(t, func(sa *OutSA, pkts [][]byte) { flushed = append(flushed, sa.Config().ChildID) })
	local := []dataplane.Selector{rng("10.1.0.0", "10.1.0.255")}
	pol := func(i int, child uint64) dataplane.Policy {
		r := fmt.Sprintf("10.%d.%d.", 64+i>>8, i&255)
		// As the engine does: a tunnel without Child SA traps (start_action start or trap).
		return dataplane.Policy{Tunnel: fmt.Sprint("t", i), LocalTS: local, RemoteTS: []dataplane.Selector{rng(r+"0", r+"255")},
			OutChild: child, Trap: child == 0}
	}
	var ps []dataplane.Policy
	for i := range 10000 {
		ps = append(ps, pol(i, 0))
	}
	if err := db.SetPolicies(ps); err != nil {
		t.Fatal(err)
	}
	var tl Tally
	pkt := udp("10.1.0.1", "10.64.7.9", 1, 53) // tunnel t7
	if _, d := db.Route(pkt, 1, &tl); d != DropHeld {
		t.Fatalf("before the SA: %v, want held", d)
	}
	if err := db.AddSA(outTo(7, 0x7000, peerA, "t7")); err != nil {
		t.Fatal(err)
	}
	snap := db.pols.snap.Load()
	if err := db.SetPolicy(pol(7, 7)); err != nil {
		t.Fatal(err)
	}
	if db.pols.snap.Load() != snap {
		t.Error("switching the outbound SA published a new index")
	}
	if len(flushed) != 1 || flushed[0] != 7 {
		t.Errorf("held packet flushed to %v, want [7]", flushed)
	}
	if sa, d := db.Route(pkt, 1, &tl); d != DropNone || sa == nil || sa.Config().ChildID != 7 {
		t.Fatalf("after the switch: %v %v, want SA of child 7", sa, d)
	}
	if p, _ := db.Policy("t7"); p.Config().OutChild != 7 || p.Config().Trap {
		t.Errorf("policy says child %d, trap %v; want 7, false", p.Config().OutChild, p.Config().Trap)
	}
	if err := db.SetPolicy(pol(7, 0)); err != nil {
		t.Fatal(err)
	}
	if _, d := db.Route(pkt, 3e9, &tl); d != DropHeld {
		t.Fatalf("switched back: %v, want held", d)
	}
	// The policy traps again: this packet raises an acquire (the events of the first held
	// packet, at time 1, come first).
	for acquired := false; !acquired; {
		select {
		case ev := <-db.Events():
			acquired = ev.Kind == dataplane.EventAcquire && ev.Tunnel == "t7" && ev.Time.UnixNano() == 3e9
		case <-time.After(5 * time.Second):
			t.Fatal("no acquire: the policy switched back to hold does not trap")
		}
	}
	n := 0
	allocs := testing.AllocsPerRun(100, func() {
		n++
		if err := db.SetPolicy(pol(7, uint64(7*(n&1)))); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%.1f allocations per switch", allocs)
	if allocs > 10 {
		t.Errorf("%.0f allocations per switch, want a handful (the policy built to compare)", allocs)
	}
	// A change of selectors still makes a new policy and a new index.
	snap = db.pols.snap.Load()
	moved := pol(7, 7)
	moved.RemoteTS = []dataplane.Selector{rng("10.200.0.0", "10.200.0.255")}
	if err := db.SetPolicy(moved); err != nil {
		t.Fatal(err)
	}
	if db.pols.snap.Load() == snap {
		t.Error("a change of selectors did not publish a new index")
	}
	if _, d := db.Route(udp("10.1.0.1", "10.200.0.9", 1, 53), 1, &tl); d != DropNone {
		t.Errorf("moved policy: %v", d)
	}
}
