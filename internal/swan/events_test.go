package swan

import (
	"testing"

	"github.com/strongswan/govici/vici"
)

func TestEventHub(t *testing.T) {
	h := newEventHub()
	in := make(chan vici.Event)
	done := make(chan struct{})
	go func() { h.run(in); close(done) }()

	all, err := h.subscribe(4)
	if err != nil {
		t.Fatal(err)
	}
	updown, err := h.subscribe(4, "child-updown")
	if err != nil {
		t.Fatal(err)
	}
	gone, err := h.subscribe(4)
	if err != nil {
		t.Fatal(err)
	}
	h.unsubscribe(gone)

	in <- vici.Event{Name: "ike-rekey"}
	in <- vici.Event{Name: "child-updown"}
	if ev := <-all.ch; ev.Name != "ike-rekey" {
		t.Errorf("all got %q first", ev.Name)
	}
	if ev := <-all.ch; ev.Name != "child-updown" {
		t.Errorf("all got %q second", ev.Name)
	}
	if ev := <-updown.ch; ev.Name != "child-updown" {
		t.Errorf("filtered waiter got %q", ev.Name)
	}
	// A full waiter does not block delivery to others.
	for range 10 {
		in <- vici.Event{Name: "child-updown"}
	}
	if n := len(updown.ch); n != 4 {
		t.Errorf("buffered %d events, want 4 (rest dropped)", n)
	}
	select {
	case <-gone.ch:
		t.Error("unsubscribed waiter got an event")
	default:
	}
	close(in)
	<-done
	for range all.ch {
	}
	if _, err := h.subscribe(1); err == nil {
		t.Error("subscribe after close succeeded")
	}
}
