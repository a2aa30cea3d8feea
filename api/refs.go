package api

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/celestiaorg/go-header"

	"github.com/headersync/headersync/types"
)

// headRef names the newest header in GET /headers/head and Client.Header.
const headRef = "head"

// parseHeight accepts a base-10 height of 1 or more; heights start at 1, so 0
// is a mistake rather than a request for nothing.
func parseHeight(s string) (uint64, error) {
	h, err := strconv.ParseUint(s, 10, 64)
	if err != nil || h == 0 {
		return 0, fmt.Errorf("%w: height %q; expected a base-10 integer from 1 to 18446744073709551615", ErrInvalidRef, s)
	}
	return h, nil
}

// parseHash accepts a header hash as 64 hex digits in either case.
func parseHash(s string) (header.Hash, error) {
	if len(s) != 2*types.HashSize {
		return nil, fmt.Errorf("%w: hash %q has %d characters; expected %d hex digits", ErrInvalidRef, s, len(s), 2*types.HashSize)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: hash %q is not hex", ErrInvalidRef, s)
	}
	return b, nil
}

// headerPath returns the request path for a header reference: "head", a
// height or a hash, checked here so that a typo fails before any request.
// A 64-digit string is a hash even if all digits are decimal, since no
// uint64 height has that many digits.
func headerPath(ref string) ([]string, error) {
	switch {
	case strings.EqualFold(ref, headRef):
		return []string{"headers", headRef}, nil
	case len(ref) == 2*types.HashSize:
		hash, err := parseHash(ref)
		if err != nil {
			return nil, err
		}
		return []string{"headers", "hash", hex.EncodeToString(hash)}, nil
	}
	if _, err := parseHeight(ref); err != nil {
		return nil, fmt.Errorf("%w: %q; expected %q, a height from 1, or a %d-digit hex hash",
			ErrInvalidRef, ref, headRef, 2*types.HashSize)
	}
	return []string{"headers", ref}, nil
}
