package main

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/router"
	"github.com/gammazero/nexus/v3/router/auth"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn"
	"github.com/wampfn/wampfn/wampfntest"
	"go.uber.org/goleak"
)

// authKeys is a nexus KeyStore with one user per method: "tix" (ticket),
// "cra" (WAMP-CRA, unsalted) and "signer" (cryptosign).
type authKeys struct{ pub ed25519.PublicKey }

const (
	cliTicket = "ticket-cli"
	cliSecret = "secret-cli"
	cliSeed   = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
)

func (k authKeys) AuthKey(authid, method string) ([]byte, error) {
	switch {
	case authid == "tix" && method == "ticket":
		return []byte(cliTicket), nil
	case authid == "cra" && method == "wampcra":
		return []byte(cliSecret), nil
	case authid == "signer" && method == "cryptosign":
		return k.pub, nil
	}
	return nil, fmt.Errorf("no %s key for %q", method, authid)
}
func (authKeys) PasswordInfo(string) (string, int, int) { return "", 0, 0 }
func (authKeys) AuthRole(string) (string, error)        { return "user", nil }
func (authKeys) Provider() string                       { return "cli-test" }

// TestAuthFlags: each authentication flag, and its environment variable,
// is accepted with the right secret and refused with a wrong one, in one
// line that says why.
func TestAuthFlags(t *testing.T) {
	snap := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, snap) })
	key, err := wampfn.ParsePrivateKey(cliSeed)
	require.NoError(t, err)
	r := wampfntest.NewRouter(t, wampfntest.WithRealmConfig(func(rc *router.RealmConfig) {
		rc.AnonymousAuth = false
		keys := authKeys{pub: key.Public().(ed25519.PublicKey)}
		rc.Authenticators = []auth.Authenticator{
			auth.NewTicketAuthenticator(keys, time.Second),
			auth.NewCRAuthenticator(keys, time.Second),
			auth.NewCryptoSignAuthenticator(keys, time.Second),
		}
	}))
	// A callee on the router itself (in-process sessions skip authentication).
	require.NoError(t, wampfn.Register(r.Connect(t, wampfntest.InProcess), "test.cli.echo", func(s string) string { return s }))
	other := strings.Repeat("ab", 32)

	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		refused string // "" when accepted
	}{
		{"ticket", []string{"--authid", "tix", "--ticket", cliTicket}, nil, ""},
		{"ticket wrong", []string{"--authid", "tix", "--ticket", "nope"}, nil, "invalid ticket"},
		{"wampcra", []string{"--authid", "cra", "--secret", cliSecret}, nil, ""},
		{"wampcra wrong", []string{"--authid", "cra", "--secret", "nope"}, nil, "invalid signature"},
		{"cryptosign", []string{"--authid", "signer", "--private-key", cliSeed}, nil, ""},
		{"cryptosign wrong", []string{"--authid", "signer", "--private-key", other}, nil, "invalid signature"},
		{"env", nil, map[string]string{"WAMPFN_AUTHID": "cra", "WAMPFN_SECRET": cliSecret}, ""},
		{"anonymous", nil, nil, "ABORT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"call", "--url", r.URL()}, tt.args...)
			args = append(args, "test.cli.echo", "hi")
			env := func(k string) string { return tt.env[k] }
			code := run(t.Context(), args, env, &out, &errOut)
			if tt.refused == "" {
				require.Equal(t, exitOK, code, errOut.String())
				require.Equal(t, "\"hi\"\n", out.String())
				return
			}
			require.Equal(t, exitFailed, code)
			require.Empty(t, out.String())
			line := errOut.String()
			require.Equal(t, 1, strings.Count(line, "\n"), "one line: %q", line)
			require.Contains(t, line, "the router refused the session")
			// The nexus router can close the connection before its
			// ABORT, with the reason, is written: then there is none.
			if !strings.Contains(line, "without a reason") {
				require.Contains(t, line, tt.refused)
			}
		})
	}

	// Usage errors about authentication.
	for args, want := range map[string]string{
		"--ticket t --secret s":   "give one of --ticket, --secret and --private-key",
		"--private-key zz":        "--private-key: not hex",
		"--private-key " + "00ff": "--private-key: 2 bytes, want the 32-byte ed25519 seed",
	} {
		var out, errOut bytes.Buffer
		a := append(append([]string{"call", "--url", r.URL()}, strings.Fields(args)...), "test.cli.echo")
		require.Equal(t, exitUsage, run(t.Context(), a, func(string) string { return "" }, &out, &errOut), args)
		require.Contains(t, errOut.String(), want, args)
	}
}
