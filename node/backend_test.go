package node

import (
	"errors"
	"fmt"
	"testing"

	"github.com/celestiaorg/go-header"
	"github.com/ipfs/go-datastore"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/api"
	"github.com/headersync/headersync/store"
)

// A read that hit corrupt data reaches the API as ErrStoreCorrupt, in one
// line that says where and what to do; other errors pass unchanged.
func TestCorruptAt(t *testing.T) {
	corrupt := &store.CorruptError{Key: datastore.NewKey("/blockEx/AB"), Err: errors.New("pebble: file 000007: checksum mismatch")}
	err := corruptAt("height 56", fmt.Errorf("get: %w", corrupt))
	require.ErrorIs(t, err, api.ErrStoreCorrupt)
	require.EqualError(t, err, "store corrupt at height 56: read /blockEx/AB: pebble: file 000007: checksum mismatch; run headersync check")

	notFound := fmt.Errorf("height 9: %w", header.ErrNotFound)
	require.Equal(t, notFound, corruptAt("height 9", notFound))
	require.NoError(t, corruptAt("height 1", nil))
}

// The queue's errors reach the API as its kinds, which decide the HTTP
// status, with their text unchanged.
func TestSubmitErrorMapsQueueErrors(t *testing.T) {
	for _, tc := range []struct{ own, api error }{
		{ErrEmptyTx, api.ErrEmptyTx},
		{ErrTxTooLarge, api.ErrTxTooLarge},
		{ErrQueueFull, api.ErrQueueFull},
	} {
		err := fmt.Errorf("%w: details", tc.own)
		got := submitError(err)
		require.ErrorIs(t, got, tc.own)
		require.ErrorIs(t, got, tc.api)
		require.Equal(t, err.Error(), got.Error())
	}
	other := errors.New("disk on fire")
	require.Equal(t, other, submitError(other))
	require.NoError(t, submitError(nil))
}
