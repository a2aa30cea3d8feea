package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// The gossip benchmark reports what the whole process spends: CPU time
// from getrusage(RUSAGE_SELF) and resident memory from /proc/self/status
// (procstat_linux.go). Elsewhere processCPUTime and processRSS return an
// error wrapping errors.ErrUnsupported and the benchmark refuses to run,
// rather than print a figure measured some other way (getrusage's ru_maxrss
// is a peak, in units that differ between systems) under the same name.

// parseVmRSS returns the VmRSS line of a /proc/<pid>/status, in bytes.
func parseVmRSS(status []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("VmRSS line %q: expected a number and kB", sc.Text())
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS line %q: %w", sc.Text(), err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read status: %w", err)
	}
	return 0, fmt.Errorf("no VmRSS line in status")
}
