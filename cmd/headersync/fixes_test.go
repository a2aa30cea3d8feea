package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/api"
)

func TestAPIExposed(t *testing.T) {
	for listen, want := range map[string]bool{
		"127.0.0.1:26657": false, "[::1]:26657": false, "localhost:26657": false,
		"0.0.0.0:26657": true, ":26657": true, "[::]:26657": true, "192.168.1.5:26657": true,
	} {
		require.Equal(t, want, apiExposed(listen), listen)
	}
}

// The small things an operator trips over: a node seeded with itself and
// an API on every interface say so; a missing block is "not found", not a
// header; a failed start prints its error without a "node stopped" line.
func TestOperatorNotices(t *testing.T) {
	seqHome, _, _ := homes(t)
	ports := newPorts(t)
	seqID := mustCLI(t, "node-id", "--home", seqHome)
	seq := start(t, "sequencer", seqHome, ports, "--p2p.seeds", ports.seed(seqID),
		"--api.listen", "0.0.0.0:"+strconv.Itoa(ports.api))
	waitHeight(t, 2, seq)

	_, err := seq.api.Block(context.Background(), 1_000_000)
	var httpErr *api.HTTPError
	require.True(t, errors.As(err, &httpErr), "%v", err)
	require.Equal(t, 404, httpErr.StatusCode)
	require.Equal(t, "block 1000000: not found", httpErr.Message)

	// Hashes come out lower case and go in either case.
	var h1 api.HeaderJSON
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, "header", "1", "--api", ports.apiURL())), &h1))
	hash := h1.Hash.String()
	require.Regexp(t, "^[0-9a-f]{64}$", hash)
	var again api.HeaderJSON
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, "header", strings.ToUpper(hash), "--api", ports.apiURL())), &again))
	require.Equal(t, uint64(1), again.Height)
	require.Regexp(t, `"head_hash": "[0-9a-f]{64}"`, mustCLI(t, "status", "--api", ports.apiURL()))

	// A second node on the same home and API port fails to start.
	_, errOut, code := cli(t, "start", "--home", seqHome, "--api.listen", ports.apiAddr(),
		"--p2p.listen", "/ip4/127.0.0.1/tcp/0")
	require.Equal(t, 1, code)
	require.NotContains(t, errOut, "node stopped")
	require.Contains(t, errOut, "headersync: ")

	seq.terminate()
	log, err := os.ReadFile(seq.log.Name())
	require.NoError(t, err)
	require.Contains(t, string(log), "not dialling seed: it is this node")
	require.Contains(t, string(log), "the API is reachable from other machines and has no authentication")
}
