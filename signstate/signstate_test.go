package signstate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/signstate"
	"github.com/headersync/headersync/types"
)

type chain struct {
	signer  *types.Signer
	genesis *types.Genesis
	path    string
}

func newChain(t *testing.T) chain {
	t.Helper()
	signer, err := types.GenerateSigner()
	require.NoError(t, err)
	g := &types.Genesis{ChainID: "gm", InitialHeight: 1, GenesisTime: time.Now().UTC().Add(-time.Hour).Truncate(time.Second), SequencerPubKey: signer.PublicKey()}
	require.NoError(t, g.Validate())
	return chain{signer: signer, genesis: g, path: filepath.Join(t.TempDir(), "sequencer_state.json")}
}

func (c chain) load(t *testing.T) *signstate.Guard {
	t.Helper()
	g, err := signstate.Load(c.path, c.signer, c.genesis)
	require.NoError(t, err)
	return g
}

// next is the header after prev (the first header if prev is nil).
func (c chain) next(prev *types.Block, tx string, at time.Time) (types.Header, types.Data) {
	data := types.Data{Txs: [][]byte{[]byte(tx)}}
	if prev == nil {
		return types.FirstHeader(c.genesis, at, &data), data
	}
	return types.NextHeader(prev.SignedHeader(), at, &data), data
}

func TestSignedBlocksSurviveReload(t *testing.T) {
	c := newChain(t)
	require.NoError(t, signstate.Create(c.path, c.genesis))
	require.Error(t, signstate.Create(c.path, c.genesis), "an existing state is never overwritten")
	g := c.load(t)
	require.Nil(t, g.Last())

	now := time.Now().UTC()
	h, d := c.next(nil, "a", now)
	b1, err := g.SignBlock(h, d)
	require.NoError(t, err)
	require.NoError(t, b1.Validate())
	h, d = c.next(b1, "b", now.Add(time.Second))
	b2, err := g.SignBlock(h, d)
	require.NoError(t, err)

	// What SignBlock returned is on disk: a restarted sequencer knows it.
	reloaded := c.load(t)
	require.Equal(t, uint64(2), reloaded.Height())
	require.Equal(t, b2.Hash(), reloaded.Last().Hash())
	require.Equal(t, b2.Data(), reloaded.Last().Data())
	require.Equal(t, b2.SignedHeader().Signature(), reloaded.Last().SignedHeader().Signature())
}

func TestNeverSignsAHeightTwice(t *testing.T) {
	c := newChain(t)
	require.NoError(t, signstate.Create(c.path, c.genesis))
	g := c.load(t)
	now := time.Now().UTC()
	h1, d1 := c.next(nil, "a", now)
	b1, err := g.SignBlock(h1, d1)
	require.NoError(t, err)
	h2, d2 := c.next(b1, "b", now.Add(time.Second))
	b2, err := g.SignBlock(h2, d2)
	require.NoError(t, err)

	// The identical header again is the same block, not a new signature.
	again, err := c.load(t).SignBlock(h2, d2)
	require.NoError(t, err)
	require.Equal(t, b2.Hash(), again.Hash())
	require.Equal(t, b2.SignedHeader().Signature(), again.SignedHeader().Signature())

	// Any other header at or below the last height is refused, by this
	// guard and by one loaded from the file.
	other, otherData := c.next(b1, "other tx", now.Add(time.Second))
	for _, guard := range []*signstate.Guard{g, c.load(t)} {
		_, err = guard.SignBlock(other, otherData)
		require.ErrorIs(t, err, signstate.ErrDoubleSign)
		_, err = guard.SignBlock(h1, d1)
		require.ErrorIs(t, err, signstate.ErrDoubleSign, "height 1 is below the last signed")
	}
	// A gap is refused too: the next height is 3.
	h4 := types.NextHeader(b2.SignedHeader(), now.Add(2*time.Second), &d2)
	h4.Height = 4
	_, err = g.SignBlock(h4, d2)
	require.Error(t, err)
	require.Equal(t, b2.Hash(), c.load(t).Last().Hash(), "refusals leave the state as it was")
}

func TestMigrateAndAdvance(t *testing.T) {
	c := newChain(t)
	now := time.Now().UTC()
	// Blocks a sequencer of an older version signed and stored.
	var stored []*types.Block
	var prev *types.Block
	for i := range 3 {
		h, d := c.next(prev, "tx", now.Add(time.Duration(i)*time.Second))
		sh, err := c.signer.Sign(h)
		require.NoError(t, err)
		prev = types.NewBlock(sh, d)
		stored = append(stored, prev)
	}
	g, err := signstate.Migrate(c.path, c.signer, c.genesis, stored[1])
	require.NoError(t, err)
	require.Equal(t, uint64(2), c.load(t).Height())
	require.Error(t, g.Advance(stored[0]), "the state never goes back")
	require.NoError(t, g.Advance(stored[2]))
	require.Equal(t, stored[2].Hash(), c.load(t).Last().Hash())

	_, err = signstate.Load(filepath.Join(t.TempDir(), "absent.json"), c.signer, c.genesis)
	require.ErrorIs(t, err, signstate.ErrNoState)
}

func TestLoadRefusesForeignOrBrokenState(t *testing.T) {
	c := newChain(t)
	require.NoError(t, signstate.Create(c.path, c.genesis))
	h, d := c.next(nil, "a", time.Now().UTC())
	_, err := c.load(t).SignBlock(h, d)
	require.NoError(t, err)
	good, err := os.ReadFile(c.path)
	require.NoError(t, err)

	other := newChain(t)
	_, err = signstate.Load(c.path, other.signer, other.genesis)
	require.Error(t, err, "another key's genesis")

	otherChain := *c.genesis
	otherChain.ChainID = "other"
	_, err = signstate.Load(c.path, c.signer, &otherChain)
	require.ErrorIs(t, err, signstate.ErrInvalidState)

	for name, content := range map[string][]byte{
		"truncated":   good[:len(good)/2],
		"empty":       {},
		"height lies": []byte(replaceOnce(t, string(good), `"height": 1`, `"height": 7`)),
	} {
		require.NoError(t, os.WriteFile(c.path, content, 0o600))
		_, err := signstate.Load(c.path, c.signer, c.genesis)
		require.ErrorIs(t, err, signstate.ErrInvalidState, name)
	}
}

func replaceOnce(t *testing.T, s, old, repl string) string {
	t.Helper()
	require.Contains(t, s, old)
	return strings.Replace(s, old, repl, 1)
}
