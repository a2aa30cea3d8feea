package p2p

import (
	"fmt"

	"github.com/headersync/headersync/types"
)

// validateChainID rejects chain IDs that would break the protocol IDs and
// namespaces derived from them. It takes the loosest rule of any header
// format (a rollkit chain's); config holds each chain to its format's own.
func validateChainID(chainID string) error {
	if err := types.FormatRollkit013.ValidateChainID(chainID); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidChainID, err)
	}
	return nil
}
