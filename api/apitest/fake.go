package apitest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-ipsec/vigil/api"
)

// Epoch is the fixed "now" of the fake's data: 2026-03-01 12:00:00 UTC.
var Epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Fake is an in-memory api.Backend. Its exported fields may be changed before serving it; once
// served, use its methods (they lock).
type Fake struct {
	mu sync.Mutex

	StatusInfo  api.Status
	TunnelList  []api.Tunnel
	IKESAList   []api.IKESA
	EventLog    []api.Event
	ReloadRes   api.ReloadResult
	ReloadErr   error // returned by Reload if set
	LogLevel    string
	Calls       []string // mutating calls in order, e.g. "up site-a", "delete 0xc1000001 notify=false", "rekey-child 0xc1000001", "rekey-ike site-a"
	subscribers map[int]subscriber
	nextSub     int
	subChanged  chan struct{} // closed and replaced whenever subscribers change
}

type subscriber struct {
	tunnel string
	ch     chan api.Event
}

// NewFake returns a Fake with two tunnels ("site-a" up with one IKE SA and two Child SAs,
// "site-b" down), and a short event history; all times derive from Epoch.
func NewFake() *Fake {
	protected := true
	unprotected := false
	f := &Fake{
		StatusInfo: api.Status{
			Version: "0.1.0", PID: 4242, Started: Epoch.Add(-90 * time.Minute),
			Uptime: api.Duration(90 * time.Minute), ConfigFile: "/etc/vigil/vigil.toml",
			Tunnels: 2, TunnelsUp: 1, IKESAs: 1, ChildSAs: 2, LogLevel: "info", Healthy: true,
		},
		TunnelList: []api.Tunnel{
			{
				Name: "site-a", State: api.StateUp, Version: 2,
				Local: "192.0.2.1", Remote: "198.51.100.2", LocalID: "gw-a.example.net", RemoteID: "gw-b.example.net",
				LocalTS: []string{"10.1.0.0/16"}, RemoteTS: []string{"10.2.0.0/16", "10.3.0.0/16"},
				StartAction: "start", IKESAs: 1, ChildSAs: 2,
				Since: Epoch.Add(-62 * time.Minute), LastEvent: "recovered",
			},
			{
				Name: "site-b", State: api.StateDown, Version: 2,
				Local: "192.0.2.1", Remote: "203.0.113.7", LocalID: "192.0.2.1", RemoteID: "203.0.113.7",
				LocalTS: []string{"10.1.0.0/16"}, RemoteTS: []string{"10.9.0.0/24"},
				StartAction: "trap", Since: Epoch.Add(-90 * time.Minute),
			},
		},
		IKESAList: []api.IKESA{{
			ID: 7, Tunnel: "site-a", SPIi: "1a2b3c4d5e6f7081", SPIr: "8091a2b3c4d5e6f7", Initiator: true,
			State: "ESTABLISHED", Local: "192.0.2.1", Remote: "198.51.100.2",
			Algorithms:  "AES_GCM_16_256/PRF_HMAC_SHA2_256/ECP_256",
			Established: Epoch.Add(-62 * time.Minute), Age: api.Duration(62 * time.Minute),
			RekeyIn: api.Duration(3*time.Hour + 12*time.Minute + 5*time.Second),
			Children: []api.ChildSA{
				{
					ID: 12, Tunnel: "site-a", IKESA: 7, SPIIn: 0xc1000001, SPIOut: 0x0badf00d, State: "INSTALLED",
					Algorithms: "AES_GCM_16_256", Encap: "udp",
					LocalTS: []string{"10.1.0.0/16"}, RemoteTS: []string{"10.2.0.0/16"},
					Established: Epoch.Add(-12 * time.Minute), Age: api.Duration(12 * time.Minute),
					RekeyIn: api.Duration(45 * time.Second),
					BytesIn: 1536000, BytesOut: 524288, PacketsIn: 1200, PacketsOut: 480,
					LastIn: Epoch.Add(-1500 * time.Millisecond), LastOut: Epoch.Add(-250 * time.Millisecond),
				},
				{
					ID: 13, Tunnel: "site-a", IKESA: 7, SPIIn: 0xc1000002, SPIOut: 0x00004321, State: "INSTALLED",
					Algorithms: "AES_GCM_16_256", Encap: "udp",
					LocalTS: []string{"10.1.0.0/16"}, RemoteTS: []string{"10.3.0.0/16"},
					Established: Epoch.Add(-3 * time.Second), Age: api.Duration(3 * time.Second),
					RekeyIn: api.Duration(58*time.Minute + 30*time.Second),
				},
			},
		}},
		EventLog: []api.Event{
			{Seq: 1, Time: Epoch.Add(-62 * time.Minute), Tunnel: "site-a", Kind: "up", Cause: "start",
				Peer: "198.51.100.2", Message: "IKE SA 7 established"},
			{Seq: 2, Time: Epoch.Add(-10*time.Second + 123*time.Millisecond), Tunnel: "site-a", Kind: "detect",
				Cause: "invalid-spi", Peer: "198.51.100.2", SPI: 0xc0ffee01, Protected: &protected,
				Message: "INVALID_SPI notify for a Child SA we deleted"},
			{Seq: 3, Time: Epoch.Add(-10*time.Second + 125*time.Millisecond), Tunnel: "site-a", Kind: "action",
				Cause: "invalid-spi", Peer: "198.51.100.2", SPI: 0xc0ffee01, Message: "re-creating Child SA"},
			{Seq: 4, Time: Epoch.Add(-10*time.Second + 389*time.Millisecond), Tunnel: "site-a", Kind: "recovered",
				Cause: "invalid-spi", Peer: "198.51.100.2", OutageMS: 264.5, Message: "Child SA 13 installed"},
			{Seq: 5, Time: Epoch.Add(-2 * time.Second), Tunnel: "site-b", Kind: "detect", Cause: "dpd",
				Peer: "203.0.113.7", Protected: &unprotected, Message: "no answer to 3 DPD probes"},
		},
		ReloadRes: api.ReloadResult{
			Added: []string{"site-c"}, Changed: []string{"site-b"}, Unchanged: []string{"site-a"},
		},
		LogLevel:    "info",
		subscribers: map[int]subscriber{},
		subChanged:  make(chan struct{}),
	}
	return f
}

// Status implements api.Backend.
func (f *Fake) Status() api.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.StatusInfo
	st.LogLevel = f.LogLevel
	return st
}

// Tunnels implements api.Backend.
func (f *Fake) Tunnels() []api.Tunnel {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.TunnelList)
}

// Tunnel implements api.Backend.
func (f *Fake) Tunnel(name string) (api.Tunnel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tunnel(name)
}

func (f *Fake) tunnel(name string) (api.Tunnel, error) {
	for _, t := range f.TunnelList {
		if t.Name == name {
			return t, nil
		}
	}
	return api.Tunnel{}, fmt.Errorf("tunnel %q: %w", name, api.ErrNotFound)
}

// TunnelUp implements api.Backend: a down tunnel becomes "connecting"; an up one is a conflict.
func (f *Fake) TunnelUp(name string) error {
	return f.setState(name, "up", api.StateConnecting)
}

// TunnelDown implements api.Backend: the tunnel becomes "down"; a down one is a conflict.
func (f *Fake) TunnelDown(name string) error {
	return f.setState(name, "down", api.StateDown)
}

func (f *Fake) setState(name, verb, state string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.TunnelList {
		t := &f.TunnelList[i]
		if t.Name != name {
			continue
		}
		if (verb == "up" && t.State != api.StateDown) || (verb == "down" && t.State == api.StateDown) {
			return fmt.Errorf("tunnel %q is already %s: %w", name, t.State, api.ErrConflict)
		}
		f.Calls = append(f.Calls, verb+" "+name)
		t.State = state
		return nil
	}
	return fmt.Errorf("tunnel %q: %w", name, api.ErrNotFound)
}

// SAs implements api.Backend.
func (f *Fake) SAs(tunnel string) []api.IKESA {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []api.IKESA
	for _, sa := range f.IKESAList {
		if tunnel == "" || sa.Tunnel == tunnel {
			sa.Children = slices.Clone(sa.Children)
			out = append(out, sa)
		}
	}
	return out
}

// findChild returns the position of the Child SA with spi (either direction), of tunnel
// unless it is "": ErrNotFound if there is none, ErrConflict if there are several (the
// gateway's message lists them; the fake's only counts them). Call with f.mu held.
func (f *Fake) findChild(spi api.SPI, tunnel string) (i, j int, err error) {
	if tunnel != "" {
		if _, err := f.tunnel(tunnel); err != nil {
			return 0, 0, err
		}
	}
	n := 0
	for si, sa := range f.IKESAList {
		for ci, c := range sa.Children {
			if (c.SPIIn == spi || c.SPIOut == spi) && (tunnel == "" || c.Tunnel == tunnel) {
				i, j = si, ci
				n++
			}
		}
	}
	switch {
	case n == 0:
		return 0, 0, fmt.Errorf("no Child SA with spi %s: %w", spi, api.ErrNotFound)
	case n > 1:
		return 0, 0, fmt.Errorf("%w: SPI %s is ambiguous: it names %d Child SAs", api.ErrConflict, spi, n)
	}
	return i, j, nil
}

// ChildSA implements api.Backend.
func (f *Fake) ChildSA(spi api.SPI, tunnel string) (api.ChildSA, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, j, err := f.findChild(spi, tunnel)
	if err != nil {
		return api.ChildSA{}, err
	}
	return f.IKESAList[i].Children[j], nil
}

// DeleteChildSA implements api.Backend; the tunnel's start action "start" is reported as a
// "restart" action.
func (f *Fake) DeleteChildSA(spi api.SPI, tunnel string, notify bool) (api.DeleteResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, j, err := f.findChild(spi, tunnel)
	if err != nil {
		return api.DeleteResult{}, err
	}
	sa := &f.IKESAList[i]
	c := sa.Children[j]
	sa.Children = slices.Delete(sa.Children, j, j+1)
	f.Calls = append(f.Calls, fmt.Sprintf("delete %s notify=%t", spi, notify))
	action := "none"
	if t, err := f.tunnel(c.Tunnel); err == nil && t.StartAction == "start" {
		action = "restart"
	}
	return api.DeleteResult{Tunnel: c.Tunnel, SPIIn: c.SPIIn, SPIOut: c.SPIOut, Notified: notify, Action: action}, nil
}

// RekeyChildSA implements api.Backend: a Child SA that is not "installed" (any case) is a
// conflict. The fake's SAs are left as they are.
func (f *Fake) RekeyChildSA(spi api.SPI, tunnel string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, j, err := f.findChild(spi, tunnel)
	if err != nil {
		return err
	}
	if c := f.IKESAList[i].Children[j]; !strings.EqualFold(c.State, "installed") {
		return fmt.Errorf("Child SA %s is %s, not installed: %w", spi, c.State, api.ErrConflict)
	}
	f.Calls = append(f.Calls, "rekey-child "+spi.String())
	return nil
}

// RekeyIKESA implements api.Backend: a tunnel without an "established" (any case) IKE SA is a
// conflict. The fake's SAs are left as they are.
func (f *Fake) RekeyIKESA(tunnel string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.tunnel(tunnel); err != nil {
		return err
	}
	for _, sa := range f.IKESAList {
		if sa.Tunnel == tunnel && strings.EqualFold(sa.State, "established") {
			f.Calls = append(f.Calls, "rekey-ike "+tunnel)
			return nil
		}
	}
	return fmt.Errorf("tunnel %q has no established IKE SA: %w", tunnel, api.ErrConflict)
}

// Events implements api.Backend.
func (f *Fake) Events(tunnel string, since uint64) []api.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []api.Event
	for _, ev := range f.EventLog {
		if ev.Seq > since && (tunnel == "" || ev.Tunnel == tunnel) {
			out = append(out, ev)
		}
	}
	return out
}

// Subscribe implements api.Backend.
func (f *Fake) Subscribe(ctx context.Context, tunnel string) <-chan api.Event {
	ch := make(chan api.Event, 16)
	f.mu.Lock()
	id := f.nextSub
	f.nextSub++
	f.subscribers[id] = subscriber{tunnel: tunnel, ch: ch}
	f.notifySubsLocked()
	f.mu.Unlock()
	context.AfterFunc(ctx, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.subscribers, id)
		close(ch)
		f.notifySubsLocked()
	})
	return ch
}

func (f *Fake) notifySubsLocked() {
	close(f.subChanged)
	f.subChanged = make(chan struct{})
}

// Publish appends ev to the log (numbering it if ev.Seq is 0) and delivers it to subscribers.
// It returns the event as stored.
func (f *Fake) Publish(ev api.Event) api.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ev.Seq == 0 {
		ev.Seq = uint64(len(f.EventLog)) + 1
		if n := len(f.EventLog); n > 0 {
			ev.Seq = f.EventLog[n-1].Seq + 1
		}
	}
	f.EventLog = append(f.EventLog, ev)
	for _, s := range f.subscribers {
		if s.tunnel == "" || s.tunnel == ev.Tunnel {
			select {
			case s.ch <- ev:
			default: // a stuck test subscriber must not block Publish
			}
		}
	}
	return ev
}

// Subscribers returns the number of live subscriptions.
func (f *Fake) Subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subscribers)
}

// WaitSubscribers blocks until there are exactly n live subscriptions or ctx ends.
func (f *Fake) WaitSubscribers(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		got, changed := len(f.subscribers), f.subChanged
		f.mu.Unlock()
		if got == n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d subscribers (have %d): %w", n, got, ctx.Err())
		}
	}
}

// Reload implements api.Backend.
func (f *Fake) Reload() (api.ReloadResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Calls = append(f.Calls, "reload")
	if f.ReloadErr != nil {
		return api.ReloadResult{}, f.ReloadErr
	}
	return f.ReloadRes, nil
}

// SetLogLevel implements api.Backend: debug, info, warn and error are accepted.
func (f *Fake) SetLogLevel(level string) error {
	switch strings.ToLower(level) {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("unknown log level %q (want debug, info, warn or error): %w", level, api.ErrBadRequest)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.LogLevel = strings.ToLower(level)
	f.Calls = append(f.Calls, "log-level "+f.LogLevel)
	return nil
}

// CallLog returns a copy of Calls.
func (f *Fake) CallLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.Calls)
}

var _ api.Backend = (*Fake)(nil)
