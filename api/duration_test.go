package api

import (
	"encoding/json"
	"testing"
	"time"
)

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		d    time.Duration
		json string
	}{
		{time.Hour + 2*time.Minute + 3*time.Second, `"1h2m3s"`},
		{0, `"0s"`},
		{250 * time.Millisecond, `"250ms"`},
		{-45 * time.Second, `"-45s"`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(Duration(tt.d))
		if err != nil || string(b) != tt.json {
			t.Errorf("marshal %v = %s, %v; want %s", tt.d, b, err, tt.json)
		}
		var back Duration
		if err := json.Unmarshal(b, &back); err != nil || time.Duration(back) != tt.d {
			t.Errorf("unmarshal %s = %v, %v; want %v", b, back, err, tt.d)
		}
	}
	var d Duration
	if err := json.Unmarshal([]byte(`1500000000`), &d); err != nil || time.Duration(d) != 1500*time.Millisecond {
		t.Errorf("unmarshal nanoseconds = %v, %v", d, err)
	}
	for _, bad := range []string{`"1 hour"`, `"5"`, `true`, `1.5`, `"`, `[]`} {
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("unmarshal %s: want an error", bad)
		}
	}
}

func FuzzDurationJSON(f *testing.F) {
	for _, s := range []string{`"1h2m3s"`, `"0s"`, `"-1.5h"`, `12`, `null`, `"x"`, `"9999999999h"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Duration
		if err := d.UnmarshalJSON(b); err != nil {
			return
		}
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var back Duration
		if err := json.Unmarshal(out, &back); err != nil || back != d {
			t.Fatalf("round trip of %v: %s -> %v, %v", d, out, back, err)
		}
	})
}
