package server

import (
	"encoding/binary"
	"math"
	"math/bits"

	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/num"
)

// Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO, on
// string values read as arrays of bits, most significant bit of each byte first.

const (
	errBitOffset     = "ERR bit offset is not an integer or out of range"
	errBitValue      = "ERR bit is not an integer or out of range"
	errBitArg        = "ERR The bit argument must be 1 or 0."
	errBitopNot      = "ERR BITOP NOT must be called with a single source key."
	errBitfieldType  = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
	errBitfieldOvf   = "ERR Invalid OVERFLOW type specified"
	errBitfieldROGet = "ERR BITFIELD_RO only supports the GET subcommand"
)

// parseBitOffset reads a bit offset; with hash, "#N" means N*width bits (BITFIELD). Offsets
// whose byte lies at or past proto-max-bulk-len are refused, which bounds the string size.
func parseBitOffset(c *Client, arg []byte, hash bool, width int) (int64, bool) {
	useHash := hash && len(arg) > 1 && arg[0] == '#'
	if useHash {
		arg = arg[1:]
	}
	off, ok := num.ParseInt64(arg)
	if !ok {
		c.w.Error(errBitOffset)
		return 0, false
	}
	if useHash {
		off *= int64(width) // wraps on overflow like Redis's, then fails the range check
	}
	if off < 0 || off>>3 >= c.srv.hot.protoMaxBulk.Get() {
		c.w.Error(errBitOffset)
		return 0, false
	}
	return off, true
}

// readString looks up a key for a read-only bit command: found reports the key exists;
// ok is false after a WRONGTYPE reply.
func readString(c *Client, key []byte) (val []byte, found, ok bool) {
	r, found := c.db.lookupRead(key)
	if !found {
		return nil, false, true
	}
	if c.db.ks.Type(r) != keyspace.TypeString {
		c.w.Error(errWrongType)
		return nil, true, false
	}
	return c.db.ks.Str(r), true, true
}

// stringForBitWrite returns key's value grown with zero bytes to hold bit maxBit, creating
// the key if needed, writable in place. changed reports a new key or a longer string.
// The value becomes raw, as Redis unshares it before writing.
func stringForBitWrite(c *Client, key []byte, maxBit int64) (b []byte, changed, ok bool) {
	need := int(maxBit>>3) + 1
	ks := c.db.ks
	r, found := c.db.lookupWrite(key)
	if !found {
		r = c.db.setString(key, nil, encRaw, false)
		return ks.StrForUpdate(r, need), true, true
	}
	if ks.Type(r) != keyspace.TypeString {
		c.w.Error(errWrongType)
		return nil, false, false
	}
	old := len(ks.Str(r))
	b = ks.StrForUpdate(r, max(old, need))
	ks.SetEnc(r, encRaw)
	return b, len(b) != old, true
}

func setbitCommand(c *Client) {
	off, ok := parseBitOffset(c, c.argv[2], false, 0)
	if !ok {
		return
	}
	on, ok := num.ParseInt64(c.argv[3])
	if !ok || on&^1 != 0 {
		c.w.Error(errBitValue)
		return
	}
	b, changed, ok := stringForBitWrite(c, c.argv[1], off)
	if !ok {
		return
	}
	byteIdx, mask := off>>3, byte(1)<<(7-off&7)
	old := b[byteIdx]&mask != 0
	// Redis 7.0 counts a change only when the key or length is new or the bit flips.
	if changed || old != (on == 1) {
		if on == 1 {
			b[byteIdx] |= mask
		} else {
			b[byteIdx] &^= mask
		}
		c.srv.notifyKeyspace(notifyString, "setbit", c.argv[1], c.db.id)
		c.srv.dirty++
	}
	c.w.Int(boolInt(old))
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func getbitCommand(c *Client) {
	off, ok := parseBitOffset(c, c.argv[2], false, 0)
	if !ok {
		return
	}
	s, _, ok := readString(c, c.argv[1])
	if !ok {
		return
	}
	byteIdx := off >> 3
	if byteIdx < int64(len(s)) && s[byteIdx]&(1<<(7-off&7)) != 0 {
		c.w.Int(1)
		return
	}
	c.w.Int(0)
}

// popcount counts the set bits of b.
func popcount(b []byte) int64 {
	var n int
	for len(b) >= 8 {
		n += bits.OnesCount64(binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	for _, x := range b {
		n += bits.OnesCount8(x)
	}
	return int64(n)
}

// bitRange resolves BITCOUNT/BITPOS start and end (negative from the end, clamped) over a
// string of n bytes. In bit units it returns byte bounds plus masks of the bits of the
// first and last byte that lie outside the range.
func bitRange(n, start, end int64, isBit bool) (s, e int64, firstNeg, lastNeg byte) {
	total := n
	if isBit {
		total <<= 3
	}
	if start < 0 {
		start += total
	}
	if end < 0 {
		end += total
	}
	start, end = max(start, 0), max(end, 0)
	if end >= total {
		end = total - 1
	}
	if isBit && start <= end {
		firstNeg = ^byte(1<<(8-start&7) - 1)
		lastNeg = byte(1<<(7-end&7) - 1)
		start >>= 3
		end >>= 3
	}
	return start, end, firstNeg, lastNeg
}

// parseBitUnit reads the optional BYTE|BIT argument.
func parseBitUnit(c *Client, arg []byte) (isBit, ok bool) {
	switch {
	case argEq(arg, "bit"):
		return true, true
	case argEq(arg, "byte"):
		return false, true
	}
	c.w.Error(errSyntax)
	return false, false
}

func bitcountCommand(c *Client) {
	// Redis looks the key up before parsing the range: a missing key is 0 whatever follows.
	s, found, ok := readString(c, c.argv[1])
	if !ok {
		return
	}
	if !found {
		c.w.Int(0)
		return
	}
	argc := len(c.argv)
	var start, end int64
	var firstNeg, lastNeg byte
	switch argc {
	case 2:
		start, end = 0, int64(len(s))-1
	case 4, 5:
		var ok1, ok2 bool
		start, ok1 = num.ParseInt64(c.argv[2])
		if !ok1 {
			c.w.Error(errNotInt)
			return
		}
		end, ok2 = num.ParseInt64(c.argv[3])
		if !ok2 {
			c.w.Error(errNotInt)
			return
		}
		if start < 0 && end < 0 && start > end {
			c.w.Int(0)
			return
		}
		isBit := false
		if argc == 5 {
			if isBit, ok = parseBitUnit(c, c.argv[4]); !ok {
				return
			}
		}
		start, end, firstNeg, lastNeg = bitRange(int64(len(s)), start, end, isBit)
	default:
		c.w.Error(errSyntax)
		return
	}
	if start > end {
		c.w.Int(0)
		return
	}
	count := popcount(s[start : end+1])
	count -= int64(bits.OnesCount8(s[start]&firstNeg) + bits.OnesCount8(s[end]&lastNeg))
	c.w.Int(count)
}

// bitpos finds the first bit equal to bit in b: -1 when looking for a 1 that is not there,
// len(b)*8 (the first bit after) when looking for a 0 that is not there.
func bitpos(b []byte, bit int64) int64 {
	for i, x := range b {
		if bit == 1 && x != 0 {
			return int64(i)*8 + int64(bits.LeadingZeros8(x))
		}
		if bit == 0 && x != 0xff {
			return int64(i)*8 + int64(bits.LeadingZeros8(^x))
		}
	}
	if bit == 1 {
		return -1
	}
	return int64(len(b)) * 8
}

func bitposCommand(c *Client) {
	bit, ok := num.ParseInt64(c.argv[2])
	if !ok {
		c.w.Error(errNotInt)
		return
	}
	if bit != 0 && bit != 1 {
		c.w.Error(errBitArg)
		return
	}
	s, found, ok := readString(c, c.argv[1])
	if !ok {
		return
	}
	if !found {
		// a missing key is an endless run of zeros
		c.w.Int(-bit)
		return
	}
	argc := len(c.argv)
	n := int64(len(s))
	var start, end int64
	var firstNeg, lastNeg byte
	endGiven := false
	switch {
	case argc == 3:
		start, end = 0, n-1
	case argc <= 6:
		if start, ok = num.ParseInt64(c.argv[3]); !ok {
			c.w.Error(errNotInt)
			return
		}
		isBit := false
		if argc == 6 {
			if isBit, ok = parseBitUnit(c, c.argv[5]); !ok {
				return
			}
		}
		if argc >= 5 {
			if end, ok = num.ParseInt64(c.argv[4]); !ok {
				c.w.Error(errNotInt)
				return
			}
			endGiven = true
		} else {
			end = n - 1
		}
		start, end, firstNeg, lastNeg = bitRange(n, start, end, isBit)
	default:
		c.w.Error(errSyntax)
		return
	}
	if start > end {
		c.w.Int(-1)
		return
	}
	pos, base, bytes := bitposRange(s, start, end, bit, firstNeg, lastNeg)
	// With an explicit end, running past the range looking for a 0 finds nothing.
	if endGiven && bit == 0 && pos == bytes<<3 {
		c.w.Int(-1)
		return
	}
	if pos != -1 {
		pos += base << 3
	}
	c.w.Int(pos)
}

// bitposRange searches s[start..end] with the edge masks of a BIT range, in the steps
// Redis takes (masked first byte, whole bytes, masked last byte). It returns the position
// found relative to byte base, and the length of the last span searched, so that the caller
// can tell a 0 found just past the range.
func bitposRange(s []byte, start, end, bit int64, firstNeg, lastNeg byte) (pos, base, bytes int64) {
	bytes = end - start + 1
	mask := func(x, neg byte) byte {
		if bit == 1 {
			return x &^ neg
		}
		return x | neg
	}
	if firstNeg != 0 {
		t := mask(s[start], firstNeg)
		if lastNeg != 0 && bytes == 1 {
			t = mask(t, lastNeg)
		}
		pos = bitpos([]byte{t}, bit)
		if bytes == 1 || (pos != -1 && pos != 8) {
			return pos, start, bytes
		}
		start++
		bytes--
	}
	cur := bytes
	if lastNeg != 0 {
		cur--
	}
	if cur > 0 {
		pos = bitpos(s[start:start+cur], bit)
		if bytes == cur || (pos != -1 && pos != cur<<3) {
			return pos, start, bytes
		}
		start += cur
		bytes -= cur
	}
	return bitpos([]byte{mask(s[end], lastNeg)}, bit), start, bytes
}

type bitopKind int

const (
	bitopAnd bitopKind = iota
	bitopOr
	bitopXor
	bitopNot
)

func bitopCommand(c *Client) {
	var op bitopKind
	switch name := c.argv[1]; {
	case argEq(name, "and"):
		op = bitopAnd
	case argEq(name, "or"):
		op = bitopOr
	case argEq(name, "xor"):
		op = bitopXor
	case argEq(name, "not"):
		op = bitopNot
	default:
		c.w.Error(errSyntax)
		return
	}
	if op == bitopNot && len(c.argv) != 4 {
		c.w.Error(errBitopNot)
		return
	}
	dest := c.argv[2]
	srcKeys := c.argv[3:]
	srcs := make([][]byte, len(srcKeys))
	maxLen := 0
	for i, k := range srcKeys {
		s, _, ok := readString(c, k)
		if !ok {
			return
		}
		srcs[i] = s
		maxLen = max(maxLen, len(s))
	}
	if maxLen == 0 {
		if c.db.delete(dest) {
			c.srv.notifyKeyspace(notifyGeneric, "del", dest, c.db.id)
			c.srv.dirty++
		}
		c.w.Int(0)
		return
	}
	// The sources alias the keyspace, so the result is computed apart and stored last.
	res := make([]byte, maxLen)
	if op == bitopNot {
		for i, x := range srcs[0] {
			res[i] = ^x
		}
	} else {
		copy(res, srcs[0])
		for _, s := range srcs[1:] {
			for i := range res {
				var x byte
				if i < len(s) {
					x = s[i]
				}
				switch op {
				case bitopAnd:
					res[i] &= x
				case bitopOr:
					res[i] |= x
				case bitopXor:
					res[i] ^= x
				}
			}
		}
	}
	// BITOP stores a raw string whatever its content, as Redis's createObject does.
	c.db.setString(dest, res, encRaw, false)
	c.srv.notifyKeyspace(notifyString, "set", dest, c.db.id)
	c.srv.dirty++
	c.w.Int(int64(maxLen))
}

// BITFIELD.

const (
	bfGet = iota
	bfSet
	bfIncrBy
)

const (
	bfWrap = iota
	bfSat
	bfFail
)

type bitfieldOp struct {
	offset   int64
	value    int64
	opcode   int
	overflow int
	width    int
	signed   bool
}

// parseBitfieldType reads i1..i64 or u1..u63 (the sign letter is case-sensitive).
func parseBitfieldType(c *Client, arg []byte) (signed bool, width int, ok bool) {
	arg = cString(arg)
	if len(arg) == 0 || (arg[0] != 'i' && arg[0] != 'u') {
		c.w.Error(errBitfieldType)
		return false, 0, false
	}
	signed = arg[0] == 'i'
	n, ok := num.ParseInt64(arg[1:])
	if !ok || n < 1 || (signed && n > 64) || (!signed && n > 63) {
		c.w.Error(errBitfieldType)
		return false, 0, false
	}
	return signed, int(n), true
}

// getBitfield reads width bits at bit offset off of p as an unsigned number; bits past the
// end of p read as zero.
func getBitfield(p []byte, off int64, width int) uint64 {
	var v uint64
	for j := 0; j < width; j++ {
		byteIdx := (off + int64(j)) >> 3
		var bit uint64
		if byteIdx < int64(len(p)) {
			bit = uint64(p[byteIdx]>>(7-(off+int64(j))&7)) & 1
		}
		v = v<<1 | bit
	}
	return v
}

func getSignedBitfield(p []byte, off int64, width int) int64 {
	v := getBitfield(p, off, width)
	if width < 64 && v&(1<<(width-1)) != 0 {
		v |= math.MaxUint64 << width
	}
	return int64(v)
}

func setBitfield(p []byte, off int64, width int, v uint64) {
	for j := 0; j < width; j++ {
		pos := off + int64(j)
		mask := byte(1) << (7 - pos&7)
		if v>>(width-1-j)&1 != 0 {
			p[pos>>3] |= mask
		} else {
			p[pos>>3] &^= mask
		}
	}
}

// unsignedOverflow reports whether value+incr leaves the range of a width-bit unsigned
// field (1 above, -1 below) and the value the overflow policy gives it.
func unsignedOverflow(value uint64, incr int64, width int, policy int) (int, uint64) {
	maxv := uint64(1)<<width - 1
	maxIncr := int64(maxv - value)
	minIncr := -int64(value)
	wrap := func() uint64 { return (value + uint64(incr)) &^ (math.MaxUint64 << width) }
	switch {
	case value > maxv || (incr > 0 && incr > maxIncr):
		switch policy {
		case bfWrap:
			return 1, wrap()
		case bfSat:
			return 1, maxv
		}
		return 1, 0
	case incr < 0 && incr < minIncr:
		switch policy {
		case bfWrap:
			return -1, wrap()
		case bfSat:
			return -1, 0
		}
		return -1, 0
	}
	return 0, 0
}

// signedOverflow is unsignedOverflow for a width-bit two's complement field.
func signedOverflow(value, incr int64, width int, policy int) (int, int64) {
	maxv := int64(math.MaxInt64)
	if width < 64 {
		maxv = int64(1)<<(width-1) - 1
	}
	minv := -maxv - 1
	maxIncr := int64(uint64(maxv) - uint64(value))
	minIncr := minv - value
	wrap := func() int64 {
		r := uint64(value) + uint64(incr)
		if width < 64 {
			mask := uint64(math.MaxUint64) << width
			if r&(1<<(width-1)) != 0 {
				r |= mask
			} else {
				r &^= mask
			}
		}
		return int64(r)
	}
	switch {
	case value > maxv || (width != 64 && incr > maxIncr) || (value >= 0 && incr > 0 && incr > maxIncr):
		switch policy {
		case bfWrap:
			return 1, wrap()
		case bfSat:
			return 1, maxv
		}
		return 1, 0
	case value < minv || (width != 64 && incr < minIncr) || (value < 0 && incr < 0 && incr < minIncr):
		switch policy {
		case bfWrap:
			return -1, wrap()
		case bfSat:
			return -1, minv
		}
		return -1, 0
	}
	return 0, 0
}

func bitfieldCommand(c *Client)   { bitfieldGeneric(c, false) }
func bitfieldROCommand(c *Client) { bitfieldGeneric(c, true) }

func bitfieldGeneric(c *Client, readOnlyCmd bool) {
	var ops []bitfieldOp
	overflow := bfWrap
	readOnly := true
	var highest int64
	argv := c.argv
	for j := 2; j < len(argv); j++ {
		remaining := len(argv) - j - 1
		sub := argv[j]
		var opcode int
		switch {
		case argEq(sub, "get") && remaining >= 2:
			opcode = bfGet
		case argEq(sub, "set") && remaining >= 3:
			opcode = bfSet
		case argEq(sub, "incrby") && remaining >= 3:
			opcode = bfIncrBy
		case argEq(sub, "overflow") && remaining >= 1:
			j++
			switch name := argv[j]; {
			case argEq(name, "wrap"):
				overflow = bfWrap
			case argEq(name, "sat"):
				overflow = bfSat
			case argEq(name, "fail"):
				overflow = bfFail
			default:
				c.w.Error(errBitfieldOvf)
				return
			}
			continue
		default:
			c.w.Error(errSyntax)
			return
		}
		signed, width, ok := parseBitfieldType(c, argv[j+1])
		if !ok {
			return
		}
		off, ok := parseBitOffset(c, argv[j+2], true, width)
		if !ok {
			return
		}
		var val int64
		if opcode != bfGet {
			readOnly = false
			highest = max(highest, off+int64(width)-1)
			if val, ok = num.ParseInt64(argv[j+3]); !ok {
				c.w.Error(errNotInt)
				return
			}
			j++
		}
		ops = append(ops, bitfieldOp{offset: off, value: val, opcode: opcode, overflow: overflow, width: width, signed: signed})
		j += 2
	}

	var buf []byte
	grew := false
	if readOnly {
		s, _, ok := readString(c, argv[1])
		if !ok {
			return
		}
		buf = s
	} else {
		if readOnlyCmd {
			c.w.Error(errBitfieldROGet)
			return
		}
		var ok bool
		if buf, grew, ok = stringForBitWrite(c, argv[1], highest); !ok {
			return
		}
	}

	c.w.Array(len(ops))
	changes := 0
	for _, op := range ops {
		if op.opcode == bfGet {
			if op.signed {
				c.w.Int(getSignedBitfield(buf, op.offset, op.width))
			} else {
				c.w.Int(int64(getBitfield(buf, op.offset, op.width)))
			}
			continue
		}
		var reply int64
		var store uint64
		var fail, same bool
		if op.signed {
			old := getSignedBitfield(buf, op.offset, op.width)
			var nv int64
			if op.opcode == bfIncrBy {
				ovf, wrapped := signedOverflow(old, op.value, op.width, op.overflow)
				nv = old + op.value
				if ovf != 0 {
					nv = wrapped
				}
				reply, fail = nv, ovf != 0 && op.overflow == bfFail
			} else {
				nv = op.value
				ovf, wrapped := signedOverflow(nv, 0, op.width, op.overflow)
				if ovf != 0 {
					nv = wrapped
				}
				reply, fail = old, ovf != 0 && op.overflow == bfFail
			}
			store, same = uint64(nv), old == nv
		} else {
			old := getBitfield(buf, op.offset, op.width)
			var nv uint64
			if op.opcode == bfIncrBy {
				ovf, wrapped := unsignedOverflow(old, op.value, op.width, op.overflow)
				nv = old + uint64(op.value)
				if ovf != 0 {
					nv = wrapped
				}
				reply, fail = int64(nv), ovf != 0 && op.overflow == bfFail
			} else {
				nv = uint64(op.value)
				ovf, wrapped := unsignedOverflow(nv, 0, op.width, op.overflow)
				if ovf != 0 {
					nv = wrapped
				}
				reply, fail = int64(old), ovf != 0 && op.overflow == bfFail
			}
			store, same = nv, old == nv
		}
		if fail {
			c.w.Null()
			continue
		}
		c.w.Int(reply)
		setBitfield(buf, op.offset, op.width, store)
		if grew || !same {
			changes++
		}
	}
	if changes > 0 {
		c.srv.notifyKeyspace(notifyString, "setbit", argv[1], c.db.id)
		c.srv.dirty += int64(changes)
	}
}

func init() {
	register(map[string]func(*Client){
		"setbit":      setbitCommand,
		"getbit":      getbitCommand,
		"bitcount":    bitcountCommand,
		"bitpos":      bitposCommand,
		"bitop":       bitopCommand,
		"bitfield":    bitfieldCommand,
		"bitfield_ro": bitfieldROCommand,
	})
}
