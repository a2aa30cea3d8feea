package api

import (
	"errors"
	"strings"
	"testing"
)

// Any reference a user types is either refused with ErrInvalidRef or turned
// into a path the server's routes parse back to the same height or hash.
func FuzzHeaderRef(f *testing.F) {
	for _, s := range []string{"head", "HEAD", "1", "0", "-1", "18446744073709551615", "18446744073709551616",
		strings.Repeat("ab", 32), strings.Repeat("z", 64), "", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		path, err := headerPath(ref)
		if err != nil {
			if !errors.Is(err, ErrInvalidRef) {
				t.Fatalf("%q: error %v is not ErrInvalidRef", ref, err)
			}
			return
		}
		switch {
		case len(path) == 2 && path[1] == headRef:
		case len(path) == 3 && path[1] == "hash":
			if _, err := parseHash(path[2]); err != nil {
				t.Fatalf("%q: path %v does not parse back: %v", ref, path, err)
			}
		case len(path) == 2:
			if _, err := parseHeight(path[1]); err != nil || path[1] != ref {
				t.Fatalf("%q: path %v does not parse back: %v", ref, path, err)
			}
		default:
			t.Fatalf("%q: unexpected path %v", ref, path)
		}
	})
}
