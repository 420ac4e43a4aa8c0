// Package rdb reads and writes Redis's RDB format, version 10 as Redis 7.0 writes it, plus
// the older encodings a loader must still accept, converting sard's value types to and
// from it without knowing anything about the server.
package rdb

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/sard-kv/sard/internal/lzf"
	"github.com/sard-kv/sard/internal/num"
)

// Version is the RDB version written (Redis 7.0's RDB_VERSION); files and DUMP payloads
// up to it are read.
const Version = 10

// Value types as stored in the file (RDB_TYPE_*).
const (
	TypeString           = 0
	TypeList             = 1
	TypeSet              = 2
	TypeZSet             = 3
	TypeHash             = 4
	TypeZSet2            = 5
	TypeModule           = 6
	TypeModule2          = 7
	TypeHashZipmap       = 9
	TypeListZiplist      = 10
	TypeSetIntset        = 11
	TypeZSetZiplist      = 12
	TypeHashZiplist      = 13
	TypeListQuicklist    = 14
	TypeStreamListpacks  = 15
	TypeHashListpack     = 16
	TypeZSetListpack     = 17
	TypeListQuicklist2   = 18
	TypeStreamListpacks2 = 19
)

// Opcodes (RDB_OPCODE_*).
const (
	OpFunction2    = 245
	OpFunction     = 246 // the pre-release 7.0 format, refused as Redis 7.0 does
	OpModuleAux    = 247
	OpIdle         = 248
	OpFreq         = 249
	OpAux          = 250
	OpResizeDB     = 251
	OpExpireTimeMs = 252
	OpExpireTime   = 253
	OpSelectDB     = 254
	OpEOF          = 255
)

// Special string encodings (RDB_ENC_*), flagged by the top two length bits being 11.
const (
	encInt8  = 0
	encInt16 = 1
	encInt32 = 2
	encLZF   = 3
)

// Quicklist node containers.
const (
	containerPlain  = 1
	containerPacked = 2
)

// Encoder appends RDB encodings to Buf. Compress is rdbcompression: strings longer than 20
// bytes are LZF-compressed when that saves space.
type Encoder struct {
	Buf      []byte
	Compress bool
	lzfBuf   []byte
}

// Byte appends one raw byte (a type or an opcode).
func (e *Encoder) Byte(b byte) { e.Buf = append(e.Buf, b) }

// Len appends a length in RDB's variable-size encoding.
func (e *Encoder) Len(v uint64) { e.Buf = AppendLen(e.Buf, v) }

// AppendLen appends RDB's length encoding of v to b.
func AppendLen(b []byte, v uint64) []byte {
	switch {
	case v < 1<<6:
		return append(b, byte(v))
	case v < 1<<14:
		return append(b, byte(v>>8)|0x40, byte(v))
	case v <= math.MaxUint32:
		b = append(b, 0x80)
		return binary.BigEndian.AppendUint32(b, uint32(v))
	}
	b = append(b, 0x81)
	return binary.BigEndian.AppendUint64(b, v)
}

// Millis appends a millisecond timestamp (8 bytes little endian).
func (e *Encoder) Millis(ms int64) { e.Buf = binary.LittleEndian.AppendUint64(e.Buf, uint64(ms)) }

// Double appends a binary double (ZSET_2 scores).
func (e *Encoder) Double(f float64) {
	e.Buf = binary.LittleEndian.AppendUint64(e.Buf, math.Float64bits(f))
}

// String appends s as Redis's rdbSaveRawString does: as an integer when it is the canonical
// text of one that fits 32 bits, LZF-compressed when allowed and smaller, raw otherwise.
func (e *Encoder) String(s []byte) {
	if len(s) <= 11 {
		if v, ok := canonicalInt(s); ok && e.intEncoded(v) {
			return
		}
	}
	if e.Compress && len(s) > 20 && e.lzf(s) {
		return
	}
	e.Len(uint64(len(s)))
	e.Buf = append(e.Buf, s...)
}

// StringParts returns String's encoding of s as a head and a body to write one after the
// other, without appending s anywhere: the body is s itself when it is written raw, the
// compressed bytes otherwise, so a large value costs no copy. Both stay valid until the next
// call; e.Buf is used as scratch.
func (e *Encoder) StringParts(s []byte) (head, body []byte) {
	e.Buf = e.Buf[:0]
	if len(s) <= 20 {
		e.String(s)
		return e.Buf, nil
	}
	if e.Compress {
		if z := lzf.Compress(e.lzfBuf[:0], s, len(s)-4); z != nil {
			e.lzfBuf = z
			e.Buf = append(e.Buf, 0xC0|encLZF)
			e.Len(uint64(len(z)))
			e.Len(uint64(len(s)))
			return e.Buf, z
		}
	}
	e.Len(uint64(len(s)))
	return e.Buf, s
}

// ReleaseScratch drops the compression buffer when a large value left it big.
func (e *Encoder) ReleaseScratch() {
	if cap(e.lzfBuf) > 1<<20 {
		e.lzfBuf = nil
	}
}

// Int appends an integer the way Redis saves an int-encoded string object.
func (e *Encoder) Int(v int64) {
	if e.intEncoded(v) {
		return
	}
	var tmp [20]byte
	e.String(strconv.AppendInt(tmp[:0], v, 10))
}

func (e *Encoder) intEncoded(v int64) bool {
	switch {
	case v >= math.MinInt8 && v <= math.MaxInt8:
		e.Buf = append(e.Buf, 0xC0|encInt8, byte(v))
	case v >= math.MinInt16 && v <= math.MaxInt16:
		e.Buf = append(e.Buf, 0xC0|encInt16)
		e.Buf = binary.LittleEndian.AppendUint16(e.Buf, uint16(v))
	case v >= math.MinInt32 && v <= math.MaxInt32:
		e.Buf = append(e.Buf, 0xC0|encInt32)
		e.Buf = binary.LittleEndian.AppendUint32(e.Buf, uint32(v))
	default:
		return false
	}
	return true
}

// lzf writes s compressed if the result is at least 4 bytes shorter (Redis's budget).
func (e *Encoder) lzf(s []byte) bool {
	if len(s) <= 4 {
		return false
	}
	z := lzf.Compress(e.lzfBuf[:0], s, len(s)-4)
	if z == nil {
		return false
	}
	e.lzfBuf = z
	e.LZFBlob(z, len(s))
	return true
}

// LZFBlob appends already-compressed data of the given original length (compressed
// quicklist nodes are written as they are held).
func (e *Encoder) LZFBlob(z []byte, origLen int) {
	e.Buf = append(e.Buf, 0xC0|encLZF)
	e.Len(uint64(len(z)))
	e.Len(uint64(origLen))
	e.Buf = append(e.Buf, z...)
}

// Aux appends an AUX field.
func (e *Encoder) Aux(key, val string) {
	e.Byte(OpAux)
	e.String([]byte(key))
	e.String([]byte(val))
}

// AuxInt appends an AUX field with an integer value, as Redis's rdbSaveAuxFieldStrInt.
func (e *Encoder) AuxInt(key string, v int64) {
	e.Aux(key, strconv.FormatInt(v, 10))
}

// canonicalInt parses s when it is exactly the decimal text of an int64 (Redis's string2ll,
// which refuses anything that would not print back the same).
func canonicalInt(s []byte) (int64, bool) { return num.ParseInt64(s) }
