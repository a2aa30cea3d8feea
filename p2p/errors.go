package p2p

import "errors"

var (
	// ErrInvalidIdentity reports an identity key file that exists but does
	// not hold a usable key. The file is left as it is.
	ErrInvalidIdentity = errors.New("invalid identity key file")
	// ErrInvalidChainID reports a chain ID that cannot name the network's
	// protocols.
	ErrInvalidChainID = errors.New("invalid chain ID")
	// ErrAlreadyStarted is returned by a second call to Client.Start.
	ErrAlreadyStarted = errors.New("p2p client already started")
	// ErrStopped is returned by Client.Start after Stop.
	ErrStopped = errors.New("p2p client stopped")
)
