package config

import (
	"io"
	"log/slog"
	"strings"
)

// ParseLogLevel parses debug, info, warn or error.
func ParseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fieldErr("log.level", s, expectLogLevel, nil)
}

// NewLogger builds the slog logger c describes, writing to w.
func (c LogConfig) NewLogger(w io.Writer) (*slog.Logger, error) {
	level, err := ParseLogLevel(c.Level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.Format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fieldErr("log.format", c.Format, expectLogFormat, nil)
}
