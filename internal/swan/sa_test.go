package swan

import (
	"testing"
	"time"

	"github.com/strongswan/govici/vici"
)

func msg(t testing.TB, kv map[string]any) *vici.Message {
	t.Helper()
	m := vici.NewMessage()
	for k, v := range kv {
		if err := m.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func childMsg(t testing.TB, uid, spiIn, spiOut string) *vici.Message {
	return msg(t, map[string]any{
		"name": "s2s", "uniqueid": uid, "reqid": "1", "state": "INSTALLED", "mode": "TUNNEL",
		"protocol": "ESP", "encap": "yes", "spi-in": spiIn, "spi-out": spiOut,
		"encr-alg": "AES_GCM_16", "encr-keysize": "128", "bytes-in": "84", "packets-in": "1",
		"bytes-out": "168", "packets-out": "2", "install-time": "7",
		"local-ts": []string{"10.1.0.0/24"}, "remote-ts": []string{"10.2.0.0/24"},
	})
}

func TestParseSAs(t *testing.T) {
	children := vici.NewMessage()
	children.Set("s2s-9", childMsg(t, "9", "c2f3f700", "fb950a75"))
	children.Set("s2s-3", childMsg(t, "3", "00000001", "ffffffff"))
	ike := msg(t, map[string]any{
		"uniqueid": "4", "version": "2", "state": "ESTABLISHED", "local-host": "192.0.2.2",
		"local-port": "4500", "local-id": "192.0.2.2", "remote-host": "192.0.2.1", "remote-port": "4500",
		"remote-id": "192.0.2.1", "initiator-spi": "8a1b2c3d4e5f6071", "responder-spi": "0102030405060708",
		"nat-any": "yes", "encr-alg": "AES_GCM_16", "encr-keysize": "128", "prf-alg": "PRF_HMAC_SHA2_256",
		"dh-group": "CURVE_25519", "established": "12", "child-sas": children,
	})
	ev := msg(t, map[string]any{"up": "yes", "s2s": ike})
	sas, err := parseSAs(ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(sas) != 1 {
		t.Fatalf("got %d SAs", len(sas))
	}
	sa := sas[0]
	if sa.Name != "s2s" || sa.UniqueID != 4 || sa.Version != 2 || sa.Initiator || sa.LocalPort != 4500 ||
		sa.LocalSPI != "0102030405060708" || sa.RemoteSPI != "8a1b2c3d4e5f6071" || !sa.NATAny ||
		sa.EncrKeySize != 128 || sa.DHGroup != "CURVE_25519" || sa.Established != 12*time.Second {
		t.Errorf("IKE SA: %+v", sa)
	}
	if len(sa.Children) != 2 || sa.Children[0].UniqueID != 3 || sa.Children[1].UniqueID != 9 {
		t.Fatalf("children not ordered: %+v", sa.Children)
	}
	c := sa.Children[1]
	if c.SPIIn != 0xc2f3f700 || c.SPIOut != 0xfb950a75 || !c.Encap || c.PacketsOut != 2 || c.BytesIn != 84 ||
		c.InstallTime != 7*time.Second || len(c.RemoteTS) != 1 || c.RemoteTS[0] != "10.2.0.0/24" || c.ESN {
		t.Errorf("CHILD_SA: %+v", c)
	}
	if sa.Children[0].SPIOut != 0xffffffff {
		t.Errorf("SPI ffffffff parsed as %x", sa.Children[0].SPIOut)
	}

	// Initiator side swaps local and remote SPIs.
	ike.Set("initiator", "yes")
	sas, err = parseSAs(ev)
	if err != nil || sas[0].LocalSPI != "8a1b2c3d4e5f6071" || !sas[0].Initiator {
		t.Errorf("initiator: %+v, %v", sas, err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    *vici.Message
	}{
		{"bad uniqueid", msg(t, map[string]any{"s": msg(t, map[string]any{"uniqueid": "x"})})},
		{"port overflow", msg(t, map[string]any{"s": msg(t, map[string]any{"local-port": "70000"})})},
		{"bad spi", msg(t, map[string]any{"s": msg(t, map[string]any{
			"child-sas": msg(t, map[string]any{"c-1": msg(t, map[string]any{"spi-in": "1ffffffff"})})})})},
		{"child not a section", msg(t, map[string]any{"s": msg(t, map[string]any{
			"child-sas": msg(t, map[string]any{"c-1": "x"})})})},
	} {
		if _, err := parseSAs(tc.m); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestGone(t *testing.T) {
	sa := IKESA{State: "ESTABLISHED", Children: []ChildSA{{State: "DELETED"}, {State: "INSTALLED", UniqueID: 2}, {State: "DESTROYING"}}}
	if sa.Gone() || (IKESA{State: "DELETING"}).Gone() == false {
		t.Error("IKESA.Gone")
	}
	if live := sa.LiveChildren(); len(live) != 1 || live[0].UniqueID != 2 {
		t.Errorf("LiveChildren = %+v", live)
	}
}

func FuzzParseIKESA(f *testing.F) {
	f.Add("4", "2", "4500", "c2f3f700", "12", "yes")
	f.Add("", "", "", "", "", "")
	f.Add("-1", "x", "99999", "1ffffffff", "18446744073709551616", "no")
	f.Fuzz(func(t *testing.T, uid, version, port, spi, count, flag string) {
		child := msg(t, map[string]any{"uniqueid": uid, "spi-in": spi, "spi-out": spi, "bytes-in": count,
			"install-time": count, "encap": flag, "local-ts": []string{spi}})
		children := msg(t, map[string]any{"c-" + uid: child, "odd": flag})
		ike := msg(t, map[string]any{"uniqueid": uid, "version": version, "local-port": port,
			"initiator": flag, "established": count, "child-sas": children})
		sas, err := parseSAs(msg(t, map[string]any{"up": flag, "s": ike}))
		if err == nil && len(sas) != 1 {
			t.Fatalf("parsed %d SAs without error", len(sas))
		}
	})
}
