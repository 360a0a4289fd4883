package rig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Messages of vigild's log that bracket the establishment of a tunnel on the initiator.
const (
	msgInitiating     = "initiating IKE SA"
	msgChildInstalled = "Child SA installed"
)

// logLine is the part of a vigild JSON log line used here.
type logLine struct {
	Time    time.Time `json:"time"`
	Msg     string    `json:"msg"`
	Tunnel  string    `json:"tunnel"`
	RekeyOf string    `json:"rekey_of"`
}

// SetupFromLog returns the time from vigild's first "initiating IKE SA" line for tunnel in
// log (JSON lines, as written with --log-format json) to the first following
// "Child SA installed" line of that tunnel that is not a rekey. Both timestamps come from
// the same process clock, so API latency is not included. Lines that are not JSON objects
// are skipped.
func SetupFromLog(log []byte, tunnel string) (time.Duration, error) {
	var start time.Time
	for line := range bytes.Lines(log) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var l logLine
		if err := json.Unmarshal(line, &l); err != nil || l.Tunnel != tunnel || l.Time.IsZero() {
			continue
		}
		switch {
		case l.Msg == msgInitiating && start.IsZero():
			start = l.Time
		case l.Msg == msgChildInstalled && l.RekeyOf == "" && !start.IsZero():
			d := l.Time.Sub(start)
			if d < 0 {
				return 0, fmt.Errorf("vigild log: %q at %v precedes %q at %v", msgChildInstalled, l.Time, msgInitiating, start)
			}
			return d, nil
		}
	}
	if start.IsZero() {
		return 0, fmt.Errorf("vigild log: no %q line for tunnel %q", msgInitiating, tunnel)
	}
	return 0, errors.New("vigild log: no " + msgChildInstalled + " line after " + msgInitiating)
}
