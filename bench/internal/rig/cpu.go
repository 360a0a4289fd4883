package rig

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// CPUTime returns the user plus system CPU time process pid has used so far (all its
// threads), from /proc/PID/stat.
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStat(b)
}

// parseStat extracts utime+stime from the content of /proc/PID/stat.
func parseStat(b []byte) (time.Duration, error) {
	// The command name (field 2) is in parentheses and may contain spaces and ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("proc stat: no command name")
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("proc stat: %d fields after the command name, want at least 13", len(f))
	}
	var sum time.Duration
	for _, s := range f[11:13] {
		n, err := strconv.ParseUint(string(s), 10, 63)
		if err != nil {
			return 0, fmt.Errorf("proc stat: bad time %q", s)
		}
		if n > uint64(1<<62/clockTick) {
			return 0, fmt.Errorf("proc stat: time %d out of range", n)
		}
		sum += time.Duration(n) * clockTick
	}
	return sum, nil
}

// CPUMeter reads several processes' CPU time at a start and an end point.
type CPUMeter struct {
	pids  []int
	start []time.Duration
}

// StartCPU records the current CPU time of pids.
func StartCPU(pids ...int) (*CPUMeter, error) {
	m := &CPUMeter{pids: pids, start: make([]time.Duration, len(pids))}
	for i, p := range pids {
		t, err := CPUTime(p)
		if err != nil {
			return nil, err
		}
		m.start[i] = t
	}
	return m, nil
}

// Stop returns the CPU time each process used since StartCPU, in the order given.
func (m *CPUMeter) Stop() ([]time.Duration, error) {
	out := make([]time.Duration, len(m.pids))
	for i, p := range m.pids {
		t, err := CPUTime(p)
		if err != nil {
			return nil, err
		}
		out[i] = t - m.start[i]
	}
	return out, nil
}
