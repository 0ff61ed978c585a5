// Command testcallee is one callee process of wampfn's scale-out test
// (scaleout_test.go): it serves one procedure with a shared registration
// (invoke: roundrobin) through a wampfn.Service until SIGTERM or SIGINT,
// then shuts down gracefully and exits 0. It prints "ready" on stdout
// each time it has connected and registered the procedure.
//
// The procedure takes (n, interval_ms), sends n progressive results
// {"pid": os.Getpid(), "seq": i}, one every interval_ms milliseconds, and
// returns the process ID, so that a caller can tell which process served
// it.
//
//	testcallee -router ws://127.0.0.1:8080/ -realm realm1 -procedure com.example.stream
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/transport/serialize"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/wampfn/wampfn"
)

// Progress is one progressive result.
type Progress struct {
	Pid int `json:"pid"`
	Seq int `json:"seq"`
}

func stream(ctx context.Context, n, intervalMS int, sink wampfn.ProgressSink[Progress]) (int, error) {
	pid := os.Getpid()
	t := time.NewTicker(time.Duration(max(intervalMS, 1)) * time.Millisecond)
	defer t.Stop()
	for i := range n {
		if err := sink.Send(Progress{Pid: pid, Seq: i}); err != nil {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-t.C:
		}
	}
	return pid, nil
}

func main() {
	routerURL := flag.String("router", "", "router URL (ws://...)")
	realm := flag.String("realm", "realm1", "WAMP realm")
	procedure := flag.String("procedure", "", "procedure URI")
	flag.Parse()
	if *routerURL == "" || *procedure == "" {
		fmt.Fprintln(os.Stderr, "testcallee: -router and -procedure are required")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	s := wampfn.NewService(func(ctx context.Context) (*client.Client, error) {
		return client.ConnectNet(ctx, *routerURL, client.Config{
			Realm:         *realm,
			Serialization: serialize.MSGPACK,
		})
	}, wampfn.WithBackoff(50*time.Millisecond, time.Second), wampfn.WithShutdownTimeout(5*time.Second),
		wampfn.WithOnConnect(func(context.Context, *client.Client) { fmt.Println("ready") }))
	err := s.Register(*procedure, stream,
		wampfn.WithParamNames("n", "interval_ms"),
		wampfn.WithRegisterOptions(wamp.Dict{"invoke": "roundrobin"}))
	if err == nil {
		err = s.Run(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testcallee:", err)
		os.Exit(1)
	}
}
