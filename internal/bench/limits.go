package bench

import (
	"crypto/ed25519"
	"crypto/sha256"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// VerifyRate measures crypto/ed25519 signature verifications per second of
// a 32-byte message (a header hash) on the given number of goroutines for
// about d: the physical limit of checking every header's signature on this
// machine, the yardstick the catch-up figures have always been given in.
func VerifyRate(goroutines int, d time.Duration) float64 {
	return verifyRate(goroutines, d, ed25519.Verify)
}

// ExpandedVerifyRate is VerifyRate for the verifier the node uses where it
// still checks single signatures: curve25519-voi with the key expanded once
// and crypto/ed25519's accept/reject rules (see types/ed25519.go).
func ExpandedVerifyRate(goroutines int, d time.Duration) float64 {
	opts := &voi.Options{Verify: voi.VerifyOptionsStdLib}
	var exp *voi.ExpandedPublicKey
	return verifyRate(goroutines, d, func(pub ed25519.PublicKey, msg, sig []byte) bool {
		if exp == nil {
			var err error
			if exp, err = voi.NewExpandedPublicKey(voi.PublicKey(pub)); err != nil {
				return false
			}
		}
		return voi.VerifyExpandedWithOptions(exp, msg, sig, opts)
	})
}

func verifyRate(goroutines int, d time.Duration, verify func(ed25519.PublicKey, []byte, []byte) bool) float64 {
	seed := sha256.Sum256([]byte("headersync bench key"))
	priv := ed25519.NewKeyFromSeed(seed[:])
	pub := priv.Public().(ed25519.PublicKey)
	msg := sha256.Sum256([]byte("a header"))
	sig := ed25519.Sign(priv, msg[:])
	verify(pub, msg[:], sig) // expands the key before the goroutines share it

	var (
		total atomic.Int64
		wg    sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for i := 0; i < goroutines; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := int64(0)
			for time.Now().Before(deadline) {
				for j := 0; j < 64; j++ {
					if !verify(pub, msg[:], sig) {
						panic("bench: signature of a fixed key does not verify")
					}
				}
				n += 64
			}
			total.Add(n)
		}()
	}
	wg.Wait()
	return float64(total.Load()) / time.Since(start).Seconds()
}

// HeapSampler records the peak of the live heap while it runs.
type HeapSampler struct {
	done chan struct{}
	peak chan uint64
}

// heapMetric is the bytes of live and not-yet-swept heap objects: what the
// process holds, without the stop-the-world of runtime.ReadMemStats.
const heapMetric = "/memory/classes/heap/objects:bytes"

// StartHeapSampler samples the live heap every 10 ms until Stop.
func StartHeapSampler() *HeapSampler {
	s := &HeapSampler{done: make(chan struct{}), peak: make(chan uint64, 1)}
	go func() {
		sample := []metrics.Sample{{Name: heapMetric}}
		var peak uint64
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak {
				peak = v
			}
			select {
			case <-s.done:
				s.peak <- peak
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop ends sampling and returns the peak in MiB.
func (s *HeapSampler) Stop() float64 {
	close(s.done)
	return float64(<-s.peak) / (1 << 20)
}
