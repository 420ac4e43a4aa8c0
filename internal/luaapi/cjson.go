package luaapi

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// cjson: the JSON library Redis bundles (lua-cjson), with its defaults: numbers with 14
// significant digits, empty tables as objects, sparse arrays refused past a ratio of 2.

const (
	cjsonMaxDepth    = 1000
	cjsonSparseRatio = 2
	cjsonSparseSafe  = 10
)

func (s *State) openCjson() {
	L := s.L
	s.null = L.NewUserData()
	t := L.NewTable()
	L.SetFuncs(t, map[string]lua.LGFunction{
		"encode": s.cjsonEncode,
		"decode": s.cjsonDecode,
		"encode_sparse_array": func(L *lua.LState) int {
			L.Push(lua.LFalse)
			L.Push(lua.LNumber(cjsonSparseRatio))
			L.Push(lua.LNumber(cjsonSparseSafe))
			return 3
		},
		"encode_max_depth":        func(L *lua.LState) int { L.Push(lua.LNumber(cjsonMaxDepth)); return 1 },
		"decode_max_depth":        func(L *lua.LState) int { L.Push(lua.LNumber(cjsonMaxDepth)); return 1 },
		"encode_number_precision": func(L *lua.LState) int { L.Push(lua.LNumber(14)); return 1 },
		"encode_keep_buffer":      func(L *lua.LState) int { L.Push(lua.LTrue); return 1 },
		"encode_invalid_numbers":  func(L *lua.LState) int { L.Push(lua.LFalse); return 1 },
		"decode_invalid_numbers":  func(L *lua.LState) int { L.Push(lua.LTrue); return 1 },
	})
	t.RawSetString("null", s.null)
	t.RawSetString("_NAME", lua.LString("cjson"))
	t.RawSetString("_VERSION", lua.LString("2.1.0"))
	L.G.Global.RawSetString("cjson", t)
}

func (s *State) cjsonEncode(L *lua.LState) int {
	if L.GetTop() != 1 {
		L.ArgError(1, "expected 1 argument")
	}
	var b strings.Builder
	s.jsonValue(L, &b, L.Get(1), 0)
	L.Push(lua.LString(b.String()))
	return 1
}

func (s *State) jsonValue(L *lua.LState, b *strings.Builder, v lua.LValue, depth int) {
	switch x := v.(type) {
	case lua.LString:
		jsonString(b, string(x))
	case lua.LNumber:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			L.RaiseError("Cannot serialise number: must not be NaN or Inf")
		}
		b.WriteString(FormatNumber(f))
	case lua.LBool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case *lua.LNilType:
		b.WriteString("null")
	case *lua.LUserData:
		if x == s.null {
			b.WriteString("null")
			return
		}
		L.RaiseError("Cannot serialise userdata: type not supported")
	case *lua.LTable:
		x = s.backing(x)
		depth++
		if depth > cjsonMaxDepth {
			L.RaiseError("Cannot serialise, excessive nesting (%d)", depth)
		}
		if n := jsonArrayLen(L, x); n > 0 {
			b.WriteByte('[')
			for i := 1; i <= n; i++ {
				if i > 1 {
					b.WriteByte(',')
				}
				s.jsonValue(L, b, x.RawGetInt(i), depth)
			}
			b.WriteByte(']')
			return
		}
		b.WriteByte('{')
		first := true
		x.ForEach(func(k, val lua.LValue) {
			if !first {
				b.WriteByte(',')
			}
			first = false
			switch kk := k.(type) {
			case lua.LString:
				jsonString(b, string(kk))
			case lua.LNumber:
				b.WriteByte('"')
				b.WriteString(FormatNumber(float64(kk)))
				b.WriteByte('"')
			default:
				L.RaiseError("Cannot serialise table: table key must be a number or string")
			}
			b.WriteByte(':')
			s.jsonValue(L, b, val, depth)
		})
		b.WriteByte('}')
	default:
		L.RaiseError("Cannot serialise %s: type not supported", v.Type().String())
	}
}

// jsonArrayLen is lua-cjson's array detection: the largest key if every key is a positive
// integer, 0 for an object (or an empty table), an error for an excessively sparse array.
func jsonArrayLen(L *lua.LState, t *lua.LTable) int {
	maxKey, items := 0, 0
	isArray := true
	t.ForEach(func(k, _ lua.LValue) {
		if !isArray {
			return
		}
		n, ok := k.(lua.LNumber)
		if !ok || float64(n) < 1 || float64(n) != math.Floor(float64(n)) {
			isArray = false
			return
		}
		if int(n) > maxKey {
			maxKey = int(n)
		}
		items++
	})
	if !isArray {
		return 0
	}
	if maxKey > items*cjsonSparseRatio && maxKey > cjsonSparseSafe {
		L.RaiseError("Cannot serialise table: excessively sparse array")
	}
	return maxKey
}

func jsonString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '/':
			b.WriteString(`\/`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 || c == 0x7f {
				fmt.Fprintf(b, `\u%04x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}

// jsonDecoder follows lua-cjson's token names in its error messages.
type jsonDecoder struct {
	s     *State
	L     *lua.LState
	data  string
	pos   int
	depth int
}

type jsonTok struct {
	kind  string
	start int
	val   lua.LValue
}

func (s *State) cjsonDecode(L *lua.LState) int {
	if L.GetTop() != 1 {
		L.ArgError(1, "expected 1 argument")
	}
	str := L.CheckString(1)
	d := &jsonDecoder{s: s, L: L, data: str}
	tok := d.next()
	v := d.value(tok)
	end := d.next()
	if end.kind != "T_END" {
		d.fail("the end", end)
	}
	L.Push(v)
	return 1
}

func (d *jsonDecoder) fail(expected string, t jsonTok) {
	found := t.kind
	if t.kind == "T_ERROR" {
		if msg, ok := t.val.(lua.LString); ok {
			found = "invalid token"
			_ = msg
		}
	}
	d.L.RaiseError("Expected %s but found %s at character %d", expected, found, t.start+1)
}

func (d *jsonDecoder) next() jsonTok {
	for d.pos < len(d.data) && strings.IndexByte(" \t\n\r", d.data[d.pos]) >= 0 {
		d.pos++
	}
	start := d.pos
	if d.pos >= len(d.data) {
		return jsonTok{kind: "T_END", start: start}
	}
	c := d.data[d.pos]
	switch c {
	case '{':
		d.pos++
		return jsonTok{kind: "T_OBJ_BEGIN", start: start}
	case '}':
		d.pos++
		return jsonTok{kind: "T_OBJ_END", start: start}
	case '[':
		d.pos++
		return jsonTok{kind: "T_ARR_BEGIN", start: start}
	case ']':
		d.pos++
		return jsonTok{kind: "T_ARR_END", start: start}
	case ':':
		d.pos++
		return jsonTok{kind: "T_COLON", start: start}
	case ',':
		d.pos++
		return jsonTok{kind: "T_COMMA", start: start}
	case '"':
		return d.str(start)
	}
	for _, lit := range []struct {
		word string
		v    lua.LValue
		kind string
	}{{"true", lua.LTrue, "T_BOOLEAN"}, {"false", lua.LFalse, "T_BOOLEAN"}, {"null", d.s.null, "T_NULL"}} {
		if strings.HasPrefix(d.data[d.pos:], lit.word) {
			d.pos += len(lit.word)
			return jsonTok{kind: lit.kind, start: start, val: lit.v}
		}
	}
	if c == '-' || (c >= '0' && c <= '9') || c == '.' || c == '+' || c == 'i' || c == 'I' || c == 'n' || c == 'N' {
		end := d.pos
		for end < len(d.data) && strings.IndexByte("0123456789+-.eExXabcdfABCDFinftyINFTYaN", d.data[end]) >= 0 {
			end++
		}
		f, err := strconv.ParseFloat(d.data[d.pos:end], 64)
		if err != nil && !strings.Contains(err.Error(), "range") {
			d.pos = end
			return jsonTok{kind: "T_ERROR", start: start, val: lua.LString("invalid number")}
		}
		d.pos = end
		return jsonTok{kind: "T_NUMBER", start: start, val: lua.LNumber(f)}
	}
	d.pos++
	return jsonTok{kind: "T_ERROR", start: start, val: lua.LString("invalid token")}
}

func (d *jsonDecoder) str(start int) jsonTok {
	var b strings.Builder
	i := d.pos + 1
	for i < len(d.data) {
		c := d.data[i]
		if c == '"' {
			d.pos = i + 1
			return jsonTok{kind: "T_STRING", start: start, val: lua.LString(b.String())}
		}
		if c != '\\' {
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(d.data) {
			break
		}
		e := d.data[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, n := hex4(d.data[i:])
			if n < 0 {
				d.pos = i
				return jsonTok{kind: "T_ERROR", start: start, val: lua.LString("invalid unicode escape code")}
			}
			i += n
			if r >= 0xd800 && r < 0xdc00 && strings.HasPrefix(d.data[i:], `\u`) {
				if r2, n2 := hex4(d.data[i+2:]); n2 > 0 && r2 >= 0xdc00 && r2 < 0xe000 {
					r = 0x10000 + (r-0xd800)<<10 + (r2 - 0xdc00)
					i += 2 + n2
				}
			}
			var tmp [4]byte
			b.Write(tmp[:utf8.EncodeRune(tmp[:], rune(r))])
		default:
			d.pos = i
			return jsonTok{kind: "T_ERROR", start: start, val: lua.LString("invalid escape code")}
		}
	}
	d.pos = len(d.data)
	return jsonTok{kind: "T_ERROR", start: start, val: lua.LString("unexpected end of string")}
}

func hex4(s string) (int, int) {
	if len(s) < 4 {
		return 0, -1
	}
	v, err := strconv.ParseUint(s[:4], 16, 32)
	if err != nil {
		return 0, -1
	}
	return int(v), 4
}

func (d *jsonDecoder) value(t jsonTok) lua.LValue {
	switch t.kind {
	case "T_STRING", "T_NUMBER", "T_BOOLEAN", "T_NULL":
		return t.val
	case "T_OBJ_BEGIN":
		d.enter(t)
		tbl := d.L.NewTable()
		k := d.next()
		if k.kind == "T_OBJ_END" {
			d.depth--
			return tbl
		}
		for {
			if k.kind != "T_STRING" {
				d.fail("object key string", k)
			}
			if c := d.next(); c.kind != "T_COLON" {
				d.fail("colon", c)
			}
			tbl.RawSet(k.val, d.value(d.next()))
			sep := d.next()
			if sep.kind == "T_OBJ_END" {
				break
			}
			if sep.kind != "T_COMMA" {
				d.fail("comma or object end", sep)
			}
			k = d.next()
		}
		d.depth--
		return tbl
	case "T_ARR_BEGIN":
		d.enter(t)
		tbl := d.L.NewTable()
		v := d.next()
		if v.kind == "T_ARR_END" {
			d.depth--
			return tbl
		}
		for i := 1; ; i++ {
			tbl.RawSetInt(i, d.value(v))
			sep := d.next()
			if sep.kind == "T_ARR_END" {
				break
			}
			if sep.kind != "T_COMMA" {
				d.fail("comma or array end", sep)
			}
			v = d.next()
		}
		d.depth--
		return tbl
	}
	d.fail("value", t)
	return lua.LNil
}

func (d *jsonDecoder) enter(t jsonTok) {
	d.depth++
	if d.depth > cjsonMaxDepth {
		d.L.RaiseError("Found too many nested data structures (%d) at character %d", d.depth, t.start+1)
	}
}
