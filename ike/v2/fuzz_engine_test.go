package v2

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"testing/synctest"

	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ike/iketest"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// FuzzAuthenticatedRequest feeds the engine requests that pass every cryptographic check: the
// payloads come from the fuzzer, encrypted and authenticated with a real peer's IKE SA keys,
// so the handlers behind the SK payload (IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL) see
// arbitrary well-formed content from an authenticated peer. The engine must neither panic
// (run would count an internal error) nor lose the pair's other state in ways the content
// does not ask for.
func FuzzAuthenticatedRequest(f *testing.F) {
	seed := func(exch wire.ExchangeType, ps ...wire.Payload) {
		m := &wire.Message{Header: wire.Header{Version: 0x20, Exchange: exch}, Payloads: ps}
		raw := m.Append(nil)
		f.Add(byte(exch), raw[16:17], raw[28:])
	}
	spi := []byte{0, 0, 1, 0}
	seed(wire.ExchangeInformational, &wire.Notify{Type: wire.NotifyInvalidSPI, Data: spi})
	seed(wire.ExchangeInformational, &wire.Delete{Protocol: wire.ProtocolESP, SPIs: [][]byte{spi}})
	seed(wire.ExchangeInformational, &wire.Delete{Protocol: wire.ProtocolIKE})
	seed(wire.ExchangeCreateChildSA, &wire.Notify{Type: wire.NotifyRekeySA, Protocol: wire.ProtocolESP, SPI: spi},
		&wire.Nonce{Data: make([]byte, 32)})
	seed(wire.ExchangeIKEAuth, &wire.Notify{Type: wire.NotifyInitialContact})
	f.Fuzz(func(t *testing.T, exch byte, first []byte, body []byte) {
		if len(first) != 1 || len(body) > 4096 {
			return
		}
		hdr := make([]byte, 28, 28+len(body))
		hdr[16], hdr[17], hdr[18] = first[0], 0x20, exch
		binary.BigEndian.PutUint32(hdr[24:], uint32(28+len(body)))
		m, err := wire.ParseMessage(append(hdr, body...))
		if err != nil {
			return
		}
		synctest.Test(t, func(t *testing.T) {
			a, b, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos, Cfg: ike.Config{CookieThreshold: -1}})
			iketest.Up(t, a, b)
			var raw []byte
			a.E.Call(func() {
				sa := a.T.IKE
				raw = wire.AppendEncrypted(nil, header(sa, wire.ExchangeType(exch), v2of(sa).nextMsgID, false), m.Payloads, v2of(sa).out)
				v2of(sa).nextMsgID++
			})
			b.E.HandlePacket(netip.MustParseAddrPort("192.0.2.2:500"), netip.MustParseAddrPort("192.0.2.1:500"), raw)
			synctest.Wait()
			if s := b.Stats(); s.InternalErrors != 0 {
				t.Fatalf("internal error handling exchange %d with %d payloads", exch, len(m.Payloads))
			}
			// The engine still serves: a liveness check from B completes or fails cleanly.
			b.E.Call(func() {
				if b.T.IKE != nil && b.T.IKE.State == ike.IKEEstablished {
					b.E.Liveness(b.T.IKE, nil)
				}
			})
			synctest.Wait()
		})
	})
}
