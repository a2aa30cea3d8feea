package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/headersync/headersync/internal/atomicfile"
)

// Load reads and validates a config.toml. Unknown keys are errors, so a
// misspelt option is never silently ignored.
func Load(path string) (NodeConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return NodeConfig{}, fmt.Errorf("read config: %w", err)
	}
	var c NodeConfig
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			where := fmt.Sprintf("line %d", perr.Position.Line)
			if perr.LastKey != "" {
				where += ", key " + perr.LastKey
			}
			return NodeConfig{}, fmt.Errorf("config %s: %w: %s: %s", path, ErrInvalid, where, perr.Message)
		}
		return NodeConfig{}, fmt.Errorf("config %s: %w: %w", path, ErrInvalid, err)
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		keys := make([]string, 0, len(undecoded))
		for _, k := range undecoded {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		return NodeConfig{}, fmt.Errorf("config %s: %w: unknown key %s", path, ErrInvalid, strings.Join(keys, ", "))
	}
	if err := c.Validate(); err != nil {
		return NodeConfig{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Save validates c and writes it to path atomically.
func (c NodeConfig) Save(path string) error {
	if err := c.Validate(); err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteString("# headersync node configuration. Command-line flags override these values.\n\n")
	if err := toml.NewEncoder(&buf).Encode(c); err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	return atomicfile.Write(path, buf.Bytes(), 0o644)
}
