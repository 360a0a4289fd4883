package espsa

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/dataplane/sad"
	"github.com/vigil-ipsec/vigil/esp"
)

func TestClassify(t *testing.T) {
	p := Provider{}
	for _, tc := range []struct {
		err  error
		want sad.Drop
	}{
		{nil, sad.DropNone},
		{esp.ErrReplay, sad.DropReplay},
		{fmt.Errorf("x: %w", esp.ErrAuth), sad.DropAuth},
		{esp.ErrDummy, sad.DropDummy},
		{esp.ErrPadding, sad.DropPadding},
		{esp.ErrSeqExhausted, sad.DropSeqExhausted},
		{esp.ErrMalformed, sad.DropMalformed},
		{errors.New("other"), sad.DropMalformed},
	} {
		if got := p.Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestNewRoundTrip(t *testing.T) {
	c := dataplane.SAConfig{SPI: 0x1234, Dir: dataplane.Out, Encr: crypto.EncrAESGCM16, EncrKey: bytes.Repeat([]byte{1}, 20)}
	out, err := Provider{}.New(c)
	if err != nil {
		t.Fatal(err)
	}
	c.Dir, c.ReplayWindow = dataplane.In, 4096
	in, err := Provider{}.New(c)
	if err != nil {
		t.Fatal(err)
	}
	pkt, err := out.Seal(nil, []byte{0x45, 1, 2, 3}, 4)
	if err != nil {
		t.Fatal(err)
	}
	inner, nh, err := in.Open(nil, pkt)
	if err != nil || nh != 4 || !bytes.Equal(inner, []byte{0x45, 1, 2, 3}) {
		t.Fatalf("%x %d %v", inner, nh, err)
	}
	if _, err := (Provider{}).New(dataplane.SAConfig{SPI: 0x1234, Encr: 999}); err == nil {
		t.Fatal("bad transform accepted")
	}
}
