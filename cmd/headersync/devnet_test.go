package main

import (
	"bufio"
	"os"
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
	// Its own process group, so that a hung devnet is killed whole.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A pipe of our own rather than StdoutPipe: Wait runs from the start,
	// so that a hang is seen, and must not close the read end under the
	// reader before it has read the last lines.
	stdout, w, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { _ = stdout.Close() })
	cmd.Stdout = w
	require.NoError(t, cmd.Start())
	require.NoError(t, w.Close()) // the child holds its copy
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	killed := false
	kill := func() {
		if !killed {
			killed = true
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			kill()
			<-done
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

	// The stop deadline holds even if the process hangs: the output and
	// the exit are both awaited against it, and a devnet past it is killed
	// with its whole process group.
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	stopDeadline := time.NewTimer(stopWithin)
	defer stopDeadline.Stop()
	var tail []string
	exited := done // nil once received; done stays for the cleanup
	for lines != nil || exited != nil {
		select {
		case line, ok := <-lines:
			if !ok {
				lines = nil
				continue
			}
			tail = append(tail, line)
		case err := <-exited:
			done <- err // for the cleanup
			exited = nil
			require.NoError(t, err)
		case <-stopDeadline.C:
			kill()
			t.Fatalf("devnet did not stop within %s of SIGINT; killed. Output since:\n%s", stopWithin, strings.Join(tail, "\n"))
		}
	}
	require.Contains(t, tail, "devnet: stopped")
}

// stopWithin is how long the devnet may take to stop after SIGINT: its
// nodes stop within 5 s, plus the process's exit.
const stopWithin = 6 * time.Second

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

// devnet --light-retain runs its light nodes from the network head with a
// window, says so in the listing of the nodes, and leaves the other nodes
// as they were.
func TestDevnetLightRetain(t *testing.T) {
	out := mustCLI(t, "devnet", "--full", "1", "--light", "2", "--light-retain", "20", "--duration", "3s", "--block-time", "50ms")
	// The last progress line shows the light nodes' windows: 20 headers
	// below the head, pruned in batches of one (20/16).
	var last string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "t=") {
			last = line
		}
	}
	for _, light := range []string{"light-1", "light-2"} {
		m := regexp.MustCompile(light + `=(\d+)\.\.(\d+)`).FindStringSubmatch(last)
		require.NotNil(t, m, "%s shows no window in %q", light, last)
		base, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		head, err := strconv.Atoi(m[2])
		require.NoError(t, err)
		require.Greater(t, head, 20, last)
		require.InDelta(t, head-19, base, 1, "%s keeps 20 headers: %s", light, last)
	}
	require.Regexp(t, `full-1=\d+/\d+ `, last, "a full node keeps everything")
	windowed := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[2], "12D3Koo") {
			continue
		}
		windowed[f[0]] = strings.HasSuffix(line, "  sync_from=head retain_headers=20")
	}
	require.Equal(t, map[string]bool{"sequencer": false, "full-1": false, "light-1": true, "light-2": true}, windowed, out)
	require.Contains(t, out, "devnet: stopped")

	out = mustCLI(t, "devnet", "--full", "0", "--light", "1", "--duration", "300ms", "--block-time", "100ms")
	require.NotContains(t, out, "retain_headers", "without the flag the light nodes run as before")
}
