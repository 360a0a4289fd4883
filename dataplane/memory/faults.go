package memory

import "time"

// Fault injection for tests, beyond DropIKE (loss of chosen IKE messages) and
// Network.SetIKELatency.

// SetOffline cuts the dataplane off its network (true), as a pulled cable or a killed
// process would, or connects it again (false). While it is offline nothing it sends leaves
// (IKE messages and ESP packets are dropped and counted as IKEDrops and NoRoute), and nothing
// sent to it arrives, including IKE messages still on their way when it went offline. Its
// SAs, policies and handler are kept: the control plane above it sees only silence.
//
// To simulate a restart, take the old dataplane offline and attach a new one on the same
// addresses: the network delivers to the newest dataplane listening on an address, and the
// offline one can send nothing any more.
func (d *Dataplane) SetOffline(offline bool) { d.offline.Store(offline) }

// Offline reports whether the dataplane is cut off its network.
func (d *Dataplane) Offline() bool { return d.offline.Load() }

// wait blocks until at (a message's delivery time), or returns false once the dataplane is
// closed. Messages queue in order behind the one waiting: with one fixed latency for the
// whole network they are delivered in order and on time.
func (d *Dataplane) wait(at time.Time) bool {
	delay := time.Until(at)
	if at.IsZero() || delay <= 0 {
		return true
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-d.done:
		return false
	}
}
