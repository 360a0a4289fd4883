package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vigil-ipsec/vigil/api"
)

// writeTunnels prints one row per tunnel.
func writeTunnels(w io.Writer, ts []api.Tunnel, now time.Time) error {
	if len(ts) == 0 {
		_, err := fmt.Fprintln(w, "no tunnels configured")
		return err
	}
	tw := newTable(w)
	row(tw, "NAME", "STATE", "LOCAL", "REMOTE", "REMOTE ID", "IKE SAS", "CHILD SAS", "SINCE", "LAST EVENT")
	for _, t := range ts {
		row(tw, t.Name, t.State, dash(t.Local), dash(t.Remote), dash(t.RemoteID),
			fmt.Sprint(t.IKESAs), fmt.Sprint(t.ChildSAs), since(now, t.Since), dash(t.LastEvent))
	}
	return tw.Flush()
}

// writeTunnel prints one tunnel's details followed by its SAs.
func writeTunnel(w io.Writer, t api.Tunnel, sas []api.IKESA, now time.Time, loc *time.Location) error {
	tw := newTable(w)
	row(tw, "tunnel", t.Name)
	state := t.State
	if !t.Since.IsZero() {
		state += fmt.Sprintf(" (since %s, %s ago)", stamp(t.Since, loc), since(now, t.Since))
	}
	row(tw, "state", state)
	row(tw, "ike", fmt.Sprintf("IKEv%d, start action %s", t.Version, dash(t.StartAction)))
	row(tw, "local", endpoint(t.Local, t.LocalID))
	row(tw, "remote", endpoint(t.Remote, t.RemoteID))
	row(tw, "local ts", list(t.LocalTS))
	row(tw, "remote ts", list(t.RemoteTS))
	row(tw, "SAs", fmt.Sprintf("%d IKE, %d Child", t.IKESAs, t.ChildSAs))
	row(tw, "last event", dash(t.LastEvent))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(sas) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	return writeSAs(w, sas, t.Name)
}

// endpoint renders an address with its identity when they differ.
func endpoint(addr, id string) string {
	switch {
	case id == "" || id == addr:
		return dash(addr)
	case addr == "":
		return "- (" + id + ")"
	}
	return addr + " (" + id + ")"
}

// writeSAs prints one row per IKE SA followed by its Child SAs, indented.
func writeSAs(w io.Writer, sas []api.IKESA, tunnel string) error {
	if len(sas) == 0 {
		msg := "no IKE SAs"
		if tunnel != "" {
			msg += " for tunnel " + tunnel
		}
		_, err := fmt.Fprintln(w, msg)
		return err
	}
	tw := newTable(w)
	row(tw, "SA", "TUNNEL", "SPIS", "PEER", "STATE", "ALGORITHMS", "AGE", "REKEY IN", "BYTES IN", "BYTES OUT")
	for _, sa := range sas {
		row(tw, fmt.Sprintf("IKE #%d", sa.ID), sa.Tunnel, ikeSPIs(sa), dash(sa.Remote), sa.State,
			dash(sa.Algorithms), humanDuration(time.Duration(sa.Age)), rekeyIn(time.Duration(sa.RekeyIn)), "-", "-")
		for _, c := range sa.Children {
			row(tw, fmt.Sprintf("  Child #%d", c.ID), "", childSPIs(c), dash(sa.Remote), c.State,
				dash(c.Algorithms), humanDuration(time.Duration(c.Age)), rekeyIn(time.Duration(c.RekeyIn)),
				humanBytes(c.BytesIn), humanBytes(c.BytesOut))
		}
	}
	return tw.Flush()
}

// ikeSPIs renders an IKE SA's SPIs strongSwan-style, the local side marked with "*".
func ikeSPIs(sa api.IKESA) string {
	i, r := sa.SPIi+"_i", sa.SPIr+"_r"
	if sa.Initiator {
		i += "*"
	} else {
		r += "*"
	}
	return i + " " + r
}

// childSPIs renders a Child SA's SPIs as "in 0x... out 0x...".
func childSPIs(c api.ChildSA) string {
	return "in " + c.SPIIn.String() + " out " + c.SPIOut.String()
}

// writeChildSA prints one Child SA's details.
func writeChildSA(w io.Writer, c api.ChildSA, now time.Time, loc *time.Location) error {
	fmt.Fprintf(w, "Child SA #%d of IKE SA #%d, tunnel %s\n", c.ID, c.IKESA, c.Tunnel)
	tw := newTable(w)
	row(tw, "state", c.State)
	row(tw, "spi in", c.SPIIn.String())
	row(tw, "spi out", c.SPIOut.String())
	encap := c.Encap
	if encap == "" {
		encap = "none (plain ESP)"
	}
	row(tw, "encapsulation", encap)
	row(tw, "algorithms", dash(c.Algorithms))
	row(tw, "local ts", list(c.LocalTS))
	row(tw, "remote ts", list(c.RemoteTS))
	if c.Established.IsZero() {
		row(tw, "established", "-")
	} else {
		row(tw, "established", fmt.Sprintf("%s (%s ago)", stamp(c.Established, loc), humanDuration(time.Duration(c.Age))))
	}
	row(tw, "rekey in", rekeyIn(time.Duration(c.RekeyIn)))
	row(tw, "in", traffic(c.BytesIn, c.PacketsIn, c.LastIn, now))
	row(tw, "out", traffic(c.BytesOut, c.PacketsOut, c.LastOut, now))
	return tw.Flush()
}

// traffic renders one direction's counters and when it last saw a packet.
func traffic(bytes, packets uint64, last, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %s", humanBytes(bytes), plural(int(min(packets, 1<<62)), "packet"))
	if last.IsZero() {
		b.WriteString(", never")
	} else {
		fmt.Fprintf(&b, ", last %s ago", humanDuration(now.Sub(last)))
	}
	return b.String()
}

// writeDeleteResult reports a deleted Child SA and what the daemon did next.
func writeDeleteResult(w io.Writer, r api.DeleteResult) error {
	notified := "no"
	if r.Notified {
		notified = "yes"
	}
	tw := newTable(w)
	row(tw, "deleted", fmt.Sprintf("Child SA %s of tunnel %s", childSPIs(api.ChildSA{SPIIn: r.SPIIn, SPIOut: r.SPIOut}), r.Tunnel))
	row(tw, "peer notified", notified)
	row(tw, "action taken", dash(r.Action))
	return tw.Flush()
}
