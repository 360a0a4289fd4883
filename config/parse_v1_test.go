package config

import (
	"strings"
	"testing"
)

func TestIKEv1Proposals(t *testing.T) {
	base := "[tunnel.v1]\nversion = 1\nlocal_addr = \"192.0.2.1\"\nremote_addr = \"192.0.2.2\"\npsk = \"0123456789abcdef0123\"\nlocal_subnets = [\"10.1.0.0/16\"]\nremote_subnets = [\"10.2.0.0/16\"]\n"
	c, err := Parse("v1.toml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Tunnel("v1").IKEProposals; got != DefaultIKEv1Proposals {
		t.Errorf("IKEv1 default ike_proposals = %q", got)
	}
	_, err = Parse("v1.toml", []byte(base+"ike_proposals = \"aes128gcm16-prfsha256-x25519\"\n"))
	if err == nil || !strings.Contains(err.Error(), "v1.toml:8: tunnel.v1.ike_proposals: IKEv1 phase 1 has no AEAD ciphers") {
		t.Errorf("AEAD phase 1 proposal for IKEv1: %v", err)
	}
}
