package wire

import "strings"

// Code is the identity of an error that keeps it across the channel: the
// first byte of the payload of a RepErr frame, then the error's text. The
// table from errors to codes and back is the root package's (it holds the
// sentinels); the numbers are here, with the layout. They are part of the
// protocol: add codes, never renumber.
type Code byte

// Codes of errors. CodeNone is an error that matches no sentinel: its text
// is all there is.
const (
	CodeNone             Code = 0
	CodeNoWorker         Code = 1
	CodeNoReader         Code = 2
	CodeDisconnected     Code = 3
	CodeExists           Code = 4
	CodeConflict         Code = 5
	CodeInvalid          Code = 6
	CodeTooLarge         Code = 7
	CodeNotFound         Code = 8
	CodeInHandler        Code = 9
	CodeNotWorker        Code = 10
	CodeNotPrimary       Code = 11
	CodeUnsupported      Code = 12
	CodeNotRunning       Code = 13
	CodeRunning          Code = 14
	CodeNotRequest       Code = 15
	CodeReplied          Code = 16
	CodeForced           Code = 17
	CodeNotReady         Code = 18
	CodeCrashLoop        Code = 19
	CodeReloading        Code = 20
	CodeReloadAborted    Code = 21
	CodeInvalidConfig    Code = 22
	CodeCanceled         Code = 23
	CodeDeadlineExceeded Code = 24
	CodeLoadAborted      Code = 25
	CodeClosed           Code = 26
	CodeUnavailable      Code = 27
)

// CodeRemote is set on the code of an error made with Message.ReplyError:
// the requester gets a RemoteError (that also matches the code's sentinel).
const CodeRemote Code = 0x80

// AppendError appends the payload of an error reply: the code, then text.
func AppendError(b []byte, code Code, text string) []byte {
	return append(append(b, byte(code)), text...)
}

// ParseError splits the payload of an error reply. An empty payload is
// CodeNone with no text. It accepts any bytes.
func ParseError(p []byte) (code Code, text string) {
	if len(p) == 0 {
		return CodeNone, ""
	}
	return Code(p[0]), string(p[1:])
}

// Unprefixed returns s without its package prefix ("cluster: ", "kv: ", or
// that of an internal package, which a user does not import), so that an
// error wrapping another reads with one prefix.
func Unprefixed(s string) string {
	for _, p := range [...]string{"cluster: ", "kv: ", "wire: ", "state: "} {
		if t, ok := strings.CutPrefix(s, p); ok {
			return t
		}
	}
	return s
}
