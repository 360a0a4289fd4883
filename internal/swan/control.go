package swan

import (
	"context"
	"fmt"
	"strconv"

	"github.com/strongswan/govici/vici"
)

// viciTimeoutMS is the timeout charon itself applies to blocking
// initiate/terminate commands, below cmdTimeout so charon answers first.
const viciTimeoutMS = 20000

// call runs a VICI command on the control session with a bounded context
// (govici needs a deadline to bound its socket reads).
func (c *Charon) call(cmd string, kv map[string]string) (*vici.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	return c.callCtx(ctx, cmd, kv)
}

func (c *Charon) callCtx(ctx context.Context, cmd string, kv map[string]string) (*vici.Message, error) {
	in := vici.NewMessage()
	for _, k := range sortedKeys(kv) {
		if err := in.Set(k, kv[k]); err != nil {
			return nil, err
		}
	}
	out, err := c.ctl.Call(ctx, cmd, in)
	if err != nil {
		return out, fmt.Errorf("swan: %s %v: %w", cmd, kv, err)
	}
	return out, nil
}

// Initiate initiates the CHILD_SA config child (and its IKE SA if needed)
// and blocks until it is established or failed.
func (c *Charon) Initiate(child string) error {
	_, err := c.call("initiate", map[string]string{"child": child, "timeout": strconv.Itoa(viciTimeoutMS)})
	return err
}

// initiateCtx is Initiate bounded by ctx.
func (c *Charon) initiateCtx(ctx context.Context, child string) error {
	_, err := c.callCtx(ctx, "initiate", map[string]string{"child": child, "timeout": strconv.Itoa(viciTimeoutMS)})
	return err
}

// TerminateIKE deletes the IKE SAs of connection name (and their children)
// and blocks until done.
func (c *Charon) TerminateIKE(name string) error {
	_, err := c.call("terminate", map[string]string{"ike": name, "timeout": strconv.Itoa(viciTimeoutMS)})
	return err
}

// TerminateChild deletes the CHILD_SAs named name and blocks until done.
func (c *Charon) TerminateChild(name string) error {
	_, err := c.call("terminate", map[string]string{"child": name, "timeout": strconv.Itoa(viciTimeoutMS)})
	return err
}

// RekeyChild starts a rekeying of the CHILD_SAs named name. It returns once
// the rekeying is queued; use WaitFor to see it complete.
func (c *Charon) RekeyChild(name string) error {
	return c.rekey("child", name)
}

// RekeyIKE starts a rekeying of the IKE SAs of connection name (not a
// reauthentication). It returns once the rekeying is queued.
func (c *Charon) RekeyIKE(name string) error {
	return c.rekey("ike", name)
}

func (c *Charon) rekey(kind, name string) error {
	out, err := c.call("rekey", map[string]string{kind: name})
	if err != nil {
		return err
	}
	if m, _ := out.Get("matches").(string); m == "0" {
		return fmt.Errorf("swan: rekey %s %q: no such SA", kind, name)
	}
	return nil
}

// ListSAs returns all IKE SAs with their CHILD_SAs.
func (c *Charon) ListSAs() ([]IKESA, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	return c.listSAs(ctx)
}

func (c *Charon) listSAs(ctx context.Context) ([]IKESA, error) {
	var sas []IKESA
	for m, err := range c.query.CallStreaming(ctx, "list-sas", "list-sa", nil) {
		if err != nil {
			return nil, fmt.Errorf("swan: list-sas: %w", err)
		}
		part, err := parseSAs(m)
		if err != nil {
			return nil, err
		}
		sas = append(sas, part...)
	}
	return sas, nil
}
