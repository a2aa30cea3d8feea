//go:build !linux

package bench

import (
	"errors"
	"fmt"
	"runtime"
	"time"
)

var errNoProcStats = fmt.Errorf("process CPU time and resident memory are measured on Linux only, not %s: %w", runtime.GOOS, errors.ErrUnsupported)

func processCPUTime() (time.Duration, error) { return 0, errNoProcStats }

func processRSS() (uint64, error) { return 0, errNoProcStats }
