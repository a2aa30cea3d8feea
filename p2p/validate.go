package p2p

import (
	"fmt"

	"github.com/headersync/headersync/types"
)

// validateChainID rejects chain IDs that would break the protocol IDs and
// namespaces derived from them: the rule is the chain's own.
func validateChainID(chainID string) error {
	if err := types.ValidateChainID(chainID); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidChainID, err)
	}
	return nil
}
