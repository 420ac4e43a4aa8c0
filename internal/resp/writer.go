package resp

import (
	"math"
	"strconv"
)

// Writer appends replies to a buffer in the connection's protocol version. RESP3-only
// types are downgraded for RESP2 clients the way Redis does (maps become flat arrays,
// doubles bulk strings, booleans integers, null the RESP2 null bulk or null array).
type Writer struct {
	Buf   []byte
	Proto int // 2 or 3
}

// FormatDouble formats a double the way Redis prints it in replies; the server replaces it
// with the exact Redis formatter at start-up (kept as a variable so this package stays a leaf).
var FormatDouble = func(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	}
	return strconv.AppendFloat(dst, f, 'g', 17, 64)
}

func (w *Writer) header(c byte, n int64) {
	w.Buf = append(w.Buf, c)
	w.Buf = strconv.AppendInt(w.Buf, n, 10)
	w.Buf = append(w.Buf, '\r', '\n')
}

// Status writes a simple string: +OK.
func (w *Writer) Status(s string) {
	w.Buf = append(w.Buf, '+')
	w.Buf = append(w.Buf, s...)
	w.Buf = append(w.Buf, '\r', '\n')
}

// OK writes +OK.
func (w *Writer) OK() { w.Buf = append(w.Buf, "+OK\r\n"...) }

// Error writes an error reply; msg carries its code ("ERR syntax error"). Newlines in the
// message are replaced by spaces, as Redis does, so the reply stays one line.
func (w *Writer) Error(msg string) {
	w.Buf = append(w.Buf, '-')
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		w.Buf = append(w.Buf, c)
	}
	w.Buf = append(w.Buf, '\r', '\n')
}

// Int writes an integer reply.
func (w *Writer) Int(n int64) { w.header(':', n) }

// Bulk writes a bulk string.
func (w *Writer) Bulk(b []byte) {
	w.header('$', int64(len(b)))
	w.Buf = append(w.Buf, b...)
	w.Buf = append(w.Buf, '\r', '\n')
}

// BulkString writes a bulk string from a Go string.
func (w *Writer) BulkString(s string) {
	w.header('$', int64(len(s)))
	w.Buf = append(w.Buf, s...)
	w.Buf = append(w.Buf, '\r', '\n')
}

// BulkInt writes an integer formatted as a bulk string.
func (w *Writer) BulkInt(n int64) {
	var tmp [24]byte
	w.Bulk(strconv.AppendInt(tmp[:0], n, 10))
}

// Null writes the null reply of a missing bulk string ($-1 or _).
func (w *Writer) Null() {
	if w.Proto >= 3 {
		w.Buf = append(w.Buf, "_\r\n"...)
	} else {
		w.Buf = append(w.Buf, "$-1\r\n"...)
	}
}

// NullArray writes the null reply of a missing array (*-1 or _).
func (w *Writer) NullArray() {
	if w.Proto >= 3 {
		w.Buf = append(w.Buf, "_\r\n"...)
	} else {
		w.Buf = append(w.Buf, "*-1\r\n"...)
	}
}

// Array writes an array header.
func (w *Writer) Array(n int) { w.header('*', int64(n)) }

// Map writes a map header of n pairs (a flat array of 2n in RESP2).
func (w *Writer) Map(n int) {
	if w.Proto >= 3 {
		w.header('%', int64(n))
	} else {
		w.header('*', int64(2*n))
	}
}

// Set writes a set header (an array in RESP2).
func (w *Writer) Set(n int) {
	if w.Proto >= 3 {
		w.header('~', int64(n))
	} else {
		w.header('*', int64(n))
	}
}

// Push writes an out-of-band push header (an array in RESP2).
func (w *Writer) Push(n int) {
	if w.Proto >= 3 {
		w.header('>', int64(n))
	} else {
		w.header('*', int64(n))
	}
}

// Attribute writes an attribute header (RESP3 only; nothing in RESP2).
func (w *Writer) Attribute(n int) {
	if w.Proto >= 3 {
		w.header('|', int64(n))
	}
}

// Double writes a double (,1.5 in RESP3, a bulk string in RESP2). The number is formatted
// straight into Buf: a stack buffer handed to the FormatDouble variable would escape and
// cost an allocation per reply.
func (w *Writer) Double(f float64) {
	start := len(w.Buf)
	if w.Proto >= 3 {
		w.Buf = append(w.Buf, ',')
		w.Buf = FormatDouble(w.Buf, f)
		w.Buf = append(w.Buf, '\r', '\n')
		return
	}
	w.Buf = FormatDouble(w.Buf, f)
	var tmp [48]byte
	if n := len(w.Buf) - start; n <= len(tmp) {
		copy(tmp[:], w.Buf[start:])
		w.Buf = w.Buf[:start]
		w.Bulk(tmp[:n])
		return
	}
	s := string(w.Buf[start:])
	w.Buf = w.Buf[:start]
	w.BulkString(s)
}

// Bool writes a boolean (#t/#f in RESP3, :1/:0 in RESP2).
func (w *Writer) Bool(b bool) {
	switch {
	case w.Proto >= 3 && b:
		w.Buf = append(w.Buf, "#t\r\n"...)
	case w.Proto >= 3:
		w.Buf = append(w.Buf, "#f\r\n"...)
	case b:
		w.Buf = append(w.Buf, ":1\r\n"...)
	default:
		w.Buf = append(w.Buf, ":0\r\n"...)
	}
}

// BigNumber writes a big number ((123 in RESP3, a bulk string in RESP2).
func (w *Writer) BigNumber(s string) {
	if w.Proto >= 3 {
		w.Buf = append(w.Buf, '(')
		w.Buf = append(w.Buf, s...)
		w.Buf = append(w.Buf, '\r', '\n')
		return
	}
	w.BulkString(s)
}

// Verbatim writes a verbatim string (=len\r\ntxt:... in RESP3, a bulk string in RESP2).
func (w *Writer) Verbatim(format, s string) {
	if w.Proto < 3 {
		w.BulkString(s)
		return
	}
	w.header('=', int64(len(s)+4))
	w.Buf = append(w.Buf, format...)
	w.Buf = append(w.Buf, ':')
	w.Buf = append(w.Buf, s...)
	w.Buf = append(w.Buf, '\r', '\n')
}

// Raw appends bytes that are already encoded.
func (w *Writer) Raw(b []byte) { w.Buf = append(w.Buf, b...) }

// Deferred is a placeholder for an aggregate header whose length is known only later.
type Deferred struct{ pos int }

// Defer reserves the place of an aggregate header.
func (w *Writer) Defer() Deferred { return Deferred{pos: len(w.Buf)} }

// FillArray writes the deferred header as an array of n.
func (w *Writer) FillArray(d Deferred, n int) { w.fill(d, '*', n) }

// FillMap writes the deferred header as a map of n pairs.
func (w *Writer) FillMap(d Deferred, n int) {
	if w.Proto >= 3 {
		w.fill(d, '%', n)
	} else {
		w.fill(d, '*', 2*n)
	}
}

// FillSet writes the deferred header as a set of n.
func (w *Writer) FillSet(d Deferred, n int) {
	if w.Proto >= 3 {
		w.fill(d, '~', n)
	} else {
		w.fill(d, '*', n)
	}
}

func (w *Writer) fill(d Deferred, c byte, n int) {
	var tmp [24]byte
	h := append(tmp[:0], c)
	h = strconv.AppendInt(h, int64(n), 10)
	h = append(h, '\r', '\n')
	old := len(w.Buf)
	w.Buf = append(w.Buf, h...)
	copy(w.Buf[d.pos+len(h):], w.Buf[d.pos:old])
	copy(w.Buf[d.pos:], h)
}
