package wampfn

import (
	"context"
	"crypto/ed25519"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/router"
	"github.com/gammazero/nexus/v3/router/auth"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn/wampfntest"
)

// testKeys is a nexus KeyStore of one user per authentication method:
// "tix" (ticket), "cra" (WAMP-CRA), "salty" (WAMP-CRA with a PBKDF2
// salted secret) and "signer" (cryptosign).
type testKeys struct {
	cryptosignPub ed25519.PublicKey
}

const (
	testTicket     = "ticket-7f3a"
	testSecret     = "secret-b91c"
	testSalt       = "salt123"
	testIterations = 100
	testKeyLen     = 32
)

// testSeed is the cryptosign user's ed25519 seed, as --private-key takes it.
var testSeed = "4d3f1c2b00112233445566778899aabbccddeeff00112233445566778899aabb"

func (k *testKeys) AuthKey(authid, authmethod string) ([]byte, error) {
	switch {
	case authid == "tix" && authmethod == "ticket":
		return []byte(testTicket), nil
	case authid == "cra" && authmethod == "wampcra":
		return []byte(testSecret), nil
	case authid == "salty" && authmethod == "wampcra":
		dk, err := pbkdf2.Key(sha256.New, testSecret, []byte(testSalt), testIterations, testKeyLen)
		return []byte(base64.StdEncoding.EncodeToString(dk)), err
	case authid == "signer" && authmethod == "cryptosign":
		return k.cryptosignPub, nil
	}
	return nil, fmt.Errorf("no %s key for %q", authmethod, authid)
}

func (k *testKeys) PasswordInfo(authid string) (string, int, int) {
	if authid == "salty" {
		return testSalt, testKeyLen, testIterations
	}
	return "", 0, 0
}

func (k *testKeys) AuthRole(authid string) (string, error) {
	switch authid {
	case "tix", "cra", "salty", "signer":
		return "backend", nil
	}
	return "", fmt.Errorf("no user %q", authid)
}

func (k *testKeys) Provider() string { return "wampfn-test" }

// newAuthRouter returns a router whose realm takes ticket, WAMP-CRA and
// cryptosign, and no anonymous session. pubkeys gets the authextra.pubkey
// of each cryptosign HELLO.
func newAuthRouter(t testing.TB) (r *wampfntest.Router, pubkeys <-chan any) {
	key, err := ParsePrivateKey(testSeed)
	require.NoError(t, err)
	keys := &testKeys{cryptosignPub: key.Public().(ed25519.PublicKey)}
	seen := make(chan any, 100)
	r = wampfntest.NewRouter(t, wampfntest.WithRealmConfig(func(rc *router.RealmConfig) {
		rc.AnonymousAuth = false
		rc.Authenticators = []auth.Authenticator{
			auth.NewTicketAuthenticator(keys, time.Second),
			auth.NewCRAuthenticator(keys, time.Second),
			pubkeyRecorder{auth.NewCryptoSignAuthenticator(keys, time.Second), seen},
		}
	}))
	return r, seen
}

// pubkeyRecorder is a cryptosign authenticator that records the pubkey of
// HELLO's authextra.
type pubkeyRecorder struct {
	auth.Authenticator
	seen chan<- any
}

func (p pubkeyRecorder) Authenticate(sid wamp.ID, details wamp.Dict, c wamp.Peer) (*wamp.Welcome, error) {
	extra, _ := wamp.AsDict(details["authextra"])
	select {
	case p.seen <- extra["pubkey"]:
	default:
	}
	return p.Authenticator.Authenticate(sid, details, c)
}

func TestDialAuthentication(t *testing.T) {
	noLeaks(t)
	r, pubkeys := newAuthRouter(t)
	key, err := ParsePrivateKey(testSeed)
	require.NoError(t, err)
	_, otherKey, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)

	tests := []struct {
		name    string
		cfg     DialConfig
		refused string // the router's reason, in the error; "" when accepted
	}{
		{"ticket", DialConfig{AuthID: "tix", Ticket: testTicket}, ""},
		{"ticket wrong", DialConfig{AuthID: "tix", Ticket: "nope"}, "invalid ticket"},
		{"wampcra", DialConfig{AuthID: "cra", Secret: testSecret}, ""},
		{"wampcra wrong", DialConfig{AuthID: "cra", Secret: "nope"}, "invalid signature"},
		{"wampcra salted", DialConfig{AuthID: "salty", Secret: testSecret}, ""},
		{"wampcra salted wrong", DialConfig{AuthID: "salty", Secret: "nope"}, "invalid signature"},
		{"cryptosign", DialConfig{AuthID: "signer", PrivateKey: key}, ""},
		{"cryptosign wrong", DialConfig{AuthID: "signer", PrivateKey: otherKey}, "invalid signature"},
		{"anonymous", DialConfig{}, "ABORT"},
	}
	for _, ser := range []string{"json", "msgpack", "cbor"} {
		for _, tt := range tests {
			t.Run(ser+"/"+tt.name, func(t *testing.T) {
				cfg := tt.cfg
				cfg.Realm, cfg.Serializer = r.Realm(), ser
				c, err := Dial(r.URL(), cfg)(t.Context())
				if cfg.PrivateKey != nil {
					require.Equal(t, hex.EncodeToString(cfg.PrivateKey.Public().(ed25519.PublicKey)), <-pubkeys, "HELLO's authextra.pubkey")
				}
				if tt.refused == "" {
					require.NoError(t, err)
					require.Equal(t, "backend", c.RealmDetails()["authrole"], "the router's authrole for the user")
					require.Equal(t, cfg.AuthID, c.RealmDetails()["authid"])
					require.NoError(t, c.Close())
					return
				}
				requireRefused(t, err, tt.refused)
				require.ErrorContains(t, err, "wampfn: connect "+r.URL()+`, realm "realm1": the router refused the session`)
			})
		}
	}
}

func TestDialErrors(t *testing.T) {
	noLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	unused := "ws://" + ln.Addr().String() + "/ws"
	require.NoError(t, ln.Close())
	_, err = Dial(unused, DialConfig{Realm: "realm1"})(t.Context())
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrSessionRefused)
	require.ErrorContains(t, err, "wampfn: connect "+unused+": ")

	_, err = Dial(unused, DialConfig{Realm: "realm1", Serializer: "xml"})(t.Context())
	require.ErrorContains(t, err, `unknown serializer "xml": want json, msgpack or cbor`)

	for seed, want := range map[string]string{
		"zz":                                 "not hex",
		hex.EncodeToString(make([]byte, 31)): "31 bytes, want the 32-byte ed25519 seed",
	} {
		_, err := ParsePrivateKey(seed)
		require.ErrorContains(t, err, want)
	}

	r := wampfntest.NewRouter(t)
	_, err = Dial(r.URL(), DialConfig{Realm: "nosuchrealm"})(t.Context())
	requireRefused(t, err, "wamp.error.no_such_realm")

	// A router that challenges, then stops answering: no refusal, but a
	// router that is not there.
	release := make(chan struct{})
	stalling := wampfntest.NewRouter(t, wampfntest.WithRealmConfig(func(rc *router.RealmConfig) {
		rc.AnonymousAuth = false
		rc.Authenticators = []auth.Authenticator{stallAuth{release}}
	}))
	t.Cleanup(func() { close(release) }) // before the router closes (cleanups run last first)
	_, err = Dial(stalling.URL(), DialConfig{Realm: "realm1", AuthID: "x", Ticket: "t", ResponseTimeout: 200 * time.Millisecond})(t.Context())
	require.ErrorContains(t, err, "timeout waiting for message")
	require.NotErrorIs(t, err, ErrSessionRefused)
}

// stallAuth challenges, then answers nothing until release is closed.
type stallAuth struct{ release <-chan struct{} }

func (stallAuth) AuthMethod() string { return "ticket" }

func (a stallAuth) Authenticate(_ wamp.ID, _ wamp.Dict, c wamp.Peer) (*wamp.Welcome, error) {
	c.Send() <- &wamp.Challenge{AuthMethod: "ticket", Extra: wamp.Dict{}}
	<-a.release
	return nil, errors.New("released")
}

// requireRefused requires err to be a refused session, for the router's
// reason or, when the nexus router closed the connection before its ABORT
// was written (a race in its AttachClient: send, then close), for none.
func requireRefused(t testing.TB, err error, reason string) {
	t.Helper()
	require.ErrorIs(t, err, ErrSessionRefused)
	if !strings.Contains(err.Error(), closedWithoutReason) {
		require.ErrorContains(t, err, reason)
	}
}

// TestSignCryptosign: the signature is WAMP cryptosign's, the ed25519
// signature of the challenge's bytes followed by them, in hex (nexus's
// verifier does not check that the signed bytes are its challenge).
func TestSignCryptosign(t *testing.T) {
	key, err := ParsePrivateKey(testSeed)
	require.NoError(t, err)
	challenge := []byte("0123456789abcdef0123456789abcdef")
	sig, err := hex.DecodeString(signCryptosign(key, &wamp.Challenge{Extra: wamp.Dict{"challenge": hex.EncodeToString(challenge)}}))
	require.NoError(t, err)
	require.Len(t, sig, ed25519.SignatureSize+len(challenge))
	require.True(t, ed25519.Verify(key.Public().(ed25519.PublicKey), challenge, sig[:ed25519.SignatureSize]))
	require.Equal(t, challenge, sig[ed25519.SignatureSize:])
	require.Empty(t, signCryptosign(key, &wamp.Challenge{Extra: wamp.Dict{"challenge": "not hex"}}))
}

// TestServiceDialAuthentication: a Service built with Dial serves on a
// router that requires authentication, and reports a refused session.
func TestServiceDialAuthentication(t *testing.T) {
	noLeaks(t)
	r, _ := newAuthRouter(t)
	s := NewService(Dial(r.URL(), DialConfig{Realm: r.Realm(), AuthID: "cra", Secret: testSecret}))
	require.NoError(t, s.Register("test.auth.echo", func(s string) string { return s }))
	runService(t, s)
	caller, err := Dial(r.URL(), DialConfig{Realm: r.Realm(), AuthID: "tix", Ticket: testTicket})(t.Context())
	require.NoError(t, err)
	defer caller.Close()
	res := callUntil(t, caller, "test.auth.echo", wamp.List{"hi"}, 10*time.Second)
	require.Equal(t, wamp.List{"hi"}, res.Arguments)

	refused := make(chan error, 1)
	bad := NewService(Dial(r.URL(), DialConfig{Realm: r.Realm(), AuthID: "cra", Secret: "nope"}),
		WithBackoff(time.Hour, time.Hour), WithErrorHandler(func(err error) {
			select {
			case refused <- err:
			default:
			}
		}))
	runService(t, bad)
	select {
	case err := <-refused:
		requireRefused(t, err, "invalid signature")
		// Dial's error names the URL and the realm; the Service reports it as it is.
		require.True(t, strings.HasPrefix(err.Error(), "wampfn: connect "+r.URL()+`, realm "`+r.Realm()+`": `), err.Error())
		require.Equal(t, 1, strings.Count(err.Error(), "wampfn: connect"), err.Error())
	case <-time.After(10 * time.Second):
		t.Fatal("the Service did not report the refused session")
	}
}

// TestServiceDialFails: the Service names its connection attempt in the
// error of a dial function of the user's, which does not.
func TestServiceDialFails(t *testing.T) {
	noLeaks(t)
	failed := make(chan error, 1)
	s := NewService(func(context.Context) (*client.Client, error) { return nil, errors.New("no route to router") },
		WithBackoff(time.Hour, time.Hour), WithErrorHandler(func(err error) {
			select {
			case failed <- err:
			default:
			}
		}))
	runService(t, s)
	select {
	case err := <-failed:
		require.EqualError(t, err, "wampfn: connect: no route to router")
	case <-time.After(10 * time.Second):
		t.Fatal("the Service did not report the failed dial")
	}
}
