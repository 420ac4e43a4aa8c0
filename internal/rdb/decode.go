package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/sard-kv/sard/internal/crc64"
	"github.com/sard-kv/sard/internal/lzf"
)

// Error is a failure to read an RDB stream: where it happened and why.
type Error struct {
	Offset int64
	Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("at offset %d: %s", e.Offset, e.Reason)
}

// ErrShortRead is the reason of a stream that ends early.
const reasonShort = "unexpected end of file (short read)"

// maxChunk bounds one allocation made on the word of a length read from the input, so a
// corrupt length costs at most this much before the read fails.
const maxChunk = 1 << 20

// Decoder reads RDB encodings from a stream, keeping the offset (for error messages) and
// the running CRC64 of everything consumed.
type Decoder struct {
	r      io.Reader
	buf    []byte
	pos    int
	end    int
	base   int64 // stream offset of buf[0]
	crc    uint64
	crcPos int // buf[crcPos:pos] is consumed but not yet in crc
	eof    bool
	err    *Error
	empty  bool // the last Object was an empty collection
	tmp    []byte
}

// NewDecoder reads from r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: r, buf: make([]byte, 64<<10)}
}

// NewBytesDecoder reads from b (DUMP payloads, fuzzing).
func NewBytesDecoder(b []byte) *Decoder {
	return &Decoder{buf: b, end: len(b), eof: true}
}

// Offset is the stream offset of the next byte.
func (d *Decoder) Offset() int64 { return d.base + int64(d.pos) }

// Err returns the first error met, nil if none.
func (d *Decoder) Err() error {
	if d.err == nil {
		return nil
	}
	return d.err
}

// fail records the first error; every read after it returns zero values.
func (d *Decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = &Error{Offset: d.Offset(), Reason: fmt.Sprintf(format, args...)}
	}
}

// Failed reports whether an error has been recorded.
func (d *Decoder) Failed() bool { return d.err != nil }

// Fail records a caller's validation error at the current offset.
func (d *Decoder) Fail(format string, args ...any) { d.fail(format, args...) }

// Checksum is the CRC64 of every byte consumed so far.
func (d *Decoder) Checksum() uint64 {
	d.crc = crc64.Update(d.crc, d.buf[d.crcPos:d.pos])
	d.crcPos = d.pos
	return d.crc
}

// fill makes at least n bytes available unless the stream ends.
func (d *Decoder) fill(n int) bool {
	if d.end-d.pos >= n {
		return true
	}
	if d.eof || d.r == nil {
		return false
	}
	d.Checksum()
	// Move the unread tail to the front and grow the buffer if one read needs more.
	if n > len(d.buf) {
		nb := make([]byte, max(n, 2*len(d.buf)))
		copy(nb, d.buf[d.pos:d.end])
		d.buf = nb
	} else {
		copy(d.buf, d.buf[d.pos:d.end])
	}
	d.base += int64(d.pos)
	d.end -= d.pos
	d.pos, d.crcPos = 0, 0
	for d.end < n {
		m, err := d.r.Read(d.buf[d.end:])
		d.end += m
		if err != nil {
			if err != io.EOF {
				d.fail("read error: %v", err)
			}
			d.eof = true
			break
		}
	}
	return d.end-d.pos >= n
}

// next consumes n bytes and returns them; the slice is only valid until the next read.
// n must be small (at most maxChunk).
func (d *Decoder) next(n int) []byte {
	if d.err != nil {
		return nil
	}
	if !d.fill(n) {
		d.pos = d.end
		d.fail(reasonShort)
		return nil
	}
	b := d.buf[d.pos : d.pos+n]
	d.pos += n
	return b
}

// Byte reads one byte.
func (d *Decoder) Byte() byte {
	b := d.next(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// Raw reads n bytes into a fresh slice, allocating progressively so that a corrupt length
// fails at the end of the input instead of allocating it all.
func (d *Decoder) Raw(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	out := make([]byte, 0, min(n, maxChunk))
	for uint64(len(out)) < n && d.err == nil {
		k := int(min(n-uint64(len(out)), maxChunk))
		b := d.next(k)
		out = append(out, b...)
	}
	if d.err != nil {
		return nil
	}
	return out
}

// Uint64LE reads 8 bytes little endian (millisecond times, binary doubles).
func (d *Decoder) Uint64LE() uint64 {
	b := d.next(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

// Millis reads a millisecond timestamp.
func (d *Decoder) Millis() int64 { return int64(d.Uint64LE()) }

// Double reads a binary double.
func (d *Decoder) Double() float64 { return math.Float64frombits(d.Uint64LE()) }

// lenOrEnc reads a length, or the special encoding number when the top bits are 11.
func (d *Decoder) lenOrEnc() (v uint64, special bool) {
	b := d.Byte()
	switch b >> 6 {
	case 0:
		return uint64(b & 0x3F), false
	case 1:
		return uint64(b&0x3F)<<8 | uint64(d.Byte()), false
	case 2:
		switch b {
		case 0x80:
			p := d.next(4)
			if p == nil {
				return 0, false
			}
			return uint64(binary.BigEndian.Uint32(p)), false
		case 0x81:
			p := d.next(8)
			if p == nil {
				return 0, false
			}
			return binary.BigEndian.Uint64(p), false
		}
		d.fail("unknown length encoding %d", b)
		return 0, false
	}
	return uint64(b & 0x3F), true
}

// Len reads a length.
func (d *Decoder) Len() uint64 {
	v, special := d.lenOrEnc()
	if special {
		d.fail("unexpected string encoding where a length was expected")
		return 0
	}
	return v
}

// Count reads a length that counts elements which each take at least one byte, refusing
// values that cannot be real.
func (d *Decoder) Count() int {
	v := d.Len()
	if v > math.MaxInt32*64 {
		d.fail("length %d out of range", v)
		return 0
	}
	return int(v)
}

// String reads a string in any of its encodings into a fresh slice.
func (d *Decoder) String() []byte {
	v, special := d.lenOrEnc()
	if d.err != nil {
		return nil
	}
	if !special {
		return d.Raw(v)
	}
	switch v {
	case encInt8:
		return strconv.AppendInt(nil, int64(int8(d.Byte())), 10)
	case encInt16:
		b := d.next(2)
		if b == nil {
			return nil
		}
		return strconv.AppendInt(nil, int64(int16(binary.LittleEndian.Uint16(b))), 10)
	case encInt32:
		b := d.next(4)
		if b == nil {
			return nil
		}
		return strconv.AppendInt(nil, int64(int32(binary.LittleEndian.Uint32(b))), 10)
	case encLZF:
		clen := d.Len()
		ulen := d.Len()
		if d.err != nil {
			return nil
		}
		if ulen == 0 || ulen > math.MaxInt32 || clen == 0 {
			d.fail("invalid LZF lengths %d/%d", clen, ulen)
			return nil
		}
		z := d.Raw(clen)
		if z == nil {
			return nil
		}
		// The output can be at most about 264 times the input, which bounds the allocation.
		if ulen > clen*264+64 {
			d.fail("invalid LZF lengths %d/%d", clen, ulen)
			return nil
		}
		out, err := lzf.Decompress(nil, z, int(ulen))
		if err != nil || len(out) != int(ulen) {
			d.fail("invalid LZF compressed string")
			return nil
		}
		return out
	}
	d.fail("unknown string encoding %d", v)
	return nil
}

// OldDouble reads a score of the ZSET (version 1) type: a length byte, with 253, 254 and
// 255 meaning NaN, +inf and -inf, then that many bytes of text.
func (d *Decoder) OldDouble() float64 {
	n := d.Byte()
	switch n {
	case 253:
		return math.NaN()
	case 254:
		return math.Inf(1)
	case 255:
		return math.Inf(-1)
	}
	b := d.next(int(n))
	if b == nil {
		return 0
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		d.fail("invalid double value")
		return 0
	}
	return f
}
