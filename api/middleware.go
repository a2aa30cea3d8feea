package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// jsonMuxErrors gives the mux's own replies (no route: 404; route for
// another method: 405 with Allow) a JSON body, keeping their status and
// headers. Matched requests go to the mux untouched.
func jsonMuxErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(&muxErrorWriter{ResponseWriter: w, r: r}, r)
	})
}

// muxErrorWriter replaces the plain-text body of an error reply with JSON.
type muxErrorWriter struct {
	http.ResponseWriter
	r     *http.Request
	wrote bool
}

func (m *muxErrorWriter) WriteHeader(code int) {
	if m.wrote {
		return
	}
	m.wrote = true
	msg := fmt.Sprintf("no route for %s %s", m.r.Method, m.r.URL.Path)
	if code == http.StatusMethodNotAllowed {
		msg = fmt.Sprintf("method %s not allowed on %s; allowed: %s", m.r.Method, m.r.URL.Path, m.Header().Get("Allow"))
	} else if code != http.StatusNotFound {
		msg = http.StatusText(code)
	}
	m.Header().Del("Content-Length")
	writeJSON(m.ResponseWriter, code, errorBody{Error: msg})
}

// Write drops the mux's plain-text body; WriteHeader wrote the JSON one.
func (m *muxErrorWriter) Write(p []byte) (int, error) {
	if !m.wrote {
		m.WriteHeader(http.StatusOK)
	}
	return len(p), nil
}

// logRequests logs each request at debug level with its status and time.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.log.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		s.log.Debug("api request", "method", r.Method, "path", r.URL.Path,
			"status", sw.code, "duration", time.Since(start))
	})
}

// statusWriter records the status code a handler sent.
type statusWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wroteHeader {
		s.code, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	s.wroteHeader = true // an implicit 200
	return s.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// promLogger routes promhttp's error log to slog.
type promLogger struct{ log *slog.Logger }

func (p promLogger) Println(v ...any) {
	p.log.Warn("metrics: " + strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}
