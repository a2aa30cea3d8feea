package p2p

import (
	"errors"
	"fmt"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/headersync/headersync/config"
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

// checkTransports rejects listen addresses that the host, having only TCP
// and QUIC, could not listen on, so the mistake is reported with its field
// name rather than as a libp2p error at Start.
func checkTransports(raw []string, addrs []ma.Multiaddr) error {
	for i, a := range addrs {
		if !supportedTransport(a) {
			return &config.FieldError{
				Field:    fmt.Sprintf("p2p.listen_address[%d]", i),
				Value:    raw[i],
				Expected: "an IP address with TCP or QUIC (quic-v1), such as /ip4/0.0.0.0/tcp/26656",
				Err:      errors.New("unsupported transport"),
			}
		}
	}
	return nil
}

func supportedTransport(a ma.Multiaddr) bool {
	var tcp, quic, other bool
	for _, c := range a {
		switch c.Code() {
		case ma.P_IP4, ma.P_IP6, ma.P_UDP:
		case ma.P_TCP:
			tcp = true
		case ma.P_QUIC_V1:
			quic = true
		default:
			other = true
		}
	}
	return (tcp || quic) && !other
}
