package wampfntest

import (
	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/router"
	"github.com/gammazero/nexus/v3/stdlog"
)

// A RouterOption adjusts a Router made by NewRouter. Options apply in the
// order given.
type RouterOption interface{ applyRouter(*routerOptions) }

type routerOptionFunc func(*routerOptions)

func (f routerOptionFunc) applyRouter(o *routerOptions) { f(o) }

type routerOptions struct {
	realm        string
	realmConfigs []func(*router.RealmConfig)
	wsConfigs    []func(*router.WebsocketServer)
	outQueueSize int
	logger       stdlog.StdLog
	address      string
}

// WithRealm sets the URI of the router's realm, DefaultRealm if not given.
// When repeated, the last one wins. A function given to WithRealmConfig
// sees this URI and may still change it.
func WithRealm(uri string) RouterOption {
	return routerOptionFunc(func(o *routerOptions) { o.realm = uri })
}

// WithRealmConfig adds a function that adjusts the realm's configuration
// before the router is made: StrictURI, Authenticators, Authorizer,
// AllowDisclose, and so on. The function receives a RealmConfig with URI
// set (see WithRealm), AnonymousAuth and AllowDisclose true, and the rest
// zero. When repeated, every function runs, in the order given. A realm
// that refuses anonymous clients needs WithClientConfig on every Connect.
func WithRealmConfig(fn func(*router.RealmConfig)) RouterOption {
	return routerOptionFunc(func(o *routerOptions) { o.realmConfigs = append(o.realmConfigs, fn) })
}

// WithOutQueueSize sets the WebSocket server's OutQueueSize: how many
// messages the router queues for each WebSocket client, on top of what the
// socket buffers. While a client's queue is full, the router drops an EVENT
// to it and refuses an INVOCATION with wamp.error.network_failure ("callee
// blocked"): it hands an INVOCATION to a callee only when the queue has
// room. Zero, the default, is nexus's default (64); a negative n fails the
// test. When repeated, the last one wins. It does not affect InProcess
// clients, whose queue is client.Config.LocalQueueSize (see
// WithClientConfig).
func WithOutQueueSize(n int) RouterOption {
	return routerOptionFunc(func(o *routerOptions) { o.outQueueSize = n })
}

// WithWebsocketServer adds a function that adjusts the WebSocket server
// after it is made and before it serves: KeepAlive, Upgrader,
// EnableRequestCapture, and so on. When repeated, every function runs, in
// the order given, after WithOutQueueSize is applied.
func WithWebsocketServer(fn func(*router.WebsocketServer)) RouterOption {
	return routerOptionFunc(func(o *routerOptions) { o.wsConfigs = append(o.wsConfigs, fn) })
}

// WithLogger sets the logger of the router and of its WebSocket server's
// HTTP server, and the default logger of the clients made by Connect and
// Dialer (WithClientConfig may set another). A nil logger, the default,
// discards everything. When repeated, the last one wins.
func WithLogger(l stdlog.StdLog) RouterOption {
	return routerOptionFunc(func(o *routerOptions) { o.logger = l })
}

// WithAddress sets the host:port the WebSocket server listens on, by
// default "127.0.0.1:0" (a free loopback port). NewRouter retries the
// listen for up to 5 seconds, so that a router can be restarted on the
// address of one just closed (Router.Addr), for example to test a client's
// reconnection. When repeated, the last one wins.
func WithAddress(addr string) RouterOption {
	return routerOptionFunc(func(o *routerOptions) { o.address = addr })
}

// A ConnectOption adjusts a client made by Router.Connect or by a
// Router.Dialer's dial function. Options apply in the order given.
type ConnectOption interface{ applyConnect(*connectOptions) }

type connectOptionFunc func(*connectOptions)

func (f connectOptionFunc) applyConnect(o *connectOptions) { f(o) }

type connectOptions struct {
	configs []func(*client.Config)
}

// WithClientConfig adds a function that adjusts the client's configuration
// before it connects: LocalQueueSize, ResponseTimeout, AuthHandlers,
// HelloDetails, and so on. The function receives a client.Config with Realm
// (Router.Realm) and Logger (see WithLogger) filled in. When repeated,
// every function runs, in the order given. The Serialization field is then
// set from the Transport, overriding any value the functions set.
func WithClientConfig(fn func(*client.Config)) ConnectOption {
	return connectOptionFunc(func(o *connectOptions) { o.configs = append(o.configs, fn) })
}

// clientConfig builds the configuration of a client on transport tr.
func (r *Router) clientConfig(tr Transport, opts []ConnectOption) client.Config {
	var o connectOptions
	for _, opt := range opts {
		if opt != nil {
			opt.applyConnect(&o)
		}
	}
	cfg := client.Config{Realm: r.realm, Logger: r.logger}
	for _, fn := range o.configs {
		if fn != nil {
			fn(&cfg)
		}
	}
	if s, ok := tr.Serialization(); ok {
		cfg.Serialization = s
	}
	return cfg
}
