// Package listpack implements Redis 7.0's listpack, a compact byte-array encoding of a
// sequence of strings and integers, byte for byte as Redis keeps it in memory and in RDB
// files.
//
// A listpack is a plain []byte that functions here read and return: mutating functions
// may reallocate, so always keep the returned slice (lp = listpack.Append(lp, v)), as
// with the built-in append. Entries are addressed by their byte offset ("position"):
// First, Last, Next, Prev and Seek produce positions, -1 meaning "none". A position is
// valid until the next mutation, except the positions mutating functions return.
//
// Layout: a 6-byte header (total bytes as uint32 little endian, element count as uint16
// little endian, 65535 meaning "count it"), the entries, then the terminator byte 0xFF.
// Each entry is an encoding byte (possibly with length or value bytes), the string data,
// and a "backlen": the entry's own length written so that it can be read right to left,
// which is what lets Prev walk backwards. Strings that Redis's string2ll accepts as
// integers are stored as integers, in the smallest of the 7-bit unsigned, 13-, 16-, 24-,
// 32- or 64-bit signed encodings; other strings use a 6-bit, 12-bit or 32-bit length.
//
// API summary:
//
//	New, Len, TotalBytes
//	First, Last, Next, Prev, Seek(index; negative from the tail)
//	Get(lp, p) (str, int, isInt), GetBytes(lp, p, buf), Equal(lp, p, s), Find(lp, p, s, skip)
//	Append/AppendInt, Prepend/PrependInt, Insert/InsertInt(lp, p, s, Before|After)
//	Tail(lp) then Int/Str ... Finish: several appends with one header update
//	Replace/ReplaceInt, Delete(lp, p), DeleteRange(lp, index, n), DeleteFrom(lp, p, n)
//	EntrySize(s), Validate(b, deep)
//
// Arguments s must not alias lp itself (copy first when moving data within one listpack).
package listpack

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/sard-kv/sard/internal/num"
)

const (
	// HeaderSize is the size of the total-bytes and count header.
	HeaderSize = 6
	// EOF terminates every listpack.
	EOF = 0xFF
	// CountUnknown in the header's count field means the count has to be walked.
	CountUnknown = 65535
	// EmptySize is the size of a listpack with no entries.
	EmptySize = HeaderSize + 1
)

// Encoding bytes, as Redis defines them.
const (
	enc7BitUint  = 0x00
	enc6BitStr   = 0x80
	enc13BitInt  = 0xC0
	enc12BitStr  = 0xE0
	enc32BitStr  = 0xF0
	enc16BitInt  = 0xF1
	enc24BitInt  = 0xF2
	enc32BitInt  = 0xF3
	enc64BitInt  = 0xF4
	maxEntryInts = 9 // 64-bit int entry: encoding byte plus 8 bytes
)

// Where to insert relative to an existing entry.
const (
	Before = 0
	After  = 1
)

// New returns an empty listpack.
func New() []byte { return NewCap(EmptySize) }

// NewCap returns an empty listpack with room for capacity bytes before reallocating.
func NewCap(capacity int) []byte {
	if capacity < EmptySize {
		capacity = EmptySize
	}
	lp := make([]byte, EmptySize, capacity)
	binary.LittleEndian.PutUint32(lp, EmptySize)
	lp[HeaderSize] = EOF
	return lp
}

// TotalBytes returns the size recorded in the header.
func TotalBytes(lp []byte) int { return int(binary.LittleEndian.Uint32(lp)) }

func headerCount(lp []byte) int { return int(binary.LittleEndian.Uint16(lp[4:])) }

func setHeader(lp []byte, count int) {
	binary.LittleEndian.PutUint32(lp, uint32(len(lp)))
	if count >= CountUnknown {
		count = CountUnknown
	}
	binary.LittleEndian.PutUint16(lp[4:], uint16(count))
}

// Len returns the number of entries.
func Len(lp []byte) int {
	if n := headerCount(lp); n != CountUnknown {
		return n
	}
	n := 0
	for p := First(lp); p >= 0; p = Next(lp, p) {
		n++
	}
	return n
}

// backlenSize is how many bytes the backlen of an entry of length l takes; the
// boundaries are Redis's (16383 itself takes three bytes there).
func backlenSize(l int) int {
	switch {
	case l <= 127:
		return 1
	case l < 16383:
		return 2
	case l < 2097151:
		return 3
	case l < 268435455:
		return 4
	}
	return 5
}

// putBacklen writes the backlen of l into dst, which has backlenSize(l) bytes: the last
// byte holds the lowest 7 bits and every byte but the first has its high bit set.
func putBacklen(dst []byte, l int) {
	n := len(dst)
	for i := n - 1; i >= 0; i-- {
		b := byte(l & 127)
		if i != 0 {
			b |= 128
		}
		dst[i] = b
		l >>= 7
	}
}

// readBacklen decodes the backlen ending at lp[end-1], returning the entry length and the
// number of backlen bytes, or ok=false when it runs off the front or exceeds 5 bytes.
func readBacklen(lp []byte, end int) (l, n int, ok bool) {
	shift := 0
	for i := end - 1; i >= 0 && n < 5; i-- {
		b := lp[i]
		l |= int(b&127) << shift
		n++
		if b&128 == 0 {
			return l, n, true
		}
		shift += 7
	}
	return 0, 0, false
}

// encodedLen returns the length of the entry at p without its backlen (encoding bytes
// plus data) and how many of those bytes are encoding, or ok=false if the encoding bytes
// run past limit.
func encodedLen(lp []byte, p, limit int) (total, hdr int, ok bool) {
	b := lp[p]
	switch {
	case b&0x80 == enc7BitUint:
		return 1, 1, true
	case b&0xC0 == enc6BitStr:
		return 1 + int(b&0x3F), 1, true
	case b&0xE0 == enc13BitInt:
		return 2, 2, true
	case b&0xF0 == enc12BitStr:
		if p+2 > limit {
			return 0, 0, false
		}
		return 2 + (int(b&0x0F)<<8 | int(lp[p+1])), 2, true
	}
	switch b {
	case enc16BitInt:
		return 3, 3, true
	case enc24BitInt:
		return 4, 4, true
	case enc32BitInt:
		return 5, 5, true
	case enc64BitInt:
		return 9, 9, true
	case enc32BitStr:
		if p+5 > limit {
			return 0, 0, false
		}
		return 5 + int(binary.LittleEndian.Uint32(lp[p+1:])), 5, true
	}
	return 0, 0, false
}

// entrySize returns the full size of the entry at p, backlen included.
func entrySize(lp []byte, p int) int {
	l, _, _ := encodedLen(lp, p, len(lp))
	return l + backlenSize(l)
}

// First returns the position of the first entry, or -1 if lp is empty.
func First(lp []byte) int {
	if lp[HeaderSize] == EOF {
		return -1
	}
	return HeaderSize
}

// Last returns the position of the last entry, or -1 if lp is empty.
func Last(lp []byte) int { return Prev(lp, len(lp)-1) }

// Next returns the position of the entry after p, or -1 at the end.
func Next(lp []byte, p int) int {
	p += entrySize(lp, p)
	if lp[p] == EOF {
		return -1
	}
	return p
}

// Prev returns the position of the entry before p (p may be the terminator's offset), or
// -1 at the start.
func Prev(lp []byte, p int) int {
	if p <= HeaderSize {
		return -1
	}
	l, n, _ := readBacklen(lp, p)
	return p - n - l
}

// Seek returns the position of entry index (negative counts from the tail, -1 being the
// last), or -1 when out of range.
func Seek(lp []byte, index int) int {
	n := headerCount(lp)
	if n != CountUnknown {
		if index < 0 {
			index += n
		}
		if index < 0 || index >= n {
			return -1
		}
		// walk from whichever end is nearer
		if index > n/2 {
			index -= n
		}
	}
	if index >= 0 {
		p := First(lp)
		for ; p >= 0 && index > 0; index-- {
			p = Next(lp, p)
		}
		return p
	}
	p := Last(lp)
	for index++; p >= 0 && index < 0; index++ {
		p = Prev(lp, p)
	}
	return p
}

// Get decodes the entry at p: either a string (a slice of lp) or an integer.
func Get(lp []byte, p int) (s []byte, v int64, isInt bool) {
	b := lp[p]
	var uv uint64
	var bits uint
	switch {
	case b&0x80 == enc7BitUint:
		return nil, int64(b & 0x7F), true
	case b&0xC0 == enc6BitStr:
		n := int(b & 0x3F)
		return lp[p+1 : p+1+n], 0, false
	case b&0xE0 == enc13BitInt:
		uv, bits = uint64(b&0x1F)<<8|uint64(lp[p+1]), 13
	case b&0xF0 == enc12BitStr:
		n := int(b&0x0F)<<8 | int(lp[p+1])
		return lp[p+2 : p+2+n], 0, false
	default:
		switch b {
		case enc16BitInt:
			uv, bits = uint64(binary.LittleEndian.Uint16(lp[p+1:])), 16
		case enc24BitInt:
			uv, bits = uint64(lp[p+1])|uint64(lp[p+2])<<8|uint64(lp[p+3])<<16, 24
		case enc32BitInt:
			uv, bits = uint64(binary.LittleEndian.Uint32(lp[p+1:])), 32
		case enc64BitInt:
			return nil, int64(binary.LittleEndian.Uint64(lp[p+1:])), true
		case enc32BitStr:
			n := int(binary.LittleEndian.Uint32(lp[p+1:]))
			return lp[p+5 : p+5+n], 0, false
		default:
			return nil, 0, false // unreachable in a validated listpack
		}
	}
	// two's complement in the given width
	if uv >= 1<<(bits-1) {
		return nil, int64(uv) - int64(1)<<bits, true
	}
	return nil, int64(uv), true
}

// GetBytes returns the entry at p as a string: a slice of lp for strings, integers
// formatted into buf[:0] (which may be nil).
func GetBytes(lp []byte, p int, buf []byte) []byte {
	s, v, isInt := Get(lp, p)
	if isInt {
		return strconv.AppendInt(buf[:0], v, 10)
	}
	return s
}

// Equal reports whether the entry at p equals s as a string.
func Equal(lp []byte, p int, s []byte) bool {
	e, v, isInt := Get(lp, p)
	if !isInt {
		return bytes.Equal(e, s)
	}
	if len(s) == 0 || len(s) > 20 {
		return false
	}
	w, ok := num.ParseInt64(s)
	return ok && w == v
}

// Find returns the position of the first entry equal to s, looking at p and then every
// (skip+1)-th entry after it (skip 1 visits the fields of a field/value listpack), or -1.
func Find(lp []byte, p int, s []byte, skip int) int {
	w, sIsInt := num.ParseInt64(s)
	for p >= 0 {
		e, v, isInt := Get(lp, p)
		if isInt {
			if sIsInt && v == w {
				return p
			}
		} else if !sIsInt && bytes.Equal(e, s) {
			return p
		}
		for i := 0; i <= skip && p >= 0; i++ {
			p = Next(lp, p)
		}
	}
	return -1
}

// encodeInt writes the integer entry for v (without backlen) into buf and returns its size.
func encodeInt(buf *[maxEntryInts]byte, v int64) int {
	switch {
	case v >= 0 && v <= 127:
		buf[0] = byte(v)
		return 1
	case v >= -4096 && v <= 4095:
		u := uint64(v) & (1<<13 - 1)
		buf[0] = enc13BitInt | byte(u>>8)
		buf[1] = byte(u)
		return 2
	case v >= -32768 && v <= 32767:
		buf[0] = enc16BitInt
		binary.LittleEndian.PutUint16(buf[1:], uint16(v))
		return 3
	case v >= -8388608 && v <= 8388607:
		u := uint32(v)
		buf[0], buf[1], buf[2], buf[3] = enc24BitInt, byte(u), byte(u>>8), byte(u>>16)
		return 4
	case v >= -2147483648 && v <= 2147483647:
		buf[0] = enc32BitInt
		binary.LittleEndian.PutUint32(buf[1:], uint32(v))
		return 5
	}
	buf[0] = enc64BitInt
	binary.LittleEndian.PutUint64(buf[1:], uint64(v))
	return 9
}

// encodeStrHeader writes the encoding bytes of a string of length n and returns their count.
func encodeStrHeader(buf *[maxEntryInts]byte, n int) int {
	switch {
	case n < 64:
		buf[0] = enc6BitStr | byte(n)
		return 1
	case n < 4096:
		buf[0] = enc12BitStr | byte(n>>8)
		buf[1] = byte(n)
		return 2
	}
	buf[0] = enc32BitStr
	binary.LittleEndian.PutUint32(buf[1:], uint32(n))
	return 5
}

// element is one value about to be written: an integer (data nil, all in hdr) or a string.
type element struct {
	hdr  [maxEntryInts]byte
	nhdr int
	data []byte
}

func makeElement(s []byte) element {
	var e element
	if v, ok := num.ParseInt64(s); ok {
		e.nhdr = encodeInt(&e.hdr, v)
		return e
	}
	e.nhdr = encodeStrHeader(&e.hdr, len(s))
	e.data = s
	return e
}

func makeIntElement(v int64) element {
	var e element
	e.nhdr = encodeInt(&e.hdr, v)
	return e
}

func (e *element) size() int {
	l := e.nhdr + len(e.data)
	return l + backlenSize(l)
}

func (e *element) write(dst []byte) {
	copy(dst, e.hdr[:e.nhdr])
	copy(dst[e.nhdr:], e.data)
	l := e.nhdr + len(e.data)
	putBacklen(dst[l:l+backlenSize(l)], l)
}

// EntrySize returns how many bytes s takes as an entry, backlen included.
func EntrySize(s []byte) int {
	e := makeElement(s)
	return e.size()
}

// EntrySizeInt returns how many bytes the integer v takes as an entry.
func EntrySizeInt(v int64) int {
	e := makeIntElement(v)
	return e.size()
}

// splice replaces the del bytes at off with room for ins bytes, reallocating with a little
// headroom when needed.
func splice(lp []byte, off, del, ins int) []byte {
	if del == ins {
		return lp // a replacement of the same size moves nothing
	}
	old := len(lp)
	n := old - del + ins
	if n > cap(lp) {
		c := n + n/8
		if c < 16 {
			c = 16
		}
		nl := make([]byte, n, c)
		copy(nl, lp[:off])
		copy(nl[off+ins:], lp[off+del:old])
		return nl
	}
	lp = lp[:max(old, n)]
	copy(lp[off+ins:], lp[off+del:old])
	return lp[:n]
}

// put writes e at off, replacing del bytes, and fixes the header; delta is the change in
// entry count.
func put(lp []byte, off, del int, e *element, delta int) []byte {
	count := headerCount(lp)
	sz := 0
	if e != nil {
		sz = e.size()
	}
	lp = splice(lp, off, del, sz)
	if e != nil {
		e.write(lp[off:])
	}
	if count != CountUnknown {
		count += delta
	}
	setHeader(lp, count)
	return lp
}

// Append adds s at the tail.
func Append(lp []byte, s []byte) []byte {
	e := makeElement(s)
	return put(lp, len(lp)-1, 0, &e, 1)
}

// AppendInt adds the integer v at the tail.
func AppendInt(lp []byte, v int64) []byte {
	e := makeIntElement(v)
	return put(lp, len(lp)-1, 0, &e, 1)
}

// Appender adds several entries at the tail of a listpack and fixes its header once at
// the end (a stream entry is up to seven entries). Between Tail and Finish the listpack has
// no terminator and must not be read. It grows exactly as the same Append calls would.
type Appender struct {
	lp []byte
	n  int
}

// Tail starts appending to lp.
func Tail(lp []byte) Appender { return Appender{lp: lp[:len(lp)-1]} }

// Int appends the integer v.
func (a *Appender) Int(v int64) {
	var hdr [maxEntryInts]byte
	n := encodeInt(&hdr, v)
	off := a.grow(n + 1) // an integer entry is at most 9 bytes: a one-byte backlen
	copy(a.lp[off:], hdr[:n])
	a.lp[off+n] = byte(n)
}

// Str appends s (as an integer when it reads as one, like Append).
func (a *Appender) Str(s []byte) {
	e := makeElement(s)
	off := a.grow(e.size())
	e.write(a.lp[off:])
}

// grow extends the listpack by one entry of sz bytes and returns where it starts.
func (a *Appender) grow(sz int) int {
	off := len(a.lp)
	if n := off + sz + 1; n > cap(a.lp) { // +1: room for the terminator, as splice leaves
		c := max(n+n/8, 16)
		nl := make([]byte, off, c)
		copy(nl, a.lp)
		a.lp = nl
	}
	a.lp = a.lp[:off+sz]
	a.n++
	return off
}

// Finish terminates the listpack, fixes its header and returns it.
func (a *Appender) Finish() []byte {
	lp := append(a.lp, EOF)
	count := headerCount(lp)
	if count != CountUnknown {
		count += a.n
	}
	setHeader(lp, count)
	return lp
}

// Prepend adds s at the head.
func Prepend(lp []byte, s []byte) []byte {
	e := makeElement(s)
	return put(lp, HeaderSize, 0, &e, 1)
}

// PrependInt adds the integer v at the head.
func PrependInt(lp []byte, v int64) []byte {
	e := makeIntElement(v)
	return put(lp, HeaderSize, 0, &e, 1)
}

// Insert adds s Before or After the entry at p (p may be the terminator's offset for
// Before, which appends) and returns lp and the new entry's position.
func Insert(lp []byte, p int, s []byte, where int) ([]byte, int) {
	e := makeElement(s)
	return insert(lp, p, &e, where)
}

// InsertInt is Insert for an integer.
func InsertInt(lp []byte, p int, v int64, where int) ([]byte, int) {
	e := makeIntElement(v)
	return insert(lp, p, &e, where)
}

func insert(lp []byte, p int, e *element, where int) ([]byte, int) {
	if where == After && lp[p] != EOF {
		p += entrySize(lp, p)
	}
	return put(lp, p, 0, e, 1), p
}

// Replace overwrites the entry at p with s.
func Replace(lp []byte, p int, s []byte) []byte {
	e := makeElement(s)
	return put(lp, p, entrySize(lp, p), &e, 0)
}

// ReplaceInt overwrites the entry at p with the integer v.
func ReplaceInt(lp []byte, p int, v int64) []byte {
	e := makeIntElement(v)
	return put(lp, p, entrySize(lp, p), &e, 0)
}

// Delete removes the entry at p and returns lp and the position of the entry that
// followed it, or -1 if it was the last.
func Delete(lp []byte, p int) ([]byte, int) {
	lp = put(lp, p, entrySize(lp, p), nil, -1)
	if lp[p] == EOF {
		return lp, -1
	}
	return lp, p
}

// DeleteFrom removes up to n entries starting at position p.
func DeleteFrom(lp []byte, p int, n int) []byte {
	end, k := p, 0
	for ; k < n && lp[end] != EOF; k++ {
		end += entrySize(lp, end)
	}
	count := headerCount(lp)
	lp = splice(lp, p, end-p, 0)
	if count != CountUnknown {
		count -= k
	}
	setHeader(lp, count)
	return lp
}

// DeleteRange removes n entries starting at index (negative counts from the tail).
func DeleteRange(lp []byte, index, n int) []byte {
	p := Seek(lp, index)
	if p < 0 || n <= 0 {
		return lp
	}
	return DeleteFrom(lp, p, n)
}

// Validation errors.
var (
	ErrHeader  = errors.New("listpack: bad header")
	ErrEntry   = errors.New("listpack: bad entry")
	ErrCount   = errors.New("listpack: count mismatch")
	ErrTrailer = errors.New("listpack: missing terminator")
)

// Validate checks b is a well-formed listpack: header size and terminator always, and
// with deep every entry's encoding, bounds and backlen, and the element count. Bad input
// gives an error, never a panic, so loaders can use it on untrusted bytes.
func Validate(b []byte, deep bool) error {
	if len(b) < EmptySize || TotalBytes(b) != len(b) {
		return ErrHeader
	}
	if b[len(b)-1] != EOF {
		return ErrTrailer
	}
	if !deep {
		return nil
	}
	end := len(b) - 1
	p, n := HeaderSize, 0
	for p < end {
		l, _, ok := encodedLen(b, p, end)
		if !ok || l < 0 || p+l > end {
			return ErrEntry
		}
		bl := backlenSize(l)
		if p+l+bl > end {
			return ErrEntry
		}
		got, gn, ok := readBacklen(b, p+l+bl)
		if !ok || got != l || gn != bl {
			return ErrEntry
		}
		p += l + bl
		n++
	}
	if p != end {
		return ErrEntry
	}
	if c := headerCount(b); c != CountUnknown && c != n {
		return ErrCount
	}
	return nil
}

// Merge returns the listpack holding a's entries followed by b's, reusing a's storage.
func Merge(a, b []byte) []byte {
	ca, cb := headerCount(a), headerCount(b)
	body := b[HeaderSize : len(b)-1]
	off := len(a) - 1
	a = splice(a, off, 0, len(body))
	copy(a[off:], body)
	count := CountUnknown
	if ca != CountUnknown && cb != CountUnknown {
		count = ca + cb
	}
	setHeader(a, count)
	return a
}

// Grow makes room for n more bytes without reallocating, for callers that know they will
// keep appending (quicklist nodes fill up to a known size).
func Grow(lp []byte, n int) []byte {
	if cap(lp)-len(lp) >= n {
		return lp
	}
	nl := make([]byte, len(lp), len(lp)+n)
	copy(nl, lp)
	return nl
}
