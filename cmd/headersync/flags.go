package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/headersync/headersync/config"
)

// Flag rules. A flag whose zero means nothing (no headers, no peers) is
// refused rather than silently replaced by a default: "--headers 0" used to
// run 50 000 headers. Zero stays valid where the help says what it means
// ("--duration 0": until Ctrl-C; "--api-port-base 0": free ports). The
// errors are config's FieldError, so a bad flag reads like a bad config key.

// firstError returns the first non-nil error: one line for the operator,
// about the first bad flag in the order the help lists them.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func intAtLeast(flag string, v, min int) error {
	if v < min {
		return &config.FieldError{Field: "--" + flag, Value: strconv.Itoa(v), Expected: "at least " + strconv.Itoa(min)}
	}
	return nil
}

func intAtMost(flag string, v, max int) error {
	if v > max {
		return &config.FieldError{Field: "--" + flag, Value: strconv.Itoa(v), Expected: "at most " + strconv.Itoa(max)}
	}
	return nil
}

func durationPositive(flag string, d time.Duration) error {
	if d <= 0 {
		return &config.FieldError{Field: "--" + flag, Value: d.String(), Expected: "a positive duration, e.g. 100ms or 1s"}
	}
	return nil
}

func durationNotNegative(flag string, d time.Duration, zeroMeans string) error {
	if d < 0 {
		return &config.FieldError{Field: "--" + flag, Value: d.String(), Expected: "0 (" + zeroMeans + ") or a positive duration"}
	}
	return nil
}

// retainFlag checks a retention window given on the command line: the
// flag is signed so that "-1" is refused here, by name, rather than by
// pflag's number parser.
func retainFlag(flag string, v int64) error {
	if v < 0 {
		return &config.FieldError{Field: "--" + flag, Value: strconv.FormatInt(v, 10), Expected: "0 (keep every header) or how many headers to keep"}
	}
	return nil
}

// fractionBelowOne checks a fraction of a whole that must leave some of it:
// 0 <= v < 1 (NaN, which pflag parses, is refused too).
func fractionBelowOne(flag string, v float64) error {
	if !(v >= 0 && v < 1) {
		return &config.FieldError{Field: "--" + flag, Value: strconv.FormatFloat(v, 'g', -1, 64), Expected: "a fraction from 0 to below 1, e.g. 0.2"}
	}
	return nil
}

func oneOf(flag, v string, valid ...string) error {
	for _, ok := range valid {
		if v == ok {
			return nil
		}
	}
	exp := ""
	for i, ok := range valid {
		switch {
		case i == 0:
		case i == len(valid)-1:
			exp += " or "
		default:
			exp += ", "
		}
		exp += ok
	}
	return &config.FieldError{Field: "--" + flag, Value: v, Expected: exp}
}

func logLevelFlag(v string) error {
	if _, err := config.ParseLogLevel(v); err != nil {
		return &config.FieldError{Field: "--log.level", Value: v, Expected: "debug, info, warn or error"}
	}
	return nil
}

// rttFlag parses --rtt: one duration for every peer, or one per peer,
// comma-separated; zero means no latency (no relay).
func rttFlag(v string, peers int) ([]time.Duration, error) {
	bad := func(expected string) error {
		return &config.FieldError{Field: "--rtt", Value: v, Expected: expected}
	}
	var out []time.Duration
	for _, part := range strings.Split(v, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || d < 0 {
			return nil, bad("a duration of 0 or more, or a comma-separated list of one per peer, e.g. 100ms or 20ms,100ms,200ms")
		}
		out = append(out, d)
	}
	if len(out) != 1 && len(out) != peers {
		return nil, bad("1 duration or one per peer (" + strconv.Itoa(peers) + ")")
	}
	if len(out) == 1 && out[0] == 0 {
		return nil, nil
	}
	return out, nil
}
