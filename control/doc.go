// Package control serves a running cluster's control socket, which the
// gocluster CLI (and anything else) uses to see and steer it: status,
// scale, reload, stop, messages to workers, the shared state and the
// workers' logs.
//
// A program using package cluster gets the same socket the CLI would give
// it with [Listen] and [Server.Serve]:
//
//	p, err := cluster.New(cfg)
//	...
//	ctx, stop := context.WithCancel(context.Background())
//	srv, err := control.Listen(p, control.Options{Stop: stop})
//	...
//	go srv.Serve(ctx)
//	err = p.Run(ctx)
//
// and a client finds it with [Dial] at [DefaultPath] of the directory the
// cluster was started from.
//
// # Security
//
// The socket is a unix stream socket of mode 0600 in a directory of this
// user's that no one else may write to (created with mode 0700). Each
// connection's peer is asked of the kernel (SO_PEERCRED on Linux,
// LOCAL_PEERCRED on macOS and FreeBSD): a process of another user (root
// excepted) gets an error line and is closed. On other systems every
// connection is refused; on Windows [Listen] fails.
//
// # Protocol
//
// Newline-delimited JSON: the client writes one request per line, the
// server answers each with one line, {"ok":true,...} or {"error":"..."}.
// Streaming commands answer one line per item and end the connection; when
// they end on their own their last line holds "done":true.
//
//	{"cmd":"hello"}                          {"ok":true,"pid":1234,"name":"shop"}
//	{"cmd":"status"}                         {"ok":true,"status":{...}} (see Status)
//	{"cmd":"scale","n":4}                    {"ok":true} once there are 4 workers
//	{"cmd":"reload"}                         {"ok":true} once the reload is done
//	{"cmd":"stop"}                           {"ok":true}, then Options.Stop is called
//	{"cmd":"send","id":2,"message":"aGk="}   {"ok":true} (id 0: every worker)
//	{"cmd":"kv","op":"get","key":"k"}        {"ok":true,"found":true,"entry":{...}}
//	{"cmd":"kv","op":"put","key":"k","value":"dg=="}   {"ok":true,"rev":7}
//	{"cmd":"kv","op":"del","key":"k"}        {"ok":true,"rev":8}
//	{"cmd":"kv","op":"list","prefix":"p/"}   {"ok":true,"entry":{...}}... {"ok":true,"done":true}
//	{"cmd":"kv","op":"watch","prefix":"p/"}  {"ok":true,"event":{...}}... until the client closes
//	{"cmd":"logs","id":0,"n":50,"follow":true} {"ok":true,"line":{...}}...
//
// Byte strings (message, value) are base64, as encoding/json writes []byte.
package control
