package gateway

import (
	"net/netip"
	"sync/atomic"

	"github.com/vigil-ipsec/vigil/ike"
)

// ikeInput carries received IKE messages from the dataplane to the engine. The dataplane has
// to exist before the engine (the engine is built with the dataplane it sends through), and
// the dataplane takes its IKE handler when it is opened, so the engine is attached to the
// handler afterwards. A message that arrives before that is dropped, as if lost on the way:
// the peer retransmits it.
type ikeInput struct {
	engine atomic.Pointer[ike.Engine]
}

// handle is the dataplane's IKE handler.
func (in *ikeInput) handle(local, remote netip.AddrPort, msg []byte) {
	if e := in.engine.Load(); e != nil {
		e.HandlePacket(local, remote, msg)
	}
}

// attach starts delivering messages to e.
func (in *ikeInput) attach(e *ike.Engine) { in.engine.Store(e) }
