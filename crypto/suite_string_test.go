package crypto

import "testing"

// TestSuiteStringCached: String gives the same name from its cache as computed afresh, and the
// cache stops growing at its bound.
func TestSuiteStringCached(t *testing.T) {
	s := Suite{Encr: EncrAESGCM16, EncrKeyBits: 256, ESN: true}
	for range 3 {
		if got := s.String(); got != "aes256gcm16-esn" {
			t.Fatalf("String() = %q", got)
		}
	}
	if _, ok := (*suiteNames.Load())[s]; !ok {
		t.Error("the name was not cached")
	}
	for bits := range 2 * maxSuiteNames {
		s := Suite{Encr: EncrAESCBC, EncrKeyBits: 1000 + bits, Integ: IntegHMACSHA256128, DH: DHECP256}
		if got, want := s.String(), s.format(); got != want {
			t.Fatalf("String() = %q, want %q", got, want)
		}
	}
	if n := len(*suiteNames.Load()); n != maxSuiteNames {
		t.Errorf("%d names cached, want the bound %d", n, maxSuiteNames)
	}
}
