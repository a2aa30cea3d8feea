package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/headersync/headersync/config"
)

// Any config file either fails to load with an error, or loads a valid
// config that saves back to a file loading to the same config.
func FuzzLoad(f *testing.F) {
	seed := config.Default(config.RoleFull, "gm")
	dir := f.TempDir()
	seedPath := filepath.Join(dir, "seed.toml")
	if err := seed.Save(seedPath); err != nil {
		f.Fatal(err)
	}
	raw, err := os.ReadFile(seedPath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte("role = \"light\"\nchain_id = \"x\"\nblock_time = \"1ms\"\n[p2p]\nlisten_address = [\"/ip4/127.0.0.1/tcp/0\"]\n[api]\nlisten = \"127.0.0.1:0\"\n[log]\nlevel = \"info\"\nformat = \"json\"\n"))
	f.Add([]byte("role = 3"))
	f.Add([]byte("role = \"light\"\nchain_id = \"x\"\nblock_time = \"1s\"\nsync_from = \"head\"\nretain_headers = -1\n[p2p]\nlisten_address = [\"/ip4/127.0.0.1/tcp/0\"]\n[api]\nlisten = \"127.0.0.1:0\"\n[log]\nlevel = \"info\"\nformat = \"json\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "config.toml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := config.Load(path)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Load returned an invalid config: %v", err)
		}
		again := filepath.Join(dir, "again.toml")
		if err := c.Save(again); err != nil {
			t.Fatalf("a loaded config does not save: %v", err)
		}
		back, err := config.Load(again)
		if err != nil {
			t.Fatalf("a saved config does not load: %v", err)
		}
		if back.Role != c.Role || back.ChainID != c.ChainID || back.BlockTime != c.BlockTime || back.API != c.API || back.Log != c.Log ||
			len(back.P2P.Seeds) != len(c.P2P.Seeds) || back.TrustedHash != c.TrustedHash ||
			back.SyncFrom != c.SyncFrom || back.RetainHeaders != c.RetainHeaders {
			t.Fatalf("config changed across save and load:\n%+v\n%+v", c, back)
		}
	})
}
