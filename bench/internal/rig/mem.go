package rig

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// RSS returns the resident set size of process pid in bytes (VmRSS of /proc/PID/status).
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseVmRSS(b)
}

// parseVmRSS extracts VmRSS from the content of /proc/PID/status, a line such as
// "VmRSS:\t   21840 kB".
func parseVmRSS(b []byte) (int64, error) {
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("proc status: VmRSS line %q: want a number and kB", bytes.TrimSpace(line))
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil || kb < 0 || kb > 1<<40 {
			return 0, fmt.Errorf("proc status: VmRSS %q out of range", f[0])
		}
		return kb << 10, nil
	}
	return 0, errors.New("proc status: no VmRSS line (a kernel thread or a zombie?)")
}
