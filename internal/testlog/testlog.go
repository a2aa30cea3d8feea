// Package testlog routes a component's slog output to the test log, so a
// failing test shows what the component did, and drops it once the test has
// ended (testing panics on a Log call after that).
package testlog

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// New returns a logger writing to t's log at level and above.
func New(t testing.TB, level slog.Level) *slog.Logger {
	w := &writer{t: t}
	// Cleanups run last-registered first: this one, registered before any
	// component's Stop, runs after all of them.
	t.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

type writer struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *writer) close() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}
