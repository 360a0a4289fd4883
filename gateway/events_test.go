package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
)

func TestEventLog(t *testing.T) {
	l := newEventLog(4)
	ctx, cancel := context.WithCancel(context.Background())
	sub := l.subscribe(ctx, "a")
	for i := 0; i < 6; i++ {
		tun := "a"
		if i%2 == 1 {
			tun = "b"
		}
		l.add(api.Event{Tunnel: tun, Kind: "k"})
	}
	all := l.since("", 0)
	if len(all) != 4 || all[0].Seq != 3 || all[3].Seq != 6 {
		t.Fatalf("ring keeps %+v", all)
	}
	if got := l.since("a", 3); len(got) != 1 || got[0].Seq != 5 {
		t.Fatalf("since(a, 3) = %+v", got)
	}
	for _, want := range []uint64{1, 3, 5} {
		if ev := <-sub; ev.Seq != want || ev.Tunnel != "a" {
			t.Fatalf("subscriber got %+v, want seq %d", ev, want)
		}
	}
	cancel()
	for range sub { // closed after cancel
	}
}

func TestRoundOutage(t *testing.T) {
	for _, c := range []struct {
		in   time.Duration
		want string
	}{
		{512345 * time.Nanosecond, "512µs"},
		{2077123 * time.Nanosecond, "2.08ms"},
		{3021 * time.Millisecond, "3.021s"},
	} {
		if got := roundOutage(c.in).String(); got != c.want {
			t.Errorf("roundOutage(%v) = %s, want %s", c.in, got, c.want)
		}
	}
}
