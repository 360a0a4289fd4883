package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vigil-ipsec/vigil/api"
)

// eventHeader are the timeline's column titles.
var eventHeader = []string{"TIME", "TUNNEL", "KIND", "CAUSE", "PEER", "SPI", "PROTECTED", "OUTAGE", "MESSAGE"}

// eventCells renders one event as table cells, in eventHeader order.
func eventCells(ev api.Event, loc *time.Location) []string {
	spi := "-"
	if ev.SPI != 0 {
		spi = ev.SPI.String()
	}
	outage := "-"
	if ev.OutageMS > 0 {
		outage = fmt.Sprintf("%.1f ms", ev.OutageMS)
	}
	return []string{clock(ev.Time, loc), dash(ev.Tunnel), ev.Kind, dash(ev.Cause), dash(ev.Peer), spi,
		yesNo(ev.Protected), outage, ev.Message}
}

// writeEvents prints events as an aligned timeline.
func writeEvents(w io.Writer, evs []api.Event, loc *time.Location) error {
	if len(evs) == 0 {
		_, err := fmt.Fprintln(w, "no events")
		return err
	}
	tw := newTable(w)
	row(tw, eventHeader...)
	for _, ev := range evs {
		row(tw, eventCells(ev, loc)...)
	}
	return tw.Flush()
}

// Fixed column widths for the streaming timeline (--follow), which cannot be aligned after the
// fact; longer values push the rest of their line right.
var eventWidths = []int{12, 12, 9, 11, 15, 10, 9, 9}

// writeEventHeader prints the streaming timeline's header line.
func writeEventHeader(w io.Writer) error {
	_, err := fmt.Fprintln(w, fixedLine(eventHeader))
	return err
}

// writeEventLine prints one event of the streaming timeline.
func writeEventLine(w io.Writer, ev api.Event, loc *time.Location) error {
	_, err := fmt.Fprintln(w, fixedLine(eventCells(ev, loc)))
	return err
}

func fixedLine(cells []string) string {
	var line []byte
	for i, c := range cells {
		if i < len(eventWidths) {
			line = fmt.Appendf(line, "%-*s  ", eventWidths[i], c)
		} else {
			line = append(line, c...)
		}
	}
	return strings.TrimRight(string(line), " ")
}
