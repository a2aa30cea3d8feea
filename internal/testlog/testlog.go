// Package testlog routes a component's slog output to the test log, so a
// failing test shows what the component did, and drops it once the test has
// ended (testing panics on a Log call after that).
package testlog

import (
	"context"
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

// Recorder keeps every record a logger made, for tests that check what was
// logged, and how often.
type Recorder struct {
	mu      sync.Mutex
	records []Record
}

// Record is one log record, its attributes as strings.
type Record struct {
	Level   slog.Level
	Message string
	Attrs   map[string]string
}

// NewRecorder returns a logger that writes to t's log at level and above, as
// New does, and records everything in the returned Recorder.
func NewRecorder(t testing.TB, level slog.Level) (*slog.Logger, *Recorder) {
	r := &Recorder{}
	return slog.New(&recordHandler{rec: r, next: New(t, level).Handler()}), r
}

// Count returns how many records have msg and every given attribute
// (key, value, key, value...).
func (r *Recorder) Count(msg string, attrs ...string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
outer:
	for _, rec := range r.records {
		if rec.Message != msg {
			continue
		}
		for i := 0; i+1 < len(attrs); i += 2 {
			if rec.Attrs[attrs[i]] != attrs[i+1] {
				continue outer
			}
		}
		n++
	}
	return n
}

// Records returns the records with msg, in the order logged.
func (r *Recorder) Records(msg string) []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Record
	for _, rec := range r.records {
		if rec.Message == msg {
			out = append(out, rec)
		}
	}
	return out
}

type recordHandler struct {
	rec   *Recorder
	attrs []slog.Attr
	next  slog.Handler
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordHandler) Handle(ctx context.Context, r slog.Record) error {
	rec := Record{Level: r.Level, Message: r.Message, Attrs: make(map[string]string)}
	for _, a := range h.attrs {
		rec.Attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.Attrs[a.Key] = a.Value.String()
		return true
	})
	h.rec.mu.Lock()
	h.rec.records = append(h.rec.records, rec)
	h.rec.mu.Unlock()
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *recordHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &recordHandler{rec: h.rec, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...), next: h.next.WithAttrs(attrs)}
}

func (h *recordHandler) WithGroup(name string) slog.Handler {
	return &recordHandler{rec: h.rec, attrs: h.attrs, next: h.next.WithGroup(name)}
}
