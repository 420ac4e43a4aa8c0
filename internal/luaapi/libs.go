package luaapi

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// --- cmsgpack: MessagePack as lua-cmsgpack encodes it (smallest integer form, float32
// when exact, arrays for tables keyed 1..n, nesting capped at 16 levels). ---

const msgpackMaxNesting = 16

func (s *State) openCmsgpack() {
	L := s.L
	t := L.NewTable()
	L.SetFuncs(t, map[string]lua.LGFunction{
		"pack":         s.msgpackPack,
		"unpack":       func(L *lua.LState) int { return msgpackUnpack(L, 0, -1) },
		"unpack_one":   func(L *lua.LState) int { return msgpackUnpack(L, L.OptInt(2, 0), 1) },
		"unpack_limit": func(L *lua.LState) int { return msgpackUnpack(L, L.OptInt(3, 0), L.CheckInt(2)) },
	})
	t.RawSetString("_NAME", lua.LString("cmsgpack"))
	t.RawSetString("_VERSION", lua.LString("lua-cmsgpack 0.4.0"))
	L.G.Global.RawSetString("cmsgpack", t)
}

func (s *State) msgpackPack(L *lua.LState) int {
	n := L.GetTop()
	if n == 0 {
		L.ArgError(0, "MessagePack pack needs input.")
	}
	var b []byte
	for i := 1; i <= n; i++ {
		b = s.msgpackEncode(b, L.Get(i), 0)
		if len(b) > MaxString {
			L.RaiseError("not enough memory")
		}
	}
	L.Push(lua.LString(b))
	return 1
}

func (s *State) msgpackEncode(b []byte, v lua.LValue, level int) []byte {
	switch x := v.(type) {
	case lua.LString:
		n := len(x)
		switch {
		case n < 32:
			b = append(b, 0xa0|byte(n))
		case n <= 0xff:
			b = append(b, 0xd9, byte(n))
		case n <= 0xffff:
			b = append(b, 0xda, byte(n>>8), byte(n))
		default:
			b = append(b, 0xdb)
			b = binary.BigEndian.AppendUint32(b, uint32(n))
		}
		return append(b, x...)
	case lua.LBool:
		if x {
			return append(b, 0xc3)
		}
		return append(b, 0xc2)
	case lua.LNumber:
		f := float64(x)
		if f == math.Trunc(f) && f >= -9.2e18 && f <= 1.8e19 && !math.IsInf(f, 0) {
			if f >= 0 {
				return msgpackUint(b, uint64(f))
			}
			return msgpackInt(b, int64(f))
		}
		if float64(float32(f)) == f || math.IsNaN(f) {
			b = append(b, 0xca)
			return binary.BigEndian.AppendUint32(b, math.Float32bits(float32(f)))
		}
		b = append(b, 0xcb)
		return binary.BigEndian.AppendUint64(b, math.Float64bits(f))
	case *lua.LTable:
		x = s.backing(x)
		if level >= msgpackMaxNesting {
			return append(b, 0xc0)
		}
		if n, ok := msgpackArrayLen(x); ok {
			b = msgpackHeader(b, n, 0x90, 0xdc, 0xdd)
			for i := 1; i <= n; i++ {
				b = s.msgpackEncode(b, x.RawGetInt(i), level+1)
			}
			return b
		}
		n := 0
		x.ForEach(func(lua.LValue, lua.LValue) { n++ })
		b = msgpackHeader(b, n, 0x80, 0xde, 0xdf)
		x.ForEach(func(k, val lua.LValue) {
			b = s.msgpackEncode(b, k, level+1)
			b = s.msgpackEncode(b, val, level+1)
		})
		return b
	}
	return append(b, 0xc0)
}

func msgpackHeader(b []byte, n int, fix, c16, c32 byte) []byte {
	switch {
	case n < 16:
		return append(b, fix|byte(n))
	case n <= 0xffff:
		return append(b, c16, byte(n>>8), byte(n))
	}
	b = append(b, c32)
	return binary.BigEndian.AppendUint32(b, uint32(n))
}

func msgpackArrayLen(t *lua.LTable) (int, bool) {
	maxKey, count := 0, 0
	ok := true
	t.ForEach(func(k, _ lua.LValue) {
		n, isNum := k.(lua.LNumber)
		if !isNum || float64(n) < 1 || float64(n) != math.Floor(float64(n)) {
			ok = false
			return
		}
		count++
		maxKey = max(maxKey, int(n))
	})
	return maxKey, ok && maxKey == count
}

func msgpackUint(b []byte, v uint64) []byte {
	switch {
	case v < 128:
		return append(b, byte(v))
	case v <= 0xff:
		return append(b, 0xcc, byte(v))
	case v <= 0xffff:
		return append(b, 0xcd, byte(v>>8), byte(v))
	case v <= 0xffffffff:
		b = append(b, 0xce)
		return binary.BigEndian.AppendUint32(b, uint32(v))
	}
	b = append(b, 0xcf)
	return binary.BigEndian.AppendUint64(b, v)
}

func msgpackInt(b []byte, v int64) []byte {
	switch {
	case v >= -32:
		return append(b, byte(int8(v)))
	case v >= -128:
		return append(b, 0xd0, byte(int8(v)))
	case v >= -32768:
		return append(b, 0xd1, byte(v>>8), byte(v))
	case v >= -2147483648:
		b = append(b, 0xd2)
		return binary.BigEndian.AppendUint32(b, uint32(v))
	}
	b = append(b, 0xd3)
	return binary.BigEndian.AppendUint64(b, uint64(v))
}

// msgpackUnpack decodes up to limit objects (all when limit < 0) from offset; the
// _one/_limit forms also return the offset to continue from (-1 at the end).
func msgpackUnpack(L *lua.LState, offset, limit int) int {
	data := L.CheckString(1)
	if offset < 0 || offset > len(data) {
		L.ArgError(2, "Offset and limit must be non-negative and within the input")
	}
	d := msgpackDecoder{L: L, data: data, pos: offset}
	var out []lua.LValue
	for d.pos < len(data) && (limit < 0 || len(out) < limit) {
		out = append(out, d.decode(0))
	}
	if limit >= 0 || offset > 0 {
		next := d.pos
		if next >= len(data) {
			next = -1
		}
		L.Push(lua.LNumber(next))
	}
	for _, v := range out {
		L.Push(v)
	}
	if limit >= 0 || offset > 0 {
		return len(out) + 1
	}
	return len(out)
}

type msgpackDecoder struct {
	L    *lua.LState
	data string
	pos  int
}

func (d *msgpackDecoder) need(n int) string {
	if n < 0 || d.pos+n > len(d.data) || d.pos+n < d.pos {
		d.L.RaiseError("Missing bytes in input.")
	}
	s := d.data[d.pos : d.pos+n]
	d.pos += n
	return s
}

func (d *msgpackDecoder) uint(n int) uint64 {
	s := d.need(n)
	var v uint64
	for i := 0; i < n; i++ {
		v = v<<8 | uint64(s[i])
	}
	return v
}

func (d *msgpackDecoder) decode(level int) lua.LValue {
	if level > 1000 {
		d.L.RaiseError("Bad data format in input.")
	}
	c := d.need(1)[0]
	switch {
	case c < 0x80:
		return lua.LNumber(c)
	case c >= 0xe0:
		return lua.LNumber(int8(c))
	case c&0xe0 == 0xa0:
		return lua.LString(d.need(int(c & 0x1f)))
	case c&0xf0 == 0x90:
		return d.array(int(c&0x0f), level)
	case c&0xf0 == 0x80:
		return d.mapN(int(c&0x0f), level)
	}
	switch c {
	case 0xc0:
		return lua.LNil
	case 0xc2:
		return lua.LFalse
	case 0xc3:
		return lua.LTrue
	case 0xcc:
		return lua.LNumber(d.uint(1))
	case 0xcd:
		return lua.LNumber(d.uint(2))
	case 0xce:
		return lua.LNumber(d.uint(4))
	case 0xcf:
		return lua.LNumber(d.uint(8))
	case 0xd0:
		return lua.LNumber(int8(d.uint(1)))
	case 0xd1:
		return lua.LNumber(int16(d.uint(2)))
	case 0xd2:
		return lua.LNumber(int32(d.uint(4)))
	case 0xd3:
		return lua.LNumber(int64(d.uint(8)))
	case 0xca:
		return lua.LNumber(math.Float32frombits(uint32(d.uint(4))))
	case 0xcb:
		return lua.LNumber(math.Float64frombits(d.uint(8)))
	case 0xd9, 0xc4:
		return lua.LString(d.need(int(d.uint(1))))
	case 0xda, 0xc5:
		return lua.LString(d.need(int(d.uint(2))))
	case 0xdb, 0xc6:
		return lua.LString(d.need(int(d.uint(4))))
	case 0xdc:
		return d.array(int(d.uint(2)), level)
	case 0xdd:
		return d.array(int(d.uint(4)), level)
	case 0xde:
		return d.mapN(int(d.uint(2)), level)
	case 0xdf:
		return d.mapN(int(d.uint(4)), level)
	}
	d.L.RaiseError("Bad data format in input.")
	return lua.LNil
}

func (d *msgpackDecoder) array(n, level int) lua.LValue {
	if n > len(d.data)-d.pos {
		d.L.RaiseError("Missing bytes in input.")
	}
	t := d.L.CreateTable(n, 0)
	for i := 1; i <= n; i++ {
		t.RawSetInt(i, d.decode(level+1))
	}
	return t
}

func (d *msgpackDecoder) mapN(n, level int) lua.LValue {
	if n > len(d.data)-d.pos {
		d.L.RaiseError("Missing bytes in input.")
	}
	t := d.L.NewTable()
	for i := 0; i < n; i++ {
		k := d.decode(level + 1)
		v := d.decode(level + 1)
		if k != lua.LNil {
			t.RawSet(k, v)
		}
	}
	return t
}

// --- bit: LuaBitOp, 32-bit operations on numbers normalised modulo 2^32. ---

func (s *State) openBit() {
	L := s.L
	t := L.NewTable()
	binop := func(op func(a, b int32) int32) lua.LGFunction {
		return func(L *lua.LState) int {
			r := toBit(L, 1)
			for i := 2; i <= L.GetTop(); i++ {
				r = op(r, toBit(L, i))
			}
			L.Push(lua.LNumber(r))
			return 1
		}
	}
	shift := func(op func(a int32, n uint) int32) lua.LGFunction {
		return func(L *lua.LState) int {
			a := toBit(L, 1)
			n := uint(toBit(L, 2)) & 31
			L.Push(lua.LNumber(op(a, n)))
			return 1
		}
	}
	L.SetFuncs(t, map[string]lua.LGFunction{
		"tobit":   func(L *lua.LState) int { L.Push(lua.LNumber(toBit(L, 1))); return 1 },
		"bnot":    func(L *lua.LState) int { L.Push(lua.LNumber(^toBit(L, 1))); return 1 },
		"band":    binop(func(a, b int32) int32 { return a & b }),
		"bor":     binop(func(a, b int32) int32 { return a | b }),
		"bxor":    binop(func(a, b int32) int32 { return a ^ b }),
		"lshift":  shift(func(a int32, n uint) int32 { return int32(uint32(a) << n) }),
		"rshift":  shift(func(a int32, n uint) int32 { return int32(uint32(a) >> n) }),
		"arshift": shift(func(a int32, n uint) int32 { return a >> n }),
		"rol":     shift(func(a int32, n uint) int32 { return int32(uint32(a)<<n | uint32(a)>>(32-n)) }),
		"ror":     shift(func(a int32, n uint) int32 { return int32(uint32(a)>>n | uint32(a)<<(32-n)) }),
		"bswap": func(L *lua.LState) int {
			a := uint32(toBit(L, 1))
			L.Push(lua.LNumber(int32(a>>24 | a>>8&0xff00 | a<<8&0xff0000 | a<<24)))
			return 1
		},
		"tohex": func(L *lua.LState) int {
			a := uint32(toBit(L, 1))
			n := 8
			if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
				n = int(toBit(L, 2))
			}
			digits := "0123456789abcdef"
			if n < 0 {
				n = -n
				digits = "0123456789ABCDEF"
			}
			n = min(n, 8)
			buf := make([]byte, n)
			for i := n - 1; i >= 0; i-- {
				buf[i] = digits[a&15]
				a >>= 4
			}
			L.Push(lua.LString(buf))
			return 1
		},
	})
	L.G.Global.RawSetString("bit", t)
}

// toBit normalises a number the way LuaBitOp does: round to nearest, keep the low 32 bits.
func toBit(L *lua.LState, i int) int32 {
	f := float64(L.CheckNumber(i))
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	r := math.RoundToEven(f)
	r = math.Mod(r, 4294967296)
	if r < 0 {
		r += 4294967296
	}
	return int32(uint32(r))
}

// --- struct: Roberto Ierusalimschy's struct library (pack/unpack/size of binary records). ---

const structMaxIntSize = 32

func (s *State) openStruct() {
	L := s.L
	t := L.NewTable()
	L.SetFuncs(t, map[string]lua.LGFunction{
		"pack":   structPack,
		"unpack": structUnpack,
		"size":   structSize,
	})
	L.G.Global.RawSetString("struct", t)
}

type structFmt struct {
	L      *lua.LState
	f      string
	i      int
	little bool
	align  int
}

// next returns the next option and its size; 0 at the end.
func (p *structFmt) next() (byte, int) {
	for p.i < len(p.f) {
		c := p.f[p.i]
		p.i++
		switch c {
		case ' ':
			continue
		case '>':
			p.little = false
			continue
		case '<', '=':
			p.little = true
			continue
		case '!':
			p.align = p.num(8)
			continue
		case 'x', 'b', 'B':
			return c, 1
		case 'h', 'H':
			return c, 2
		case 'l', 'L', 'T':
			return c, 8
		case 'f':
			return c, 4
		case 'd':
			return c, 8
		case 's':
			return c, 0
		case 'c':
			return c, p.num(1)
		case 'i', 'I':
			n := p.num(4)
			if n > structMaxIntSize {
				p.L.RaiseError("integral size %d is larger than limit of %d", n, structMaxIntSize)
			}
			return c, n
		default:
			p.L.RaiseError("invalid format option '%c'", c)
		}
	}
	return 0, 0
}

func (p *structFmt) num(def int) int {
	if p.i >= len(p.f) || p.f[p.i] < '0' || p.f[p.i] > '9' {
		return def
	}
	n := 0
	for p.i < len(p.f) && p.f[p.i] >= '0' && p.f[p.i] <= '9' {
		n = n*10 + int(p.f[p.i]-'0')
		if n > 1<<24 {
			p.L.RaiseError("size too large")
		}
		p.i++
	}
	return n
}

func (p *structFmt) padding(pos, size int) int {
	a := min(size, p.align)
	if a <= 1 || size == 0 || (a&(a-1)) != 0 {
		return 0
	}
	return (a - pos&(a-1)) & (a - 1)
}

func structPack(L *lua.LState) int {
	p := &structFmt{L: L, f: L.CheckString(1), little: true, align: 1}
	var b []byte
	arg := 2
	for {
		opt, size := p.next()
		if opt == 0 {
			break
		}
		if opt != 'c' && opt != 's' {
			for n := p.padding(len(b), size); n > 0; n-- {
				b = append(b, 0)
			}
		}
		switch opt {
		case 'x':
			b = append(b, 0)
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			v := float64(L.CheckNumber(arg))
			arg++
			u := uint64(int64(v))
			if v >= 9223372036854775808.0 {
				u = uint64(v)
			}
			b = appendInt(b, u, size, p.little)
		case 'f':
			v := math.Float32bits(float32(L.CheckNumber(arg)))
			arg++
			b = appendInt(b, uint64(v), 4, p.little)
		case 'd':
			v := math.Float64bits(float64(L.CheckNumber(arg)))
			arg++
			b = appendInt(b, v, 8, p.little)
		case 'c', 's':
			str := L.CheckString(arg)
			arg++
			if opt == 'c' {
				if size == 0 {
					size = len(str)
				}
				if len(str) < size {
					L.ArgError(arg-1, "string too short")
				}
				b = append(b, str[:size]...)
			} else {
				b = append(b, str...)
				b = append(b, 0)
			}
		}
		if len(b) > MaxString {
			L.RaiseError("not enough memory")
		}
	}
	L.Push(lua.LString(b))
	return 1
}

func appendInt(b []byte, v uint64, size int, little bool) []byte {
	start := len(b)
	for i := 0; i < size; i++ {
		var byt byte
		if i < 8 {
			byt = byte(v >> (8 * i))
		} else if int64(v) < 0 {
			byt = 0xff
		}
		b = append(b, byt)
	}
	if !little {
		s := b[start:]
		for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
			s[i], s[j] = s[j], s[i]
		}
	}
	return b
}

func structUnpack(L *lua.LState) int {
	p := &structFmt{L: L, f: L.CheckString(1), little: true, align: 1}
	data := L.CheckString(2)
	pos := L.OptInt(3, 1) - 1
	if pos < 0 || pos > len(data) {
		L.ArgError(3, "offset must be 1 or greater")
	}
	n := 0
	lastNum := -1
	for {
		opt, size := p.next()
		if opt == 0 {
			break
		}
		if opt != 'c' && opt != 's' {
			pos += p.padding(pos, size)
		}
		if opt != 's' && (size < 0 || pos+size > len(data)) {
			L.ArgError(2, "data string too short")
		}
		switch opt {
		case 'x':
			pos++
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			var v uint64
			for i := 0; i < size; i++ {
				idx := pos + i
				if !p.little {
					idx = pos + size - 1 - i
				}
				if i < 8 {
					v |= uint64(data[idx]) << (8 * i)
				}
			}
			signed := opt == 'b' || opt == 'h' || opt == 'l' || opt == 'i'
			var f float64
			if signed && size < 8 && size > 0 && v&(1<<(8*size-1)) != 0 {
				f = float64(int64(v) - int64(1)<<(8*size))
			} else if signed {
				f = float64(int64(v))
			} else {
				f = float64(v)
			}
			L.Push(lua.LNumber(f))
			lastNum = int(f)
			n++
			pos += size
		case 'f':
			var v uint64
			for i := 0; i < 4; i++ {
				idx := pos + i
				if !p.little {
					idx = pos + 3 - i
				}
				v |= uint64(data[idx]) << (8 * i)
			}
			L.Push(lua.LNumber(math.Float32frombits(uint32(v))))
			n++
			pos += 4
		case 'd':
			var v uint64
			for i := 0; i < 8; i++ {
				idx := pos + i
				if !p.little {
					idx = pos + 7 - i
				}
				v |= uint64(data[idx]) << (8 * i)
			}
			L.Push(lua.LNumber(math.Float64frombits(v)))
			n++
			pos += 8
		case 'c':
			if size == 0 {
				if lastNum < 0 {
					L.RaiseError("format 'c0' needs a previous size")
				}
				size = lastNum
				n--
				L.Pop(1)
				if pos+size > len(data) {
					L.ArgError(2, "data string too short")
				}
			}
			L.Push(lua.LString(data[pos : pos+size]))
			n++
			pos += size
		case 's':
			end := strings.IndexByte(data[pos:], 0)
			if end < 0 {
				L.RaiseError("unfinished string in data")
			}
			L.Push(lua.LString(data[pos : pos+end]))
			n++
			pos += end + 1
		}
	}
	L.Push(lua.LNumber(pos + 1))
	return n + 1
}

func structSize(L *lua.LState) int {
	p := &structFmt{L: L, f: L.CheckString(1), little: true, align: 1}
	pos := 0
	for {
		opt, size := p.next()
		if opt == 0 {
			break
		}
		if opt == 's' || (opt == 'c' && size == 0) {
			L.ArgError(1, "options 'c0' - 's' have undefined sizes")
		}
		pos += p.padding(pos, size) + size
	}
	L.Push(lua.LNumber(pos))
	return 1
}

var _ = strconv.Itoa
