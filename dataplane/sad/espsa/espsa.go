package espsa

import (
	"errors"

	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/dataplane/sad"
	"github.com/vigil-ipsec/vigil/esp"
)

// Provider implements sad.Provider with esp.SA.
type Provider struct{}

// New builds the ESP transform described by c.
func (Provider) New(c dataplane.SAConfig) (sad.Crypto, error) {
	rw := 0
	if c.Dir == dataplane.In {
		rw = c.ReplayWindow
	}
	sa, err := esp.New(esp.Config{
		SPI: c.SPI, Encr: c.Encr, EncrKey: c.EncrKey, Integ: c.Integ, IntegKey: c.IntegKey,
		ESN: c.ESN, ReplayWindow: rw,
	})
	if err != nil {
		return nil, err
	}
	return sa, nil
}

// Classify maps esp errors to drop reasons.
func (Provider) Classify(err error) sad.Drop {
	switch {
	case err == nil:
		return sad.DropNone
	case errors.Is(err, esp.ErrReplay):
		return sad.DropReplay
	case errors.Is(err, esp.ErrAuth):
		return sad.DropAuth
	case errors.Is(err, esp.ErrDummy):
		return sad.DropDummy
	case errors.Is(err, esp.ErrPadding):
		return sad.DropPadding
	case errors.Is(err, esp.ErrSeqExhausted):
		return sad.DropSeqExhausted
	}
	return sad.DropMalformed
}
