// Package resp reads Redis protocol requests (multibulk and inline) and writes RESP2/RESP3 replies.
package resp

import (
	"bytes"
	"errors"
)

// Limits Redis applies while reading requests.
const (
	MaxInlineSize      = 64 * 1024 // an inline request or a "*N"/"$N" header line longer than this is refused
	MaxMultibulkLen    = 1<<31 - 1 // Redis 7.0 accepts any count up to INT_MAX from an authenticated client
	UnauthMultibulkLen = 10        // Redis 7.0 bounds unauthenticated clients to 10 arguments...
	UnauthBulkLen      = 16384     // ...of at most 16 KiB each
)

// ProtocolError is a malformed request: the server replies "-ERR Protocol error: <msg>" and closes.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return "Protocol error: " + e.Msg }

// ErrIncomplete means the buffer does not yet hold a whole request.
var ErrIncomplete = errors.New("incomplete request")

// Parser extracts requests from a byte buffer that grows as data arrives. It keeps the
// progress of a partly received multibulk request so a large request is scanned once,
// not once per read.
type Parser struct {
	MaxBulkLen int64 // proto-max-bulk-len
	Unauth     bool  // the client has not authenticated: tighter limits apply

	// progress of the request being parsed, as offsets from its start
	inProgress bool
	argc       int     // arguments announced by "*N"
	spans      []int32 // start,end pairs of the arguments read so far, relative to the request start
	next       int     // offset (relative to request start) where parsing resumes
	bulkLen    int64   // announced length of the argument being read, -1 when reading its header
}

func perr(msg string) error { return &ProtocolError{Msg: msg} }

// Reset forgets a partly parsed request (after a protocol error, or when the client's
// buffer is discarded).
func (p *Parser) Reset() {
	p.inProgress = false
	p.spans = p.spans[:0]
	p.next = 0
}

// Need reports how many bytes past the request start the parser wants to see before it can
// make progress, so a reader can size its buffer for a large argument; 0 means unknown.
func (p *Parser) Need() int {
	if p.inProgress && p.bulkLen >= 0 {
		return p.next + int(p.bulkLen) + 2
	}
	return 0
}

// Parse reads one request from buf. It returns the arguments (slices of buf, valid while buf
// is), the number of bytes consumed, and an error: ErrIncomplete when more data is needed, or
// a *ProtocolError. An empty request (a blank inline line, "*0") returns no arguments and a
// positive consumed count; callers skip it.
func (p *Parser) Parse(buf []byte, args [][]byte) ([][]byte, int, error) {
	if len(buf) == 0 {
		return args, 0, ErrIncomplete
	}
	if !p.inProgress && buf[0] != '*' {
		return p.parseInline(buf, args)
	}
	return p.parseMultibulk(buf, args)
}

func (p *Parser) parseInline(buf []byte, args [][]byte) ([][]byte, int, error) {
	nl := bytes.IndexByte(buf, '\n')
	if nl < 0 {
		if len(buf) > MaxInlineSize {
			return args, 0, perr("too big inline request")
		}
		return args, 0, ErrIncomplete
	}
	line := buf[:nl]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	args, ok := SplitArgs(line, args)
	if !ok {
		return args, 0, perr("unbalanced quotes in request")
	}
	return args, nl + 1, nil
}

// readLine returns the line starting at off (without CRLF) and the offset after it.
func readLine(buf []byte, off int) (line []byte, after int, ok bool) {
	i := bytes.IndexByte(buf[off:], '\r')
	if i < 0 || off+i+1 >= len(buf) {
		return nil, 0, false
	}
	// Redis requires the header to end in "\r\n" but only looks for '\r'; the byte after it is skipped.
	return buf[off : off+i], off + i + 2, true
}

func (p *Parser) parseMultibulk(buf []byte, args [][]byte) ([][]byte, int, error) {
	if !p.inProgress {
		if out, n, ok := p.parseWhole(buf, args); ok {
			return out, n, nil
		}
	}
	return p.parseIncremental(buf, args)
}

// parseIncremental parses a multibulk request that may arrive over several reads, keeping its
// progress between calls, and reports every protocol error.
func (p *Parser) parseIncremental(buf []byte, args [][]byte) ([][]byte, int, error) {
	if !p.inProgress {
		line, after, ok := readLine(buf, 0)
		if !ok {
			if len(buf) > MaxInlineSize {
				return args, 0, perr("too big mbulk count string")
			}
			return args, 0, ErrIncomplete
		}
		n, ok := parseLen(line[1:])
		if !ok || n > MaxMultibulkLen {
			return args, 0, perr("invalid multibulk length")
		}
		if p.Unauth && n > UnauthMultibulkLen {
			return args, 0, perr("unauthenticated multibulk length")
		}
		if n <= 0 {
			return args, after, nil
		}
		p.inProgress = true
		p.argc = int(n)
		p.spans = p.spans[:0]
		p.next = after
		p.bulkLen = -1
	}
	for len(p.spans)/2 < p.argc {
		if p.bulkLen < 0 {
			if p.next >= len(buf) {
				return args, 0, ErrIncomplete
			}
			line, after, ok := readLine(buf, p.next)
			if !ok {
				if len(buf)-p.next > MaxInlineSize {
					return args, 0, p.fail("too big bulk count string")
				}
				return args, 0, ErrIncomplete
			}
			if len(line) == 0 || line[0] != '$' {
				// Redis reports the byte where '$' should be; for an empty line that is the '\r'.
				got := byte('\r')
				if len(line) > 0 {
					got = line[0]
				}
				return args, 0, p.fail("expected '$', got '" + string(got) + "'")
			}
			n, ok := parseLen(line[1:])
			if !ok || n < 0 || n > p.MaxBulkLen {
				return args, 0, p.fail("invalid bulk length")
			}
			if p.Unauth && n > UnauthBulkLen {
				return args, 0, p.fail("unauthenticated bulk length")
			}
			p.bulkLen = n
			p.next = after
		}
		end := p.next + int(p.bulkLen)
		if end+2 > len(buf) {
			return args, 0, ErrIncomplete
		}
		p.spans = append(p.spans, int32(p.next), int32(end))
		p.next = end + 2
		p.bulkLen = -1
	}
	for i := 0; i < len(p.spans); i += 2 {
		args = append(args, buf[p.spans[i]:p.spans[i+1]:p.spans[i+1]])
	}
	consumed := p.next
	p.Reset()
	return args, consumed, nil
}

// parseWhole is the fast path for the common case, a well-formed request entirely in buf:
// one pass, no progress kept. It gives up (ok false, args unchanged) on anything else —
// incomplete input, errors, empty or unusual headers — which the incremental parser then
// handles, so both paths always agree.
func (p *Parser) parseWhole(buf []byte, args [][]byte) (_ [][]byte, consumed int, ok bool) {
	if len(buf) == 0 || buf[0] != '*' {
		return args, 0, false
	}
	argc, i, ok := wholeLen(buf, 1)
	if !ok || argc == 0 || argc > MaxMultibulkLen || (p.Unauth && argc > UnauthMultibulkLen) {
		return args, 0, false
	}
	first := len(args)
	for ; argc > 0; argc-- {
		if i >= len(buf) || buf[i] != '$' {
			return args[:first], 0, false
		}
		n, after, ok := wholeLen(buf, i+1)
		if !ok || n > p.MaxBulkLen || (p.Unauth && n > UnauthBulkLen) {
			return args[:first], 0, false
		}
		end := after + int(n)
		if end+2 > len(buf) {
			return args[:first], 0, false
		}
		args = append(args, buf[after:end:end])
		i = end + 2
	}
	return args, i, true
}

// wholeLen reads the length of a "*N" or "$N" header whose digits start at off: at most 15
// digits (below parseLen's limit), then '\r' and one more byte, which Redis skips unchecked.
// It returns the length and the offset after the header.
func wholeLen(buf []byte, off int) (n int64, after int, ok bool) {
	end := min(len(buf), off+16)
	for i := off; i < end; i++ {
		c := buf[i]
		if c == '\r' {
			if i == off || i+1 >= len(buf) {
				return 0, 0, false
			}
			return n, i + 2, true
		}
		if c < '0' || c > '9' {
			return 0, 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return 0, 0, false
}

func (p *Parser) fail(msg string) error {
	p.Reset()
	return perr(msg)
}

// parseLen parses the decimal count of a "*N" or "$N" header; Redis accepts a leading '-'.
func parseLen(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	neg := false
	if b[0] == '-' {
		neg = true
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
		if n > 1<<50 {
			return 0, false
		}
	}
	if neg {
		n = -n
	}
	return n, true
}

// SplitArgs splits a line the way redis-cli and inline requests do: words separated by
// spaces, double quotes with \n \r \t \b \a \\ \" \xHH escapes, single quotes with \'.
// A closing quote must be followed by a space or the end of the line. ok is false on
// unbalanced quotes.
func SplitArgs(line []byte, args [][]byte) ([][]byte, bool) {
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			return args, true
		}
		var cur []byte
		inDQ, inSQ, done := false, false, false
		for !done {
			if inDQ {
				if i >= len(line) {
					return args, false
				}
				c := line[i]
				switch {
				case c == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]):
					cur = append(cur, hexVal(line[i+2])<<4|hexVal(line[i+3]))
					i += 3
				case c == '\\' && i+1 < len(line):
					i++
					switch line[i] {
					case 'n':
						cur = append(cur, '\n')
					case 'r':
						cur = append(cur, '\r')
					case 't':
						cur = append(cur, '\t')
					case 'b':
						cur = append(cur, '\b')
					case 'a':
						cur = append(cur, '\a')
					default:
						cur = append(cur, line[i])
					}
				case c == '"':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return args, false
					}
					done = true
				default:
					cur = append(cur, c)
				}
			} else if inSQ {
				if i >= len(line) {
					return args, false
				}
				c := line[i]
				switch {
				case c == '\\' && i+1 < len(line) && line[i+1] == '\'':
					i++
					cur = append(cur, '\'')
				case c == '\'':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return args, false
					}
					done = true
				default:
					cur = append(cur, c)
				}
			} else {
				if i >= len(line) {
					break
				}
				switch c := line[i]; c {
				case ' ', '\n', '\r', '\t', 0:
					done = true
				case '"':
					inDQ = true
				case '\'':
					inSQ = true
				default:
					cur = append(cur, c)
				}
			}
			if i < len(line) {
				i++
			}
		}
		if cur == nil {
			cur = []byte{}
		}
		args = append(args, cur)
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f' || c == 0
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
