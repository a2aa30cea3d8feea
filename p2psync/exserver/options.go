package exserver

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Params configure a Server. DefaultParams gives the defaults; options
// change them.
type Params struct {
	// Limits bound the requests served.
	Limits Limits
	// ReadDeadline is how long a peer has to send its request after opening
	// the stream: a stream that sends nothing holds a limited slot.
	ReadDeadline time.Duration
	// WriteDeadline bounds the writing of one answer (go-header's 8 s).
	WriteDeadline time.Duration
	// RequestTimeout bounds the store reads for one request (go-header's
	// 10 s, which go-header applies to head and hash requests).
	RequestTimeout time.Duration
	// BufferSize is the size of each stream's write buffer; an answer that
	// fits is written at once.
	BufferSize int
	// Logger receives the server's logs; nothing is logged if nil.
	Logger *slog.Logger
}

// DefaultParams are the project's settings for the exchange server.
func DefaultParams() Params {
	return Params{
		Limits:         DefaultLimits(),
		ReadDeadline:   5 * time.Second,
		WriteDeadline:  8 * time.Second,
		RequestTimeout: 10 * time.Second,
		BufferSize:     64 << 10,
	}
}

// ErrInvalidParams is returned by New for parameters it cannot run with.
var ErrInvalidParams = errors.New("invalid exchange server parameters")

// Validate says which parameter, if any, is unusable.
func (p Params) Validate() error {
	positive := func(name string, d time.Duration) error {
		if d > 0 {
			return nil
		}
		return fmt.Errorf("%w: %s is %v, must be above 0", ErrInvalidParams, name, d)
	}
	var small error
	if p.BufferSize < 4096 {
		small = fmt.Errorf("%w: BufferSize is %d, must be at least 4096", ErrInvalidParams, p.BufferSize)
	}
	return errors.Join(
		p.Limits.Validate(),
		positive("ReadDeadline", p.ReadDeadline),
		positive("WriteDeadline", p.WriteDeadline),
		positive("RequestTimeout", p.RequestTimeout),
		small,
	)
}

// Option changes one parameter.
type Option func(*Params)

// WithLimits sets the request limits.
func WithLimits(l Limits) Option { return func(p *Params) { p.Limits = l } }

// WithReadDeadline sets how long a peer has to send its request.
func WithReadDeadline(d time.Duration) Option { return func(p *Params) { p.ReadDeadline = d } }

// WithWriteDeadline sets how long writing one answer may take.
func WithWriteDeadline(d time.Duration) Option { return func(p *Params) { p.WriteDeadline = d } }

// WithRequestTimeout sets how long the store reads for one request may take.
func WithRequestTimeout(d time.Duration) Option { return func(p *Params) { p.RequestTimeout = d } }

// WithBufferSize sets the size of each stream's write buffer.
func WithBufferSize(n int) Option { return func(p *Params) { p.BufferSize = n } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(p *Params) { p.Logger = l } }
