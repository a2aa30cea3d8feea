//go:build linux

package bench

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

// processCPUTime is the CPU time, user and system, of every thread of the
// process so far.
func processCPUTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// processRSS is the resident memory of the process now, in bytes.
func processRSS() (uint64, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("resident memory: %w", err)
	}
	rss, err := parseVmRSS(status)
	if err != nil {
		return 0, fmt.Errorf("resident memory: /proc/self/status: %w", err)
	}
	return rss, nil
}
