// Package adversary is a misbehaving peer for tests: a real libp2p host
// that speaks the exchange and gossip protocols of a headersync chain but
// answers, on command, with bad signatures, a genuine top over a tampered
// header, forged anchors, a fork signed by another key,
// broken links, another chain's headers, headers from the future, the wrong
// heights, garbage or truncated protobuf, more than was asked, or nothing at
// all. It also floods a server with requests.
package adversary

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/celestiaorg/go-libp2p-messenger/serde"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/internal/p2pconf"
	"github.com/headersync/headersync/p2p"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/types"
)

// Mode is how the adversary answers exchange requests.
type Mode int

// The modes.
const (
	Honest       Mode = iota // the honest chain, as asked
	BadSignature             // the honest headers with a signature bit flipped
	Fork                     // Options.Alt[Fork]: the same heights, signed by another key
	BrokenLink               // the honest headers with one skipped, so heights jump
	WrongChainID             // Options.Alt[WrongChainID]: another chain's headers
	FutureTime               // Options.Alt[FutureTime]: headers stamped in the future
	OutOfRange               // honest headers from other heights than asked
	Garbage                  // random bytes in place of each header
	Truncated                // each encoded header cut in half
	Oversized                // more headers than asked for
	Stall                    // read the request and never answer
	NotFound                 // claim to have no header at all
	// The tampering modes change one header in the middle of every answer
	// of several headers, keeping its old signature, under a genuine
	// highest header (see Tamper): only the hash links give them away.
	TamperedDataHash
	TamperedTime
	TamperedAppHash
	TamperedSignature // the middle header's signature changed instead
	BadTopSignature   // the highest header of every answer of several with a bad signature
	ForgedAnchor      // the lowest header of every answer of several above the first changed as TamperedAppHash: the header a chunk must extend
)

var modeNames = [...]string{"honest", "bad-signature", "fork", "broken-link", "wrong-chain-id", "future-time",
	"out-of-range", "garbage", "truncated", "oversized", "stall", "not-found",
	"tampered-data-hash", "tampered-time", "tampered-app-hash", "tampered-signature", "bad-top-signature", "forged-anchor"}

func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// Options describe an adversary.
type Options struct {
	ChainID string
	Kind    p2psync.Kind // whose protocol and topic; default headers
	// Honest is the chain the adversary knows, from the initial height.
	Honest []*types.SignedHeader
	// Alt are the chains served in the Fork, WrongChainID and FutureTime
	// modes, index for index with Honest: only the test can sign them.
	Alt   map[Mode][]*types.SignedHeader
	Seeds []string
	Mode  Mode
	// Logger for the adversary's own host.
	Logger *slog.Logger
}

// Adversary is a running misbehaving peer.
type Adversary struct {
	o      Options
	client *p2p.Client
	topic  *pubsub.Topic
	proto  protocol.ID
	mode   atomic.Int32
	served atomic.Int64 // exchange requests read

	stop    chan struct{} // closed by Close: releases stalled streams
	closing sync.Once
}

// Start runs an adversary on 127.0.0.1.
func Start(ctx context.Context, o Options) (*Adversary, error) {
	if o.Kind == "" {
		o.Kind = p2psync.Headers
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, err
	}
	cfg, err := p2pconf.Parse(config.P2PConfig{ListenAddress: []string{"/ip4/127.0.0.1/tcp/0"}, Seeds: o.Seeds})
	if err != nil {
		return nil, err
	}
	client, err := p2p.New(cfg, key, o.ChainID, nil, o.Logger)
	if err != nil {
		return nil, err
	}
	if err := client.Start(ctx); err != nil {
		return nil, err
	}
	topic, err := client.PubSub().Join(o.Kind.TopicID(o.ChainID))
	if err != nil {
		_ = client.Stop(context.Background())
		return nil, fmt.Errorf("join topic: %w", err)
	}
	a := &Adversary{o: o, client: client, topic: topic, proto: protocol.ID(o.Kind.ProtocolID(o.ChainID)), stop: make(chan struct{})}
	a.mode.Store(int32(o.Mode))
	client.Host().SetStreamHandler(a.proto, a.handle)
	return a, nil
}

// Close stops the adversary.
func (a *Adversary) Close() error {
	a.closing.Do(func() { close(a.stop) })
	a.client.Host().RemoveStreamHandler(a.proto)
	_ = a.topic.Close() // the client's Stop tears it down anyway
	return a.client.Stop(context.Background())
}

// Client returns the adversary's libp2p client.
func (a *Adversary) Client() *p2p.Client { return a.client }

// Addr returns a multiaddr to seed from.
func (a *Adversary) Addr() string { return a.client.Addrs()[0].String() }

// SetMode changes how the adversary answers from now on.
func (a *Adversary) SetMode(m Mode) { a.mode.Store(int32(m)) }

// Served counts the exchange requests the adversary has read.
func (a *Adversary) Served() int64 { return a.served.Load() }

// Gossip publishes raw bytes on the chain's topic, unvalidated.
func (a *Adversary) Gossip(ctx context.Context, data []byte) error {
	return a.topic.Publish(ctx, data)
}

// TopicPeers lists the peers the adversary sees on the topic.
func (a *Adversary) TopicPeers() int { return len(a.topic.ListPeers()) }

func (a *Adversary) handle(s network.Stream) {
	var req p2p_pb.HeaderRequest
	if _, err := serde.Read(s, &req); err != nil {
		_ = s.Reset()
		return
	}
	a.served.Add(1)
	mode := Mode(a.mode.Load())
	switch mode {
	case Stall:
		<-a.stop // hold the stream open, answering nothing, until closed
		_ = s.Reset()
		return
	case NotFound:
		_, _ = serde.Write(s, &p2p_pb.HeaderResponse{StatusCode: p2p_pb.StatusCode_NOT_FOUND})
		_ = s.Close()
		return
	}
	for _, body := range a.answer(&req, mode) {
		if _, err := serde.Write(s, &p2p_pb.HeaderResponse{Body: body, StatusCode: p2p_pb.StatusCode_OK}); err != nil {
			_ = s.Reset()
			return
		}
	}
	_ = s.Close()
}

// answer returns the encoded headers sent for req in mode.
func (a *Adversary) answer(req *p2p_pb.HeaderRequest, mode Mode) [][]byte {
	chain := a.o.Honest
	if alt, ok := a.o.Alt[mode]; ok {
		chain = alt
	}
	if len(chain) == 0 {
		return nil
	}
	base := a.o.Honest[0].Height()
	from, n := uint64(0), req.Amount
	switch {
	case req.GetHash() != nil:
		for i, h := range a.o.Honest {
			if string(h.Hash()) == string(req.GetHash()) {
				from = uint64(i)
			}
		}
		n = 1
	case req.GetOrigin() == 0:
		from, n = uint64(len(chain)-1), 1
	case req.GetOrigin() < base:
		return nil
	default:
		from = req.GetOrigin() - base
	}
	skip := uint64(len(chain)) // index left out in BrokenLink mode
	switch {
	case req.GetOrigin() == 0 && req.GetHash() == nil:
		// A head request names no height to get wrong: answer it
		// honestly, so that the lie comes with the ranges.
	case mode == OutOfRange:
		from += 7
	case mode == Oversized:
		n += 10
	case mode == BrokenLink && n == 1:
		from++ // the next header instead of the one asked for
	case mode == BrokenLink:
		skip = from + 1
	}
	var picked []*types.SignedHeader
	for i := from; i < uint64(len(chain)) && uint64(len(picked)) < n; i++ {
		if i != skip {
			picked = append(picked, chain[i])
		}
	}
	switch {
	case len(picked) == 0:
	case mode == BadTopSignature && len(picked) > 1:
		picked[len(picked)-1] = Tamper(picked[len(picked)-1], BadSignature)
	case mode == ForgedAnchor && len(picked) > 1 && req.GetOrigin() > base:
		picked[0] = Tamper(picked[0], TamperedAppHash)
	case mode >= TamperedDataHash && mode <= TamperedSignature && len(picked) > 1:
		picked[len(picked)/2] = Tamper(picked[len(picked)/2], mode)
	}
	var out [][]byte
	for _, h := range picked {
		out = append(out, encode(h, mode))
	}
	return out
}

// Tamper returns h changed as mode changes it: for the tampering modes, a
// field changed with the old signature kept (TamperedSignature: the
// signature changed), for BadSignature a signature bit flipped. Other modes
// return h. A test uses it to tell what the adversary served.
func Tamper(h *types.SignedHeader, mode Mode) *types.SignedHeader {
	hdr, sig := h.Header(), append([]byte(nil), h.Signature()...)
	switch mode {
	case TamperedDataHash:
		hdr.DataHash = flip(hdr.DataHash)
	case TamperedTime:
		hdr.Time = hdr.Time.Add(time.Millisecond)
	case TamperedAppHash:
		if len(hdr.AppHash) == 0 {
			hdr.AppHash = make([]byte, types.HashSize)
		}
		hdr.AppHash = flip(hdr.AppHash)
	case TamperedSignature, BadSignature:
		sig = flip(sig)
	default:
		return h
	}
	return types.NewSignedHeader(hdr, sig, h.Signer())
}

func flip(b []byte) []byte {
	out := append([]byte(nil), b...)
	out[len(out)/2] ^= 1
	return out
}

func encode(h *types.SignedHeader, mode Mode) []byte {
	switch mode {
	case BadSignature:
		h = Tamper(h, BadSignature)
	case Garbage:
		junk := make([]byte, 300)
		_, _ = rand.Read(junk)
		return junk
	}
	enc, _ := h.MarshalBinary() // a built header always encodes
	if mode == Truncated {
		enc = enc[:len(enc)/2]
	}
	return enc
}
