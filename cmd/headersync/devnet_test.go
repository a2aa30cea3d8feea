package main

import (
	"bufio"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var progressHeight = regexp.MustCompile(`(\S+)=(\d+)(?:/(\d+))?`)

// devnet with no flags but a short block time starts three nodes, reports
// their heights every second until they converge, and stops cleanly on
// SIGINT.
func TestDevnetConvergesAndStopsOnSIGINT(t *testing.T) {
	cmd := exec.Command(binary, "devnet", "--block-time", "100ms")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	lines := make(chan string, 128)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()

	var roles []string
	deadline := time.After(waitFor)
	converged := false
	for !converged {
		select {
		case line, ok := <-lines:
			require.True(t, ok, "devnet exited early")
			if f := strings.Fields(line); len(f) == 4 && strings.HasPrefix(f[2], "12D3Koo") && strings.HasPrefix(f[3], "http://127.0.0.1:") {
				roles = append(roles, f[1])
			}
			if strings.HasPrefix(line, "t=") {
				converged = allAtLeast(line, 5)
			}
		case <-deadline:
			t.Fatal("devnet never converged")
		}
	}
	require.Equal(t, []string{"sequencer", "full", "light"}, roles)

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	var tail []string
	for line := range lines {
		tail = append(tail, line)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(6 * time.Second):
		t.Fatal("devnet did not stop within 5s of SIGINT")
	}
	require.Contains(t, tail, "devnet: stopped")
}

// allAtLeast reports whether every height on a progress line is >= min.
func allAtLeast(line string, min uint64) bool {
	nodes := 0
	for _, m := range progressHeight.FindAllStringSubmatch(line, -1) {
		if m[1] == "t" {
			continue
		}
		nodes++
		for _, v := range m[2:] {
			if v == "" {
				continue
			}
			if n, err := strconv.ParseUint(v, 10, 64); err != nil || n < min {
				return false
			}
		}
	}
	return nodes == 3
}
