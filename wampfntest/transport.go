package wampfntest

import "github.com/gammazero/nexus/v3/transport/serialize"

// A Transport is a way for a client to reach a Router: in-process, or over
// the router's loopback WebSocket with one serializer. Its value is its
// name, which is also what String returns: "inproc", "json", "msgpack" or
// "cbor", usable as a subtest name.
//
// What a callee receives depends on the caller's transport: over InProcess,
// the very Go values the caller sent; over a WebSocket, what the
// serializer decodes, which the router passes on as is. A non-negative
// integer arrives as uint64 from JSON and CBOR and as int64 from MsgPack (a
// negative one as int64 from all three), and a []byte arrives as []byte
// from MsgPack and CBOR and as a base64 string from JSON.
type Transport string

// The transports a client can reach a Router by.
const (
	// InProcess connects with client.ConnectLocal: no socket and no
	// serialization, so the callee receives the Go values the caller sent.
	InProcess Transport = "inproc"
	// JSON connects over the WebSocket with the JSON serializer
	// (subprotocol "wamp.2.json"): a []byte travels, and arrives, as a
	// base64 string.
	JSON Transport = "json"
	// MsgPack connects over the WebSocket with the MessagePack serializer
	// (subprotocol "wamp.2.msgpack").
	MsgPack Transport = "msgpack"
	// CBOR connects over the WebSocket with the CBOR serializer
	// (subprotocol "wamp.2.cbor").
	CBOR Transport = "cbor"
)

// Transports lists every Transport, in the order InProcess, JSON, MsgPack,
// CBOR, for table tests. Tests must not modify it.
var Transports = []Transport{InProcess, JSON, MsgPack, CBOR}

// String returns the transport's name: "inproc", "json", "msgpack" or
// "cbor".
func (tr Transport) String() string { return string(tr) }

// Serialization returns the serializer of a WebSocket transport, for a
// peer that dials the router's URL by itself (a raw WAMP peer); ok is
// false for InProcess and for an unknown Transport.
func (tr Transport) Serialization() (s serialize.Serialization, ok bool) {
	switch tr {
	case JSON:
		return serialize.JSON, true
	case MsgPack:
		return serialize.MSGPACK, true
	case CBOR:
		return serialize.CBOR, true
	}
	return 0, false
}
