package types

import (
	"bytes"
	"encoding/hex"
	"fmt"
)

// HexBytes is a byte string in JSON as lower-case hex, as genesis.json,
// config.toml and the project's log lines write keys and hashes: the form of
// the project's own output (API, CLI, status). go-header's header.Hash writes
// upper case.
// Empty is "". Decoding accepts either case.
type HexBytes []byte

// String returns the lower-case hex form.
func (b HexBytes) String() string { return hex.EncodeToString(b) }

// MarshalJSON encodes b as a quoted lower-case hex string.
func (b HexBytes) MarshalJSON() ([]byte, error) {
	return []byte(`"` + b.String() + `"`), nil
}

// UnmarshalJSON decodes a quoted hex string; "" and null give nil.
func (b *HexBytes) UnmarshalJSON(data []byte) error {
	if bytes.Equal(data, []byte("null")) {
		*b = nil
		return nil
	}
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return fmt.Errorf("hex bytes: %s is not a JSON string", data)
	}
	if len(data) == 2 {
		*b = nil
		return nil
	}
	dec, err := hex.DecodeString(string(data[1 : len(data)-1]))
	if err != nil {
		return fmt.Errorf("hex bytes: %w", err)
	}
	*b = dec
	return nil
}
