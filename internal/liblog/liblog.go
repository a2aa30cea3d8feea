// Package liblog routes the libraries' own loggers into the node's slog
// handler, so that a node writes one log in one format at one level.
//
// go-header logs through ipfs go-log, a zap logger with its own format
// (tab-separated or colourised) written straight to stderr; go-libp2p logs
// through its gologshim, which writes its own slog handler to stderr unless
// given one. Neither looks at the node's --log.format or --log.level, so a
// node configured for JSON lines at error printed zap's text lines at error
// from go-header beside them. Route replaces go-log's primary zap core with
// one that hands every entry to the node's handler, and gives gologshim the
// same handler: one place decides level and format.
package liblog

import (
	"context"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/celestiaorg/go-header"
	logging "github.com/ipfs/go-log/v2"
	"github.com/libp2p/go-libp2p/gologshim"
	"go.uber.org/zap/zapcore"
)

// Level is the level at which the libraries log, given the node's level.
// Their info lines describe each stored header ("new head", "syncing
// headers") and would drown the node's own progress lines, so below debug
// they log warnings and errors only; at debug they add their info lines
// (their debug lines are a firehose of per-stream detail).
func Level(node slog.Level) slog.Level {
	if node <= slog.LevelDebug {
		return slog.LevelInfo
	}
	return max(node, slog.LevelWarn)
}

// demoted are library lines, keyed by logger and message, that describe a
// remote peer's request rather than a fault of this node: go-header's
// exchange server logs at error whenever a peer asks for a hash it does
// not have, which peers syncing a chain do about once a second. They are
// logged at debug.
var demoted = map[[2]string]bool{
	{"header/p2p", "server: getting header by hash"}:             true,
	{"header/p2p", "server: requested headers not found"}:        true,
	{"header/p2p", "server: skip request for too many headers."}: true,
	{"header/p2p", "server: reading header request from stream"}: true,
	{"header/p2p", "server: writing header to stream"}:           true,
}

// routed holds the handlers of the last Route: go-log and gologshim are
// process-wide, and gologshim takes its handler once per logger, so they
// are given a forwarder that reads this.
var routed atomic.Pointer[handlers]

type handlers struct {
	lib  slog.Handler // the node's handler at the libraries' level
	node slog.Handler // the node's handler: demoted lines are filtered at its level
}

// Route sends go-log's and gologshim's output to h at Level(node) and
// above. It is process-wide (both libraries keep global loggers); the last
// call wins for go-log, while a go-libp2p logger keeps the handler it had
// when it first logged, which is why Route is called before any host is
// built.
func Route(h slog.Handler, node slog.Level) {
	libLevel := Level(node)
	routed.Store(&handlers{lib: &levelHandler{h: h, min: libLevel}, node: h})
	gologshim.SetDefaultHandler(forwarder{})
	logging.SetPrimaryCore(&core{lib: forwarder{}, node: forwarder{node: true}})
	// go-log drops an entry below its subsystem's level before any core
	// sees it. Let through what the handlers may want: the libraries'
	// level, and warnings at least, since the demoted lines start as
	// warnings and errors.
	if err := logging.SetLogLevel("*", zapLevelName(min(libLevel, slog.LevelWarn))); err != nil {
		panic(err) // zapLevelName returns go-log level names only
	}
}

// forwarder hands records to the handler Route stored last, so a test
// process that starts several nodes writes to the latest one's handler
// rather than to a logger of a test that has ended.
type forwarder struct {
	node  bool // the node's handler rather than the libraries'
	attrs []slog.Attr
}

func (f forwarder) current() slog.Handler {
	hs := routed.Load()
	h := hs.lib
	if f.node {
		h = hs.node
	}
	if len(f.attrs) > 0 {
		h = h.WithAttrs(f.attrs)
	}
	return h
}

func (f forwarder) Enabled(ctx context.Context, l slog.Level) bool {
	return f.current().Enabled(ctx, l)
}
func (f forwarder) Handle(ctx context.Context, r slog.Record) error {
	return f.current().Handle(ctx, r)
}
func (f forwarder) WithAttrs(a []slog.Attr) slog.Handler {
	return forwarder{node: f.node, attrs: append(append([]slog.Attr(nil), f.attrs...), a...)}
}

// WithGroup is not used by go-libp2p's or go-header's loggers; the group
// is dropped rather than the record.
func (f forwarder) WithGroup(string) slog.Handler { return f }

// levelHandler raises a handler's level to min.
type levelHandler struct {
	h   slog.Handler
	min slog.Level
}

func (l *levelHandler) Enabled(ctx context.Context, lvl slog.Level) bool {
	return lvl >= l.min && l.h.Enabled(ctx, lvl)
}
func (l *levelHandler) Handle(ctx context.Context, r slog.Record) error { return l.h.Handle(ctx, r) }
func (l *levelHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return &levelHandler{h: l.h.WithAttrs(a), min: l.min}
}
func (l *levelHandler) WithGroup(n string) slog.Handler {
	return &levelHandler{h: l.h.WithGroup(n), min: l.min}
}

// core is a zapcore.Core writing go-log's entries as slog records.
type core struct {
	lib    slog.Handler // for every entry but the demoted ones
	node   slog.Handler // for demoted entries, so --log.level debug shows them
	fields []zapcore.Field
}

func (c *core) handler(e zapcore.Entry) slog.Handler {
	if isDemoted(e) {
		return c.node
	}
	return c.lib
}

func (c *core) Enabled(zapcore.Level) bool { return true } // the handler decides per entry

func (c *core) With(fs []zapcore.Field) zapcore.Core {
	return &core{lib: c.lib, node: c.node, fields: append(append([]zapcore.Field(nil), c.fields...), fs...)}
}

func (c *core) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.handler(e).Enabled(context.Background(), levelOf(e)) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *core) Write(e zapcore.Entry, fs []zapcore.Field) error {
	r := slog.NewRecord(e.Time, levelOf(e), e.Message, 0)
	if e.LoggerName != "" {
		r.AddAttrs(slog.String("logger", e.LoggerName))
	}
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range append(c.fields[:len(c.fields):len(c.fields)], fs...) {
		if h, ok := f.Interface.(header.Hash); ok {
			// go-header's Hash prints upper case; the node's own lines,
			// genesis.json and the API write lower case.
			f = zapcore.Field{Key: f.Key, Type: zapcore.StringType, String: hex.EncodeToString(h)}
		}
		f.AddTo(enc)
	}
	for k, v := range enc.Fields {
		r.AddAttrs(slog.Any(k, v))
	}
	return c.handler(e).Handle(context.Background(), r)
}

func (c *core) Sync() error { return nil }

func isDemoted(e zapcore.Entry) bool {
	if demoted[[2]string{e.LoggerName, e.Message}] {
		return true
	}
	prefix, ok := demotedPrefix[e.LoggerName]
	return ok && strings.HasPrefix(e.Message, prefix)
}

// demotedPrefix are library lines, keyed by logger, demoted by the start of
// their message where the library appends an error to it. The DHT warns on
// every routing-table refresh while it knows no DHT peer: every node for its
// first moments, and for good on a network that connects only through seeds.
// That is a state, not a fault; the node's own lines say when it has no
// peers.
var demotedPrefix = map[string]string{
	"dht/RtRefreshManager": "failed when refreshing routing table",
}

// levelOf maps a zap entry to the slog level it is logged at.
func levelOf(e zapcore.Entry) slog.Level {
	if isDemoted(e) {
		return slog.LevelDebug
	}
	switch {
	case e.Level <= zapcore.DebugLevel:
		return slog.LevelDebug
	case e.Level == zapcore.InfoLevel:
		return slog.LevelInfo
	case e.Level == zapcore.WarnLevel:
		return slog.LevelWarn
	}
	return slog.LevelError
}

func zapLevelName(l slog.Level) string {
	switch {
	case l <= slog.LevelDebug:
		return "debug"
	case l <= slog.LevelInfo:
		return "info"
	case l <= slog.LevelWarn:
		return "warn"
	}
	return "error"
}
