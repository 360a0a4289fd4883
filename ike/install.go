package ike

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/dataplane"
)

// encapFor decides how a Child SA of sa carries ESP.
func (e *Engine) encapFor(sa *IKESA) dataplane.Encap {
	if sa.Floated || sa.NATLocal || sa.NATRemote || sa.Local.Port() == e.cfg.NATTPort {
		return dataplane.EncapUDP
	}
	if sa.Tunnel != nil && sa.Tunnel.Cfg.Encap == EncapUDP {
		return dataplane.EncapUDP
	}
	return dataplane.EncapRaw
}

// InstallChild hands both halves of c to the dataplane and indexes it. Traffic does not use
// the outbound half until activate (or switchOutbound) points the tunnel's policy at it.
func (e *Engine) InstallChild(c *ChildSA, k crypto.ChildKeys) error {
	sa := c.IKE
	// The peer chooses our outbound SPI. One that another live Child SA already sends on to
	// this address is refused, never replaced: the peer's host could not tell the two apart,
	// and a peer choosing another tunnel's SPI must not take that tunnel's traffic.
	if o := e.outSPIs[outKey{sa.Remote.Addr(), c.SPIOut}]; o != nil && o.State != ChildDeleted {
		return fmt.Errorf("%w: outbound SPI 0x%08x is in use towards %v", ErrSPIInUse, c.SPIOut, sa.Remote.Addr())
	}
	if o := e.children[c.SPIIn]; o != nil && o != c {
		return fmt.Errorf("%w: inbound SPI 0x%08x is in use", ErrSPIInUse, c.SPIIn)
	}
	c.Encap = e.encapFor(sa)
	local, remote := sa.Local, sa.Remote
	if c.Encap == dataplane.EncapUDP {
		if local.Port() != e.cfg.NATTPort {
			local = netip.AddrPortFrom(local.Addr(), e.cfg.NATTPort)
		}
		if remote.Port() == e.cfg.IKEPort {
			remote = netip.AddrPortFrom(remote.Addr(), e.cfg.NATTPort)
		}
	} else {
		local, remote = netip.AddrPortFrom(local.Addr(), 0), netip.AddrPortFrom(remote.Addr(), 0)
	}
	// Keys: "I" keys protect initiator-to-responder traffic of the creating exchange.
	outE, outA, inE, inA := k.EncrI, k.IntegI, k.EncrR, k.IntegR
	if !c.Initiator {
		outE, outA, inE, inA = inE, inA, outE, outA
	}
	cfg := c.Tunnel.Cfg
	base := dataplane.SAConfig{
		Tunnel: cfg.Name, ChildID: c.ID, Local: local, Remote: remote, Encap: c.Encap,
		Encr: c.Suite.Encr, Integ: c.Suite.Integ, ESN: c.Suite.ESN,
		HardBytes: cfg.ChildLifeBytes, HardPackets: cfg.ChildLifePackets,
	}
	if cfg.ChildLifeBytes > 0 {
		base.SoftBytes = cfg.ChildLifeBytes * 9 / 10
	}
	if cfg.ChildLifePackets > 0 {
		base.SoftPackets = cfg.ChildLifePackets * 9 / 10
	}
	in := base
	in.SPI, in.Dir, in.EncrKey, in.IntegKey, in.ReplayWindow = c.SPIIn, dataplane.In, inE, inA, cfg.ReplayWindow
	out := base
	out.SPI, out.Dir, out.EncrKey, out.IntegKey = c.SPIOut, dataplane.Out, outE, outA
	c.keys = k
	// Rekey before the sequence numbers run out, whatever the configured lifetime.
	out.SoftPackets, out.HardPackets = dataplane.PacketLimits(out.ESN, out.SoftPackets, out.HardPackets)
	if err := e.dp.AddSA(in); err != nil {
		c.wipe()
		return fmt.Errorf("installing inbound SA: %w", err)
	}
	if err := e.dp.AddSA(out); err != nil {
		e.dp.DeleteSA(dataplane.InSA(c.SPIIn))
		c.wipe()
		return fmt.Errorf("installing outbound SA: %w", err)
	}
	e.children[c.SPIIn] = c
	e.childByID[c.ID] = c
	delete(e.spiReserved, c.SPIIn)
	e.outSPIs[outKey{sa.Remote.Addr(), c.SPIOut}] = c
	e.outBySPI.add(c)
	c.IKE.children[c.ID] = c
	c.State = ChildInstalled
	c.Created = time.Now()
	e.countChild(c)
	return nil
}

// Activate makes c the tunnel's Child SA: outbound traffic switches to it, its rekey timer
// starts and the hooks learn about it.
func (e *Engine) Activate(c *ChildSA, old *ChildSA) {
	if c.State == ChildDeleted {
		return
	}
	c.State = ChildInstalled
	c.Tunnel.Child = c
	e.SwitchOutbound(c)
	e.ScheduleChildRekey(c)
	LogInfo(e.log, "Child SA installed", slog.String("tunnel", c.Tunnel.Cfg.Name), slog.String("spi_in", SPIString(c.SPIIn)),
		slog.String("spi_out", SPIString(c.SPIOut)), slog.String("algorithms", c.Suite.String()),
		slog.String("encap", encapName(c.Encap)), slog.String("rekey_of", RekeyOf(old)))
	e.hooks.ChildUp(c, old)
	if old == nil && c.Replaces == nil {
		e.resolveDuplicate(c)
	}
}

// duplicateWindow is how recent two new Child SAs of one tunnel must both be to count as
// created by both sides at once.
const duplicateWindow = 10 * time.Second

// resolveDuplicate handles both sides creating a new Child SA for the same tunnel at about the
// same time (the peer replaces a Child SA we lost while we re-create it ourselves): the tunnel
// needs one pair. As for simultaneous rekeys (RFC 7296 2.8.1), the pair with the lowest nonce
// is redundant and deleted by the side that created it; both sides reach the same verdict, and
// traffic stays on the other pair throughout.
func (e *Engine) resolveDuplicate(c *ChildSA) {
	now := time.Now()
	for _, o := range c.IKE.children {
		if o == c || o.Tunnel != c.Tunnel || o.State != ChildInstalled || o.Replaces != nil || o.Unconfirmed ||
			o.RekeyedBy != nil || now.Sub(o.Created) > duplicateWindow || o.Initiator == c.Initiator {
			continue
		}
		mine, theirs := c, o
		if !c.Initiator {
			mine, theirs = o, c
		}
		if string(LowestNonce(mine.NonceI, mine.NonceR, theirs.NonceI, theirs.NonceR)) != string(LowestNonce(mine.NonceI, mine.NonceR)) {
			return // the peer deletes its own
		}
		e.log.Info("both sides created a Child SA for the tunnel: deleting ours (lowest nonce)", "tunnel", c.Tunnel.Cfg.Name,
			"spi_in", SPIString(mine.SPIIn), "kept_spi_in", SPIString(theirs.SPIIn))
		if c.Tunnel.active == mine {
			e.SwitchOutbound(theirs)
		}
		mine.State = ChildRekeyed
		mine.RekeyedBy = theirs
		e.DeleteChild(mine, true, nil)
		return
	}
}

// RekeyOf is the rekey_of attribute of a Child SA's log line: the SPI of the one it replaces,
// or "" for none.
func RekeyOf(old *ChildSA) string {
	if old == nil {
		return ""
	}
	return SPIString(old.SPIIn)
}

// LogInfo logs msg with attrs at level Info, as log.LogAttrs would but without looking up the
// caller (runtime.Callers, a good part of a line's cost), for the lines logged for every SA
// set up. vigild's handlers do not print the source; a handler with AddSource prints none
// for these lines.
func LogInfo(log *slog.Logger, msg string, attrs ...slog.Attr) {
	ctx := context.Background()
	if !log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	r := slog.NewRecord(time.Now(), slog.LevelInfo, msg, 0)
	r.AddAttrs(attrs...)
	_ = log.Handler().Handle(ctx, r) // as slog.Logger does: a handler's error has nowhere to go
}

// SPIString renders an ESP SPI for the log: "0x" and eight hex digits (as "0x%08x", without
// fmt: it is logged several times for every Child SA set up).
func SPIString(spi uint32) string {
	var b [len("0x01234567")]byte
	return string(AppendSPI(b[:0], spi))
}

// AppendSPI appends spi as SPIString renders it.
func AppendSPI(b []byte, spi uint32) []byte {
	b = append(b, "0x00000000"...)
	putHex(b[len(b)-8:], uint64(spi))
	return b
}

func encapName(x dataplane.Encap) string {
	if x == dataplane.EncapUDP {
		return "udp"
	}
	return "raw"
}

// SwitchOutbound points the tunnel's policy at c.
func (e *Engine) SwitchOutbound(c *ChildSA) {
	t := c.Tunnel
	t.Child = c
	if t.active != nil {
		t.active.outActive = false
	}
	t.active = c
	c.outActive = true
	e.noteTunnel(t)
	if err := e.dp.SetPolicy(dataplane.Policy{Tunnel: t.Cfg.Name, LocalTS: c.LocalTS, RemoteTS: c.RemoteTS, OutChild: c.ID}); err != nil {
		e.log.Warn("setting policy failed", "tunnel", t.Cfg.Name, "err", err)
	}
}

// holdPolicy makes the tunnel's traffic wait (and trap, for start_action trap) until a Child
// SA exists.
func (e *Engine) holdPolicy(t *Tunnel) {
	if t.removed {
		return
	}
	if err := e.dp.SetPolicy(holdPolicy(t)); err != nil {
		e.log.Warn("setting policy failed", "tunnel", t.Cfg.Name, "err", err)
	}
}

// holdPolicy is the policy of a tunnel without Child SA.
func holdPolicy(t *Tunnel) dataplane.Policy {
	return dataplane.Policy{
		Tunnel: t.Cfg.Name, LocalTS: Selectors(t.Cfg.LocalTS), RemoteTS: Selectors(t.Cfg.RemoteTS),
		Trap: t.Cfg.StartAction != StartNone,
	}
}

// RemoveChild forgets c and removes it from the dataplane (no Delete is sent).
func (e *Engine) RemoveChild(c *ChildSA, err error) {
	if c.State == ChildDeleted {
		return
	}
	c.State = ChildDeleted
	e.uncountChild(c)
	if c.rekeyTimer != nil {
		c.rekeyTimer.Stop()
	}
	if e.children[c.SPIIn] == c {
		delete(e.children, c.SPIIn)
		e.rememberGone(c)
	}
	k := outKey{c.IKE.Remote.Addr(), c.SPIOut}
	if e.outSPIs[k] == c {
		delete(e.outSPIs, k)
	}
	e.outBySPI.remove(c)
	delete(c.IKE.children, c.ID)
	if e.childByID[c.ID] == c {
		delete(e.childByID, c.ID)
	}
	e.dp.DeleteSA(dataplane.OutSA(c.ID, c.SPIOut))
	if c.RekeyedBy != nil {
		// Replaced by a rekey: packets the peer sealed just before it switched may still be on
		// their way, so the inbound half lives a little longer (it is in no index any more).
		spi := c.SPIIn
		e.spiReserved[spi] = time.Now() // still installed: not to be offered again meanwhile
		e.After(RekeyGrace, func() { e.dp.DeleteSA(dataplane.InSA(spi)) })
	} else {
		e.dp.DeleteSA(dataplane.InSA(c.SPIIn))
	}
	t := c.Tunnel
	if t.Child == c {
		t.Child = nil
	}
	if t.active == c || t.active == nil {
		t.active = nil
		if n := c.RekeyedBy; n != nil && n.State == ChildInstalled {
			e.SwitchOutbound(n)
		} else if n := e.successor(c); n != nil {
			e.SwitchOutbound(n)
		} else {
			e.holdPolicy(t)
		}
	}
	if t.Child == nil {
		t.Child = t.active
	}
	e.log.Info("Child SA removed", "tunnel", t.Cfg.Name, "spi_in", SPIString(c.SPIIn), "spi_out", SPIString(c.SPIOut), "reason", errString(err))
	e.hooks.ChildDown(c, err)
	c.wipe()
}

// RekeyGrace is how long the inbound half of a rekeyed Child SA outlives its deletion.
const RekeyGrace = 2 * time.Second

// successor finds another installed Child SA of the tunnel: the newest one, or one on the same
// or the tunnel's current IKE SA (at most a handful: old and new during a rekey).
func (e *Engine) successor(c *ChildSA) *ChildSA {
	t := c.Tunnel
	if n := t.Child; n != nil && n != c && n.State == ChildInstalled {
		return n
	}
	for _, sa := range []*IKESA{c.IKE, t.IKE} {
		if sa == nil {
			continue
		}
		for _, o := range sa.children {
			if o != c && o.Tunnel == t && o.State == ChildInstalled {
				return o
			}
		}
	}
	return nil
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Jitter spreads timers by up to -10%.
func Jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d - time.Duration(rand.Int64N(int64(d)/10+1))
}

// ScheduleChildRekey arms c's rekey timer.
func (e *Engine) ScheduleChildRekey(c *ChildSA) {
	if c.rekeyTimer != nil {
		c.rekeyTimer.Stop()
	}
	d := c.Tunnel.Cfg.ChildLifetime
	if d <= 0 {
		return
	}
	d = Jitter(d)
	c.RekeyAt = time.Now().Add(d)
	c.rekeyTimer = e.After(d, func() {
		if c.State == ChildInstalled && c.IKE.State == IKEEstablished {
			e.log.Info("rekeying Child SA", "tunnel", c.Tunnel.Cfg.Name, "spi_in", SPIString(c.SPIIn))
			e.RekeyChild(c, nil)
		}
	})
}
