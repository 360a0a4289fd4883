package main

import (
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
)

func TestCurrentChild(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	child := func(id uint64, state string, est time.Time) api.ChildSA {
		return api.ChildSA{ID: id, Tunnel: "t", State: state, SPIIn: api.SPI(0x100 + id), Established: est}
	}
	ike := func(tunnel string, cs ...api.ChildSA) api.IKESA {
		return api.IKESA{Tunnel: tunnel, State: "established", Children: cs}
	}
	tests := []struct {
		name   string
		sas    []api.IKESA
		wantID uint64 // 0: none
	}{
		{"no SAs", nil, 0},
		{"one installed", []api.IKESA{ike("t", child(1, "installed", t0))}, 1},
		{"upper case state", []api.IKESA{ike("t", child(1, "INSTALLED", t0))}, 1},
		{"not installed", []api.IKESA{ike("t", child(1, "rekeying", t0), child(2, "deleting", t0))}, 0},
		{"newest of two", []api.IKESA{ike("t", child(2, "installed", t0.Add(time.Second)), child(3, "installed", t0))}, 2},
		{"equal times, higher ID", []api.IKESA{ike("t", child(4, "installed", t0), child(5, "installed", t0))}, 5},
		{"skips a rekeying newer one", []api.IKESA{ike("t", child(1, "installed", t0), child(2, "creating", t0.Add(time.Hour)))}, 1},
		{"other tunnel ignored", []api.IKESA{ike("u", child(9, "installed", t0.Add(time.Hour))), ike("t", child(1, "installed", t0))}, 1},
		{"across IKE SAs", []api.IKESA{ike("t", child(1, "installed", t0)), ike("t", child(6, "installed", t0.Add(time.Minute)))}, 6},
	}
	for _, tt := range tests {
		c, ok := currentChild(tt.sas, "t")
		if ok != (tt.wantID != 0) || c.ID != tt.wantID {
			t.Errorf("%s: got ID %d (found %t), want %d", tt.name, c.ID, ok, tt.wantID)
		}
	}
}
