package v2

import (
	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// wireTS encodes selectors as IKEv2 traffic selectors.
func wireTS(ss []ike.Selector) []wire.TrafficSelector {
	out := make([]wire.TrafficSelector, len(ss))
	for i, s := range ss {
		t := wire.TSIPv4AddrRange
		if s.StartAddr.Is6() {
			t = wire.TSIPv6AddrRange
		}
		out[i] = wire.TrafficSelector{Type: t, IPProtocol: s.Proto, StartPort: s.StartPort, EndPort: s.EndPort, StartAddr: s.StartAddr, EndAddr: s.EndAddr}
	}
	return out
}

// fromWireTS decodes IKEv2 traffic selectors; the wire codec has checked that both addresses
// are of the family the selector's type names.
func fromWireTS(ws []wire.TrafficSelector) []ike.Selector {
	out := make([]ike.Selector, len(ws))
	for i, t := range ws {
		out[i] = ike.Selector{Proto: t.IPProtocol, StartPort: t.StartPort, EndPort: t.EndPort, StartAddr: t.StartAddr, EndAddr: t.EndAddr}
	}
	return out
}
