package liblog

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/celestiaorg/go-header"
	logging "github.com/ipfs/go-log/v2"
	"github.com/libp2p/go-libp2p/gologshim"
	"github.com/stretchr/testify/require"
)

// lockedBuffer is written by loggers on several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines(t *testing.T) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), "not a JSON line: %q", line)
		out = append(out, m)
	}
	return out
}

func messages(lines []map[string]any) []string {
	var out []string
	for _, l := range lines {
		out = append(out, l["level"].(string)+" "+l["logger"].(string)+" "+l["msg"].(string))
	}
	return out
}

// A go-log (zap) logger, as go-header's are, and a gologshim logger, as
// go-libp2p's are, write through the node's handler: JSON with slog's keys
// and the library's logger name, at the libraries' level, with a remote
// peer's failed request demoted to debug.
func TestRouteSendsLibraryLinesThroughTheNodeHandler(t *testing.T) {
	zapLog := logging.Logger("header/p2p")
	dhtLog := logging.Logger("dht/RtRefreshManager")
	shimLog := gologshim.Logger("liblog-test")
	log := func() {
		dhtLog.Warn("failed when refreshing routing table", errors.New("failed to find any peer in table"))
		zapLog.Infow("new head", "height", 7, "hash", header.Hash{0xAB, 0xCD})
		zapLog.Warnw("slow peer", "peer", "p1")
		zapLog.Errorw("server: getting header by hash", "hash", "AB", "err", "not found")
		zapLog.Errorw("writing header batch", "from", 1)
		shimLog.Warn("dial failed", "addr", "/ip4/127.0.0.1")
	}
	for _, tc := range []struct {
		level slog.Level
		want  []string
	}{
		{slog.LevelError, []string{"ERROR header/p2p writing header batch"}},
		{slog.LevelInfo, []string{"WARN header/p2p slow peer", "ERROR header/p2p writing header batch", "WARN liblog-test dial failed"}},
		{slog.LevelDebug, []string{"DEBUG dht/RtRefreshManager failed when refreshing routing tablefailed to find any peer in table", "INFO header/p2p new head", "WARN header/p2p slow peer",
			"DEBUG header/p2p server: getting header by hash", "ERROR header/p2p writing header batch", "WARN liblog-test dial failed"}},
	} {
		t.Run(tc.level.String(), func(t *testing.T) {
			var buf lockedBuffer
			Route(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: tc.level}), tc.level)
			log()
			lines := buf.lines(t)
			require.Equal(t, tc.want, messages(lines))
			for _, l := range lines {
				require.Contains(t, l, "time")
				if l["msg"] == "new head" {
					require.Equal(t, "abcd", l["hash"], "hashes in lower case")
				}
			}
		})
	}
}

func TestLevel(t *testing.T) {
	require.Equal(t, slog.LevelInfo, Level(slog.LevelDebug))
	require.Equal(t, slog.LevelWarn, Level(slog.LevelInfo))
	require.Equal(t, slog.LevelWarn, Level(slog.LevelWarn))
	require.Equal(t, slog.LevelError, Level(slog.LevelError))
}
