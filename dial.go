package wampfn

// Connecting (before stage 1): Dial, a Service's dial function for a
// router that needs authentication, TLS or another serializer.

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/transport/serialize"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/gammazero/nexus/v3/wamp/crsign"
)

// DialConfig says how Dial connects and joins a realm.
type DialConfig struct {
	// Realm is the realm to join.
	Realm string
	// Serializer is "json" (the default when empty), "msgpack" or "cbor".
	Serializer string
	// AuthID and AuthRole go in HELLO; AuthID is needed by WAMP-CRA and
	// cryptosign.
	AuthID, AuthRole string
	// Ticket authenticates with the ticket method; Secret with WAMP-CRA,
	// salted (PBKDF2, as the challenge says) or not; PrivateKey with
	// cryptosign (an ed25519 key; its public key goes in HELLO's
	// authextra). Give one or more: the router picks among them. With
	// none, the session is anonymous.
	Ticket     string
	Secret     string
	PrivateKey ed25519.PrivateKey
	// TLS is the TLS configuration for wss:// and tcps:// URLs (nil: the
	// defaults).
	TLS *tls.Config
	// ResponseTimeout bounds each wait for the router (nexus's default, 5
	// s, when 0).
	ResponseTimeout time.Duration
	// Logger gets nexus's client log; nil discards it.
	Logger *log.Logger
}

// ParseSerializer returns the nexus serialization named "json", "msgpack"
// or "cbor" ("" is json).
func ParseSerializer(name string) (serialize.Serialization, error) {
	switch name {
	case "", "json":
		return serialize.JSON, nil
	case "msgpack":
		return serialize.MSGPACK, nil
	case "cbor":
		return serialize.CBOR, nil
	}
	return 0, fmt.Errorf("wampfn: unknown serializer %q: want json, msgpack or cbor", name)
}

// ParsePrivateKey returns the ed25519 private key of a cryptosign seed
// in hex: 32 bytes, 64 hex digits (the form Crossbar.io and Autobahn
// keep).
func ParsePrivateKey(seedHex string) (ed25519.PrivateKey, error) {
	seed, err := hex.DecodeString(seedHex)
	if err != nil {
		return nil, fmt.Errorf("wampfn: cryptosign private key: not hex: %w", err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("wampfn: cryptosign private key: %d bytes, want the %d-byte ed25519 seed", len(seed), ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// ErrSessionRefused is wrapped by the error of a Dial whose router
// refused the session: an authentication that failed, an unknown realm.
var ErrSessionRefused = errors.New("the router refused the session")

// Dial returns a function that connects to the router at url (ws://,
// wss://, tcp://, tcps://, unix://, as nexus's client.ConnectNet dials)
// and joins cfg.Realm as cfg says: a dial function for NewService, or a
// connection for a one-off caller (Dial(url, cfg)(ctx)).
//
//	s := wampfn.NewService(wampfn.Dial("wss://router.example.com/ws", wampfn.DialConfig{
//		Realm: "realm1", AuthID: "backend", Secret: os.Getenv("WAMP_SECRET"),
//	}))
//
// Its errors name the URL; a session that the router refused wraps
// ErrSessionRefused and says why, as the router put it.
func Dial(url string, cfg DialConfig) func(ctx context.Context) (*client.Client, error) {
	return func(ctx context.Context) (*client.Client, error) {
		var challenged atomic.Bool // the router answered HELLO with a CHALLENGE
		ccfg, err := cfg.clientConfig(&challenged)
		if err != nil {
			return nil, dialFailed{fmt.Errorf("wampfn: connect %s: %w", url, err)}
		}
		c, err := client.ConnectNet(ctx, url, ccfg)
		if err != nil {
			return nil, dialError(url, cfg.Realm, err, challenged.Load())
		}
		return c, nil
	}
}

// clientConfig turns cfg into nexus's client.Config.
// challenged is set when an authentication function runs.
func (cfg DialConfig) clientConfig(challenged *atomic.Bool) (client.Config, error) {
	ser, err := ParseSerializer(cfg.Serializer)
	if err != nil {
		return client.Config{}, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = log.New(io.Discard, "", 0)
	}
	details := wamp.Dict{}
	if cfg.AuthID != "" {
		details["authid"] = cfg.AuthID
	}
	if cfg.AuthRole != "" {
		details["authrole"] = cfg.AuthRole
	}
	auth := map[string]client.AuthFunc{}
	if cfg.Ticket != "" {
		ticket := cfg.Ticket
		auth["ticket"] = func(*wamp.Challenge) (string, wamp.Dict) {
			challenged.Store(true)
			return ticket, wamp.Dict{}
		}
	}
	if cfg.Secret != "" {
		secret := cfg.Secret
		auth["wampcra"] = func(c *wamp.Challenge) (string, wamp.Dict) {
			challenged.Store(true)
			return crsign.RespondChallenge(secret, c, nil), wamp.Dict{}
		}
	}
	if cfg.PrivateKey != nil {
		key := cfg.PrivateKey
		details["authextra"] = wamp.Dict{"pubkey": hex.EncodeToString(key.Public().(ed25519.PublicKey))}
		auth["cryptosign"] = func(c *wamp.Challenge) (string, wamp.Dict) {
			challenged.Store(true)
			return signCryptosign(key, c), wamp.Dict{}
		}
	}
	return client.Config{
		Realm:           cfg.Realm,
		HelloDetails:    details,
		AuthHandlers:    auth,
		Serialization:   ser,
		TlsCfg:          cfg.TLS,
		ResponseTimeout: cfg.ResponseTimeout,
		Logger:          logger,
	}, nil
}

// signCryptosign answers a cryptosign challenge: the ed25519 signature of
// the challenge's bytes followed by them, in hex (WAMP's cryptosign, as
// nexus and Crossbar.io verify it). A challenge that is not hex gets an
// empty signature, which the router refuses.
func signCryptosign(key ed25519.PrivateKey, c *wamp.Challenge) string {
	ch, _ := wamp.AsString(c.Extra["challenge"])
	msg, err := hex.DecodeString(ch)
	if err != nil {
		return ""
	}
	return hex.EncodeToString(append(ed25519.Sign(key, msg), msg...))
}

// dialError names url in err, and marks a refused session: one that the
// router aborted after HELLO, or after a CHALLENGE was answered (nexus
// returns the router's message, such as "invalid signature", as it is),
// or whose connection the router closed during the join (the nexus v3.3.0
// router can close it before its ABORT is written: it sends, then closes);
// but not a router that stopped answering, nor one without the roles a
// client needs.
func dialError(url, realm string, err error, challenged bool) error {
	msg := err.Error()
	switch {
	case msg == "receive channel closed":
		return dialFailed{fmt.Errorf("wampfn: connect %s, realm %q: %w: %s", url, realm, ErrSessionRefused, closedWithoutReason)}
	case strings.HasPrefix(msg, "received unexpected ABORT"),
		challenged && msg != "timeout waiting for message" && !errors.Is(err, client.ErrRouterNoRoles):
		return dialFailed{fmt.Errorf("wampfn: connect %s, realm %q: %w: %v", url, realm, ErrSessionRefused, err)}
	}
	return dialFailed{fmt.Errorf("wampfn: connect %s: %w", url, err)}
}

// dialFailed is an error of Dial's: it already says what it connected
// to, so a Service reports it as it is.
type dialFailed struct{ error }

func (e dialFailed) Unwrap() error { return e.error }

// closedWithoutReason is the reason of a refusal whose ABORT was lost.
const closedWithoutReason = "the router closed the connection during the join, without a reason"
