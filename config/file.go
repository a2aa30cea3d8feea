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
	"github.com/headersync/headersync/types"
)

// Load reads and validates a config.toml. Unknown keys are errors, so a
// misspelt option is never silently ignored.
func Load(path string) (NodeConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return NodeConfig{}, fmt.Errorf("read config: %w", err)
	}
	// Keys added after a home was created take their defaults when the
	// file lacks them, so an older config.toml keeps loading.
	c := NodeConfig{SyncFrom: DefaultSyncFrom, Format: types.FormatHeadersync}
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
	// Save writes empty lists as [] so their keys show; read back, they
	// are the nil lists they were.
	for _, l := range []*[]string{&c.P2P.ListenAddress, &c.P2P.Seeds, &c.P2P.BlockedPeers, &c.P2P.AllowedPeers} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	return c, nil
}

// Save validates c and writes it to path atomically, every key with its
// value and a one-line comment, so that an operator reads the spelling of
// the keys left empty (seeds, blocked_peers, ...) instead of guessing it.
func (c NodeConfig) Save(path string) error {
	if err := c.Validate(); err != nil {
		return err
	}
	data, err := c.render()
	if err != nil {
		return err
	}
	return atomicfile.Write(path, data, 0o644)
}

// render writes the annotated config.toml. A key added to NodeConfig must
// be added here too: TestSaveWritesEveryKey compares with the struct tags.
func (c NodeConfig) render() ([]byte, error) {
	var buf bytes.Buffer
	var err error
	key := func(comment, name string, v any) {
		if err != nil {
			return
		}
		var val string
		val, err = tomlValue(v)
		fmt.Fprintf(&buf, "# %s\n%s = %s\n", comment, name, val)
	}
	buf.WriteString("# headersync node configuration. Command-line flags override these values.\n\n")
	key("sequencer, full or light", "role", string(c.Role))
	key("the chain's ID; must equal chain_id in genesis.json", "chain_id", c.ChainID)
	key(`the chain's header format: "headersync", or "rollkit-v0.13" to join a rollkit v0.13 network (genesis.json is then rollkit's own; full and light nodes only) (default headersync)`, "format", string(c.Format))
	key(fmt.Sprintf("the sequencer's block interval, the same on every node of the chain (default %s)", DefaultBlockTime), "block_time", c.BlockTime)
	key(`hex hash of the first header to trust instead of genesis (full and light nodes; "" trusts genesis); wins over sync_from`, "trusted_hash", c.TrustedHash)
	key(fmt.Sprintf(`where a node with an empty store begins: "genesis" (every header from the first) or "head" (the network head, then backwards; not on a sequencer) (default %s)`, DefaultSyncFrom), "sync_from", string(c.SyncFrom))
	key("how many headers (full nodes: and blocks) to keep, the head and the N-1 below it; older ones are deleted; 0 keeps all, the only value for a sequencer (default 0)", "retain_headers", c.RetainHeaders)
	buf.WriteString("\n[p2p]\n")
	key(fmt.Sprintf("multiaddrs to listen on (default %s)", strings.Join(DefaultListenAddress, ", ")), "listen_address", nonNil(c.P2P.ListenAddress))
	key("peers to dial at start and to keep dialling while not connected: multiaddrs ending in /p2p/<peer id>", "seeds", nonNil(c.P2P.Seeds))
	key("peers (IDs or /p2p/ multiaddrs) never to connect to, in or out", "blocked_peers", nonNil(c.P2P.BlockedPeers))
	key("if not empty, the only peers to connect to; a peer both blocked and allowed is allowed", "allowed_peers", nonNil(c.P2P.AllowedPeers))
	key(fmt.Sprintf("most connections to keep: more are trimmed to 3/4 of it, and discovery dials only below max(%d, 1/4 of it); 0 takes the default (%d)", MinMaxPeers, DefaultMaxPeers), "max_peers", c.P2P.MaxPeers)
	buf.WriteString("\n[api]\n")
	key(fmt.Sprintf("HTTP API host:port; it has no authentication, so keep it on loopback (default %s)", DefaultAPIListen), "listen", c.API.Listen)
	buf.WriteString("\n[log]\n")
	key(fmt.Sprintf("debug, info, warn or error (default %s)", DefaultLogLevel), "level", c.Log.Level)
	key(fmt.Sprintf("text or json (default %s)", DefaultLogFormat), "format", c.Log.Format)
	if err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return buf.Bytes(), nil
}

// tomlValue encodes one value as TOML, as the encoder writes it in a table.
func tomlValue(v any) (string, error) {
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(map[string]any{"v": v}); err != nil {
		return "", err
	}
	return strings.TrimSpace(strings.TrimPrefix(b.String(), "v = ")), nil
}

// nonNil makes an empty list encode as [] rather than be left out.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
