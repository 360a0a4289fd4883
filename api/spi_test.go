package api

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseSPI(t *testing.T) {
	tests := []struct {
		in      string
		want    SPI
		wantErr string // substring; "" = success
	}{
		{"0xc0ffee01", 0xc0ffee01, ""},
		{"0XC0FFEE01", 0xc0ffee01, ""},
		{"0x1", 1, ""},
		{"0x0", 0, ""},
		{"0xffffffff", 0xffffffff, ""},
		{"  0x00004321 ", 0x4321, ""},
		{"4294967295", 0xffffffff, ""},
		{"256", 256, ""},
		{"0", 0, ""},
		{"", 0, "spi is empty"},
		{"   ", 0, "spi is empty"},
		{"0x", 0, "spi must be 0x followed by 1-8 hex digits"},
		{"0x123456789", 0, "spi must be 0x followed by 1-8 hex digits"},
		{"0xg1", 0, "spi must be 0x followed by 1-8 hex digits"},
		{"0x-1", 0, "spi must be 0x followed by 1-8 hex digits"},
		{"0x+1", 0, "spi must be 0x followed by 1-8 hex digits"},
		{"c0ffee01", 0, "use 0x followed by 1-8 hex digits, or a decimal number"},
		{"-1", 0, "or a decimal number"},
		{"+1", 0, "or a decimal number"},
		{"1e3", 0, "or a decimal number"},
		{"4294967296", 0, "out of range"},
		{"99999999999999999999999", 0, "out of range"},
		{"0x1_0", 0, "1-8 hex digits"},
	}
	for _, tt := range tests {
		got, err := ParseSPI(tt.in)
		if tt.wantErr == "" {
			if err != nil || got != tt.want {
				t.Errorf("ParseSPI(%q) = %v, %v; want %v, nil", tt.in, got, err, tt.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParseSPI(%q) error = %v; want it to contain %q", tt.in, err, tt.wantErr)
		}
	}
}

func TestParseSPILongInputShortened(t *testing.T) {
	_, err := ParseSPI(strings.Repeat("z", 1000))
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("error for long input should be short, got %d bytes: %v", len(err.Error()), err)
	}
}

func TestSPIJSON(t *testing.T) {
	b, err := json.Marshal(struct{ S SPI }{0x4321})
	if err != nil || string(b) != `{"S":"0x00004321"}` {
		t.Fatalf("marshal = %s, %v", b, err)
	}
	for _, in := range []string{`"0x00004321"`, `"17185"`, `17185`, `"0x4321"`} {
		var s SPI
		if err := json.Unmarshal([]byte(in), &s); err != nil || s != 0x4321 {
			t.Errorf("unmarshal %s = %v, %v; want 0x00004321", in, s, err)
		}
	}
	for _, in := range []string{`"zz"`, `-1`, `1.5`, `true`, `"0x123456789"`, `{}`} {
		var s SPI
		if err := json.Unmarshal([]byte(in), &s); err == nil {
			t.Errorf("unmarshal %s = %v; want an error", in, s)
		}
	}
	s := SPI(7)
	if err := json.Unmarshal([]byte(`null`), &s); err != nil || s != 7 {
		t.Errorf("unmarshal null = %v, %v; want unchanged", s, err)
	}
	// Event.SPI is omitted when zero.
	b, _ = json.Marshal(Event{Seq: 1, Kind: "up"})
	if strings.Contains(string(b), "spi") {
		t.Errorf("zero SPI should be omitted: %s", b)
	}
}

func FuzzParseSPI(f *testing.F) {
	for _, s := range []string{"0xc0ffee01", "0X1", "0x", "4294967295", "4294967296", "", " 0x0 ", "-1", "0x1_0", "１２"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spi, err := ParseSPI(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		// Whatever parses must round-trip through String and JSON.
		again, err := ParseSPI(spi.String())
		if err != nil || again != spi {
			t.Fatalf("ParseSPI(%q) = %v, but ParseSPI(%q) = %v, %v", s, spi, spi.String(), again, err)
		}
		b, err := json.Marshal(spi)
		if err != nil {
			t.Fatal(err)
		}
		var back SPI
		if err := json.Unmarshal(b, &back); err != nil || back != spi {
			t.Fatalf("JSON round trip of %v: %s -> %v, %v", spi, b, back, err)
		}
	})
}
