package v2

import (
	"github.com/vigil-ipsec/vigil/ike"
)

// protos gives the test engines IKEv2.
var protos = []func(*ike.Engine) ike.Protocol{New}
