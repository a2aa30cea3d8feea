package p2p

import (
	"testing"

	"go.uber.org/goleak"
)

// No goroutine needs to be ignored: Close stops everything the client
// started, libp2p's, the DHT's and gossipsub's included.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
