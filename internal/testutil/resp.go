package testutil

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"testing"
	"time"
)

// RawConn speaks RESP over a connection and hands back each reply's exact
// bytes, for tests that compare the wire format rather than decoded values.
type RawConn struct {
	Conn    net.Conn
	Timeout time.Duration // per Do, Send and ReadReply; 10s by default
	r       *bufio.Reader
}

// NewRawConn wraps an open connection.
func NewRawConn(c net.Conn) *RawConn {
	return &RawConn{Conn: c, Timeout: 10 * time.Second, r: bufio.NewReaderSize(c, 64<<10)}
}

// DialRaw connects to addr and closes the connection when the test ends.
func DialRaw(tb testing.TB, addr string) *RawConn {
	tb.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		tb.Fatalf("dialing %s: %v", addr, err)
	}
	tb.Cleanup(func() { c.Close() })
	return NewRawConn(c)
}

// Close closes the connection.
func (rc *RawConn) Close() error { return rc.Conn.Close() }

// Do sends args as a RESP array of bulk strings and returns the raw bytes of
// the one reply that follows.
func (rc *RawConn) Do(args ...string) ([]byte, error) {
	if err := rc.Send(EncodeCommand(args...)); err != nil {
		return nil, err
	}
	return rc.ReadReply()
}

// Pipeline sends every command in one write, then reads one reply per
// command, so thousands of comparisons cost one round trip.
func (rc *RawConn) Pipeline(cmds ...[]string) ([][]byte, error) {
	var buf []byte
	for _, args := range cmds {
		buf = append(buf, EncodeCommand(args...)...)
	}
	if err := rc.Send(buf); err != nil {
		return nil, err
	}
	out := make([][]byte, len(cmds))
	for i := range out {
		r, err := rc.ReadReply()
		if err != nil {
			return out[:i], fmt.Errorf("reply %d of %d: %w", i+1, len(cmds), err)
		}
		out[i] = r
	}
	return out, nil
}

// Send writes raw bytes unchanged, e.g. an inline command or a broken frame.
func (rc *RawConn) Send(raw []byte) error {
	rc.Conn.SetWriteDeadline(time.Now().Add(rc.Timeout))
	_, err := rc.Conn.Write(raw)
	return err
}

// ReadReply returns the raw bytes of exactly one complete RESP2 or RESP3
// reply, nested aggregates included. An attribute (|) is returned together with
// the reply it annotates; a push (>) is returned as a reply of its own.
func (rc *RawConn) ReadReply() ([]byte, error) {
	rc.Conn.SetReadDeadline(time.Now().Add(rc.Timeout))
	return readReply(rc.r, nil, 0)
}

// EncodeCommand renders args as a RESP array of bulk strings.
func EncodeCommand(args ...string) []byte {
	b := make([]byte, 0, 16+16*len(args))
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

// maxDepth bounds nesting so a hostile or broken server cannot exhaust the stack.
const maxDepth = 512

// ErrProtocol marks a reply that is not valid RESP.
var ErrProtocol = errors.New("resp protocol error")

func protoErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrProtocol, fmt.Sprintf(format, args...))
}

// readReply appends one complete reply read from r to dst.
func readReply(r *bufio.Reader, dst []byte, depth int) ([]byte, error) {
	if depth > maxDepth {
		return dst, protoErr("nesting deeper than %d", maxDepth)
	}
	line, err := readLine(r)
	dst = append(dst, line...)
	if err != nil {
		return dst, err
	}
	typ, body := line[0], line[1:len(line)-2]
	switch typ {
	case '+', '-', ':', '_', ',', '#', '(':
		return dst, nil
	case '$', '!', '=':
		n, err := parseLen(typ, body)
		if err != nil || n < 0 {
			return dst, err
		}
		return readBulkBody(r, dst, n)
	case '*', '~', '>', '%', '|':
		n, err := parseLen(typ, body)
		if err != nil || n < 0 {
			return dst, err
		}
		if typ == '%' || typ == '|' {
			n *= 2
		}
		for i := int64(0); i < n; i++ {
			if dst, err = readReply(r, dst, depth+1); err != nil {
				return dst, err
			}
		}
		if typ == '|' {
			return readReply(r, dst, depth+1)
		}
		return dst, nil
	}
	return dst, protoErr("unknown reply type %q in %q", typ, line)
}

// readLine returns one CRLF-terminated line, CRLF included.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadBytes('\n')
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return line, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return line, protoErr("bad line %q", line)
	}
	return line, nil
}

// parseLen reads a length header; -1 (a RESP2 null) is allowed only where
// RESP2 allows it, and streamed lengths (?) are not supported.
func parseLen(typ byte, body []byte) (int64, error) {
	n, err := strconv.ParseInt(string(body), 10, 64)
	if err != nil {
		return 0, protoErr("bad length %q after %q", body, typ)
	}
	if n < -1 || (n == -1 && typ != '$' && typ != '*') {
		return 0, protoErr("bad length %d after %q", n, typ)
	}
	return n, nil
}

// readBulkBody appends n bytes plus CRLF, growing only as data arrives so that
// a bogus huge length cannot make us allocate it up front.
func readBulkBody(r *bufio.Reader, dst []byte, n int64) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	if _, err := io.CopyN(buf, r, n+2); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return buf.Bytes(), err
	}
	dst = buf.Bytes()
	if dst[len(dst)-2] != '\r' || dst[len(dst)-1] != '\n' {
		return dst, protoErr("bulk string of length %d not followed by CRLF", n)
	}
	return dst, nil
}

// SplitReply parses raw, which must hold exactly one complete reply. For an
// aggregate (* ~ > % |) it returns the header line and the raw bytes of each
// element (map keys and values alternate); for anything else header is raw
// and elems is nil. An attribute's trailing annotated reply is the last element.
func SplitReply(raw []byte) (header []byte, elems [][]byte, err error) {
	r := bufio.NewReader(bytes.NewReader(raw))
	line, err := readLine(r)
	if err != nil {
		return nil, nil, err
	}
	switch line[0] {
	case '*', '~', '>', '%', '|':
	default:
		rest, err := readReply(bufio.NewReader(bytes.NewReader(raw)), nil, 0)
		if err != nil {
			return nil, nil, err
		}
		if len(rest) != len(raw) {
			return nil, nil, protoErr("%d bytes after the reply", len(raw)-len(rest))
		}
		return raw, nil, nil
	}
	n, err := parseLen(line[0], line[1:len(line)-2])
	if err != nil {
		return nil, nil, err
	}
	if line[0] == '%' || line[0] == '|' {
		n *= 2
	}
	if line[0] == '|' {
		n++
	}
	for i := int64(0); i < n; i++ {
		e, err := readReply(r, nil, 1)
		if err != nil {
			return nil, nil, err
		}
		elems = append(elems, e)
	}
	if r.Buffered() > 0 {
		return nil, nil, protoErr("%d bytes after the reply", r.Buffered())
	}
	return line, elems, nil
}

// Bulk returns the payload of a raw bulk string reply; ok is false for any
// other reply, a null bulk included.
func Bulk(raw []byte) (payload []byte, ok bool) {
	if len(raw) < 4 || raw[0] != '$' {
		return nil, false
	}
	i := bytes.IndexByte(raw, '\n')
	if i < 2 || raw[i-1] != '\r' {
		return nil, false
	}
	n, err := strconv.Atoi(string(raw[1 : i-1]))
	if err != nil || n < 0 || i+1+n+2 != len(raw) || raw[len(raw)-2] != '\r' || raw[len(raw)-1] != '\n' {
		return nil, false
	}
	return raw[i+1 : i+1+n], true
}
