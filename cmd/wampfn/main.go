// Command wampfn calls, describes and lists the procedures of a WAMP
// router's realm, the way grpcurl does for gRPC.
//
//	wampfn call [flags] PROCEDURE [ARG...]        call, with --progress, --repeat for load
//	wampfn describe [flags] --discovery URI [PROCEDURE]   the signatures of a wampfn Service's OpenRPC document
//	wampfn list [flags]                            the procedures registered on the realm
//	wampfn gen ts|py [flags] (--discovery URI | --from FILE)   a typed Autobahn|JS or Autobahn|Python client
//
// Flags come before the positional arguments. The connection flags, on
// every subcommand, each with an environment variable that the flag
// overrides:
//
//	--url URL           WAMPFN_URL          ws://localhost:8080/ws (also wss://, tcp://, tcps://, unix://)
//	--realm REALM       WAMPFN_REALM        realm1
//	--serializer NAME   WAMPFN_SERIALIZER   json, msgpack or cbor (json)
//	--authid ID         WAMPFN_AUTHID
//	--authrole ROLE     WAMPFN_AUTHROLE
//	--ticket T          WAMPFN_TICKET       ticket authentication
//	--secret S          WAMPFN_SECRET       WAMP-CRA, salted or not, as the challenge says
//	--private-key HEX   WAMPFN_PRIVATE_KEY  cryptosign: the 32-byte ed25519 seed in hex
//
// Exit status: 0 on success; 1 when the router or the callee answered
// with an error, or the connection failed; 2 on a usage error; 130 when
// interrupted (SIGINT or SIGTERM) while connecting or calling: the call
// is cancelled, and wampfn waits up to 2 s for its answer, and for a
// write to a stdout that nobody reads. Each failure is one line on
// stderr.
//
// Install it with go install github.com/wampfn/wampfn/cmd/wampfn@latest.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// A command is one subcommand: it parses its own flags from args.
type command struct {
	name, usage string
	run         func(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int
}

var commands = []command{
	{"call", "call [flags] PROCEDURE [ARG...]", runCall},
	{"describe", "describe [flags] --discovery URI [PROCEDURE]", runDescribe},
	{"list", "list [flags]", runList},
	{"gen", "gen ts|py [flags] (--discovery URI | --from FILE) [--prefix P] [-o FILE]", runGen},
}

// run is main with its environment passed in, for tests: args without
// the program's name, env for the environment variables. ctx ends on
// SIGINT or SIGTERM. It returns the exit status.
func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "wampfn: missing command: want call, describe, list or gen (wampfn -h lists them)")
		return exitUsage
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stdout, "usage: wampfn COMMAND [flags] [ARG...]; commands:")
		for _, c := range commands {
			fmt.Fprintln(stdout, "  wampfn "+c.usage)
		}
		fmt.Fprintln(stdout, "wampfn COMMAND -h lists a command's flags.")
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], env, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "wampfn: unknown command %q: want call, describe, list or gen\n", args[0])
	return exitUsage
}
