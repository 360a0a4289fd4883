package sad

import (
	"errors"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// TestWatchSA: a watched SA raises one EventActive with its next packet and none after it;
// a watch asked with a since older than the SA's last packet reports it active at once and
// raises nothing; unknown SAs are an error.
func TestWatchSA(t *testing.T) {
	db := newDB(t, nil)
	if err := db.AddSA(outSA(0x1000, 0, 0)); err != nil {
		t.Fatal(err)
	}
	sa := db.OutSA(1)
	ref := dataplane.OutSA(1, 0x1000)
	var tl Tally
	pkt := udp("10.1.0.1", "10.2.0.1", 1, 2)
	noEvent := func(what string) {
		t.Helper()
		select {
		case ev := <-db.Events():
			t.Fatalf("%s: unexpected event %+v", what, ev)
		case <-time.After(20 * time.Millisecond): // the event pump delivers within microseconds
		}
	}

	if active, err := db.WatchSA(ref, time.Time{}); err != nil || active {
		t.Fatalf("WatchSA on an unused SA = %v, %v; want a watch", active, err)
	}
	noEvent("watched, no packet")
	for i := range 3 {
		if _, d := sa.Seal(nil, pkt, int64(100+i), &tl); d != DropNone {
			t.Fatal(d)
		}
	}
	ev := <-db.Events()
	if ev.Kind != dataplane.EventActive || ev.Child != 1 || ev.SPI != 0x1000 || ev.Dir != dataplane.Out {
		t.Fatalf("event %+v, want EventActive of child 1", ev)
	}
	noEvent("second and third packet")

	// A packet after since: active at once, no watch left behind.
	if active, err := db.WatchSA(ref, time.Unix(0, 101)); err != nil || !active {
		t.Fatalf("WatchSA with an older since = %v, %v; want active", active, err)
	}
	if _, d := sa.Seal(nil, pkt, 200, &tl); d != DropNone {
		t.Fatal(d)
	}
	noEvent("after an immediate active answer")

	if _, err := db.WatchSA(dataplane.OutSA(9, 0), time.Time{}); !errors.Is(err, dataplane.ErrNotFound) {
		t.Fatalf("WatchSA on an unknown SA: %v", err)
	}
	if _, err := db.WatchSA(dataplane.InSA(0x4242), time.Time{}); !errors.Is(err, dataplane.ErrNotFound) {
		t.Fatalf("WatchSA on an unknown inbound SA: %v", err)
	}
}
