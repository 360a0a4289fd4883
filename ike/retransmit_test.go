package ike

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestRetransmissionSchedule: the back-off both versions use, its cap, and the two ways a
// request runs out (tries, budget).
func TestRetransmissionSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := New(Config{RetransmitTimeout: 500 * time.Millisecond, RetransmitBase: 2, RetransmitTries: 4, RetransmitMax: 3 * time.Second}, nil, nil, nil)
		sa := &IKESA{Tunnel: &Tunnel{Cfg: &TunnelConfig{Name: "t", DPDTimeout: time.Minute}}}
		r := e.StartRetransmission(0)
		var got []time.Duration
		for {
			got = append(got, r.Timeout)
			time.Sleep(r.Timeout)
			if !e.NextRetransmission(sa, &r, "TEST") {
				break
			}
		}
		want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}
		if len(got) != len(want) {
			t.Fatalf("timeouts %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("timeouts %v, want %v", got, want)
			}
		}
		if s := e.Stats(); s.Retransmits != 4 || s.ExchangeTimeouts != 1 {
			t.Errorf("stats %+v", s)
		}

		// A budget of 2 s: the first timeout is a quarter of it, and the last one ends at it.
		r = e.StartRetransmission(2 * time.Second)
		start := time.Now()
		if r.Timeout != 500*time.Millisecond {
			t.Errorf("first timeout %v with a 2 s budget", r.Timeout)
		}
		for {
			time.Sleep(r.Timeout)
			if !e.NextRetransmission(sa, &r, "TEST") {
				break
			}
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("gave up after %v, want the 2 s budget", d)
		}
	})
}
