package ike

import "testing"

// TestLaterWithFullQueue: loop code (a hook) can schedule work with Later even when the loop's
// queue is full, where Do would block the loop on itself for ever.
func TestLaterWithFullQueue(t *testing.T) {
	e := New(Config{}, nil, nil, nil)
	ran := 0
	e.run(func() {
		for full := false; !full; {
			select {
			case e.loop <- func() {}:
			default:
				full = true
			}
		}
		e.Later(func() { ran++; e.Later(func() { ran++ }) })
	})
	if ran != 2 {
		t.Fatalf("later functions ran %d times, want 2", ran)
	}
}
