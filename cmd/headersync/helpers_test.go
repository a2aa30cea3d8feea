package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/api"
	"github.com/headersync/headersync/internal/loopback"
)

// binary is the headersync executable built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "headersync-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "headersync")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build headersync:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

const (
	waitFor = 60 * time.Second
	tick    = 50 * time.Millisecond
)

// cli runs a one-shot command and returns its output and exit code.
func cli(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	stdout, stderr, code, err := tryCLI(args...)
	require.NoError(t, err)
	return stdout, stderr, code
}

// tryCLI is cli for code off the test goroutine (an Eventually condition):
// a command that could not run is an error, not a test failure.
func tryCLI(args ...string) (stdout, stderr string, code int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		return "", "", 0, fmt.Errorf("run %v: %w", args, err)
	}
	return out.String(), errOut.String(), code, nil
}

// poll is require.Eventually for a condition that can fail. Eventually runs
// the condition on a goroutine of its own, where require must not be
// called: an error stops the polling instead, and fails the test here, on
// the test goroutine.
func poll(t *testing.T, cond func() (bool, error), msgAndArgs ...any) {
	t.Helper()
	var err error
	require.Eventually(t, func() bool {
		ok, cerr := cond()
		if cerr != nil {
			err = cerr
			return true
		}
		return ok
	}, waitFor, tick, msgAndArgs...)
	require.NoError(t, err, msgAndArgs...)
}

// mustCLI runs a command that must succeed and returns its trimmed stdout.
func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := cli(t, args...)
	require.Zero(t, code, "headersync %v failed: %s", args, errOut)
	return strings.TrimSpace(out)
}

// proc is a running `headersync start`.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan error
	api  *api.Client
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	port, err := loopback.FreePort()
	require.NoError(t, err)
	return port
}

// nodePorts are one node's fixed loopback ports, kept across restarts.
type nodePorts struct{ p2p, api int }

func newPorts(t *testing.T) nodePorts { return nodePorts{p2p: freePort(t), api: freePort(t)} }

func (p nodePorts) listen() string        { return "/ip4/127.0.0.1/tcp/" + strconv.Itoa(p.p2p) }
func (p nodePorts) apiAddr() string       { return "127.0.0.1:" + strconv.Itoa(p.api) }
func (p nodePorts) apiURL() string        { return "http://" + p.apiAddr() }
func (p nodePorts) seed(id string) string { return p.listen() + "/p2p/" + id }

// start runs `headersync start` on home with ports and extra flags, and
// waits until its API answers.
func start(t *testing.T, name, home string, ports nodePorts, extra ...string) *proc {
	t.Helper()
	logFile, err := os.CreateTemp(t.TempDir(), name+"-*.log")
	require.NoError(t, err)
	args := append([]string{"start", "--home", home, "--p2p.listen", ports.listen(), "--api.listen", ports.apiAddr(),
		"--block-time", "100ms"}, extra...)
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start())
	client, err := api.NewClient(ports.apiURL())
	require.NoError(t, err)
	p := &proc{t: t, name: name, cmd: cmd, log: logFile, done: make(chan error, 1), api: client}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			p.dumpLog()
		}
	})
	require.Eventually(t, func() bool {
		select {
		case err := <-p.done:
			p.done <- err
			return true // exited: reported below
		default:
		}
		_, err := p.api.Status(context.Background())
		return err == nil
	}, waitFor, tick)
	select {
	case err := <-p.done:
		p.dumpLog()
		t.Fatalf("%s exited during start: %v", name, err)
	default:
	}
	return p
}

func (p *proc) dumpLog() {
	data, _ := os.ReadFile(p.log.Name())
	p.t.Logf("---- %s log ----\n%s", p.name, data)
}

func (p *proc) status() api.Status {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := p.api.Status(ctx)
	require.NoError(p.t, err, "%s status", p.name)
	return st
}

// height returns the node's header height, 0 if its API does not answer.
func (p *proc) height() uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := p.api.Status(ctx)
	if err != nil || st.Headers == nil {
		return 0
	}
	return st.Headers.Height
}

func (p *proc) header(ref string) api.HeaderJSON {
	p.t.Helper()
	h, err := p.tryHeader(ref)
	require.NoError(p.t, err)
	return h
}

// tryHeader is header for code off the test goroutine.
func (p *proc) tryHeader(ref string) (api.HeaderJSON, error) {
	h, err := p.api.Header(context.Background(), ref)
	if err != nil {
		return h, fmt.Errorf("%s header %s: %w", p.name, ref, err)
	}
	return h, nil
}

// kill9 kills the node without warning, as a crash would.
func (p *proc) kill9() {
	p.t.Helper()
	require.NoError(p.t, p.cmd.Process.Signal(syscall.SIGKILL))
	<-p.done
}

// terminate sends SIGTERM and requires a clean exit within the 5 s promised.
func (p *proc) terminate() {
	p.t.Helper()
	p.stopOn(syscall.SIGTERM)
}

// interrupt sends SIGINT, as Ctrl-C does, and requires a clean exit within
// the 5 s promised.
func (p *proc) interrupt() {
	p.t.Helper()
	p.stopOn(syscall.SIGINT)
}

func (p *proc) stopOn(sig syscall.Signal) {
	p.t.Helper()
	require.NoError(p.t, p.cmd.Process.Signal(sig))
	select {
	case err := <-p.done:
		require.NoError(p.t, err, "%s did not exit cleanly on %s", p.name, sig)
	case <-time.After(6 * time.Second):
		p.t.Fatalf("%s still running 6s after %s", p.name, sig)
	}
}

// waitHeight waits until every node's header height reaches h.
func waitHeight(t *testing.T, h uint64, nodes ...*proc) {
	t.Helper()
	for _, n := range nodes {
		require.Eventually(t, func() bool { return n.height() >= h }, waitFor, tick, "%s stuck at %d", n.name, n.height())
	}
}
