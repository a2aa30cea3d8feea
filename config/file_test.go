package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// tomlKeys lists the keys of a struct's toml tags, tables as "table.key".
func tomlKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("toml"), ",")[0]
		if f.Type.Kind() == reflect.Struct && f.Type.Name() != "Duration" {
			keys = append(keys, tomlKeys(f.Type, prefix+name+".")...)
			continue
		}
		keys = append(keys, prefix+name)
	}
	return keys
}

// config.toml as init writes it names every key NodeConfig has, each right
// after a one-line comment, and reads back as the same configuration.
func TestSaveWritesEveryKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	c := Default(RoleFull, "gm")
	require.NoError(t, c.Save(path))
	data, err := os.ReadFile(path)
	require.NoError(t, err)

	lines := strings.Split(string(data), "\n")
	written := map[string]bool{}
	table := ""
	for i, line := range lines {
		switch {
		case strings.HasPrefix(line, "["):
			table = strings.Trim(line, "[]") + "."
		case strings.Contains(line, " = ") && !strings.HasPrefix(line, "#"):
			k := table + strings.SplitN(line, " = ", 2)[0]
			written[k] = true
			require.True(t, i > 0 && strings.HasPrefix(lines[i-1], "# "), "key %s without a comment above it", k)
		}
	}
	for _, k := range tomlKeys(reflect.TypeOf(NodeConfig{}), "") {
		require.True(t, written[k], "config.toml lacks %s:\n%s", k, data)
	}
	require.Contains(t, string(data), "seeds = []")

	back, err := Load(path)
	require.NoError(t, err)
	require.Equal(t, c, back)
}
