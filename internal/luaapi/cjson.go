package luaapi

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// cjson: the JSON library Redis bundles (lua-cjson 2.1.0). Its settings live in the
// library table's functions, not in the script: as in Redis, a setting a script changes
// stays for every later EVAL until SCRIPT FLUSH makes a new interpreter. cjson.new()
// returns a separate, writable copy of the library with its own settings.

type cjsonConfig struct {
	encodeMaxDepth, decodeMaxDepth int
	sparseConvert                  bool
	sparseRatio, sparseSafe        int
	precision                      int
	keepBuffer                     bool
	encodeInvalid                  int // 0 off, 1 on, 2 null
	decodeInvalid                  bool
}

func defaultCjsonConfig() *cjsonConfig {
	return &cjsonConfig{encodeMaxDepth: 1000, decodeMaxDepth: 1000, sparseRatio: 2, sparseSafe: 10,
		precision: 14, keepBuffer: true, decodeInvalid: true}
}

func (s *State) openCjson() {
	s.null = s.L.NewUserData()
	s.L.G.Global.RawSetString("cjson", s.newCjson(defaultCjsonConfig()))
}

func (s *State) newCjson(cfg *cjsonConfig) *lua.LTable {
	L := s.L
	t := L.NewTable()
	L.SetFuncs(t, map[string]lua.LGFunction{
		"encode": func(L *lua.LState) int { return s.cjsonEncode(L, cfg) },
		"decode": func(L *lua.LState) int { return s.cjsonDecode(L, cfg) },
		"new": func(L *lua.LState) int {
			L.Push(s.newCjson(defaultCjsonConfig()))
			return 1
		},
		"encode_sparse_array": func(L *lua.LState) int {
			const name = "encode_sparse_array"
			cjsonArgs(L, 3, name)
			cjsonBoolOption(L, 1, name, &cfg.sparseConvert)
			cjsonIntOption(L, 2, name, &cfg.sparseRatio, 0)
			cjsonIntOption(L, 3, name, &cfg.sparseSafe, 0)
			return 3
		},
		"encode_max_depth": func(L *lua.LState) int {
			cjsonArgs(L, 1, "encode_max_depth")
			return cjsonIntOption(L, 1, "encode_max_depth", &cfg.encodeMaxDepth, 1)
		},
		"decode_max_depth": func(L *lua.LState) int {
			cjsonArgs(L, 1, "decode_max_depth")
			return cjsonIntOption(L, 1, "decode_max_depth", &cfg.decodeMaxDepth, 1)
		},
		"encode_number_precision": func(L *lua.LState) int {
			const name = "encode_number_precision"
			cjsonArgs(L, 1, name)
			if L.Get(1) != lua.LNil {
				v := int(int32(checkInt(L, 1, name)))
				if v < 1 || v > 14 {
					argError(L, 1, name, "expected integer between 1 and 14")
				}
				cfg.precision = v
			}
			L.Push(lua.LNumber(cfg.precision))
			return 1
		},
		"encode_keep_buffer": func(L *lua.LState) int {
			cjsonArgs(L, 1, "encode_keep_buffer")
			return cjsonBoolOption(L, 1, "encode_keep_buffer", &cfg.keepBuffer)
		},
		"encode_invalid_numbers": func(L *lua.LState) int {
			const name = "encode_invalid_numbers"
			cjsonArgs(L, 1, name)
			switch v := L.Get(1).(type) {
			case *lua.LNilType:
			case lua.LBool:
				cfg.encodeInvalid = 0
				if v {
					cfg.encodeInvalid = 1
				}
			default:
				cfg.encodeInvalid = cjsonOption(L, 1, name, "off", "on", "null")
			}
			if cfg.encodeInvalid == 2 {
				L.Push(lua.LString("null"))
			} else {
				L.Push(lua.LBool(cfg.encodeInvalid == 1))
			}
			return 1
		},
		"decode_invalid_numbers": func(L *lua.LState) int {
			cjsonArgs(L, 1, "decode_invalid_numbers")
			return cjsonBoolOption(L, 1, "decode_invalid_numbers", &cfg.decodeInvalid)
		},
	})
	t.RawSetString("null", s.null)
	t.RawSetString("_NAME", lua.LString("cjson"))
	t.RawSetString("_VERSION", lua.LString("2.1.0"))
	return t
}

// cjsonArgs is lua-cjson's check that a setting function got at most n arguments; missing
// ones count as nil.
func cjsonArgs(L *lua.LState, n int, name string) {
	if L.GetTop() > n {
		argError(L, n+1, name, "found too many arguments")
	}
	L.SetTop(n)
}

// cjsonIntOption sets *v from argument i unless it is nil and pushes the setting. The
// range error names argument #1 whichever argument it is, and the value is cut to a C int
// first, as lua-cjson does.
func cjsonIntOption(L *lua.LState, i int, name string, v *int, min int) int {
	if L.Get(i) != lua.LNil {
		n := int(int32(checkInt(L, i, name)))
		if n < min {
			argError(L, 1, name, fmt.Sprintf("expected integer between %d and 2147483647", min))
		}
		*v = n
	}
	L.Push(lua.LNumber(*v))
	return 1
}

// cjsonBoolOption takes true/false or "on"/"off".
func cjsonBoolOption(L *lua.LState, i int, name string, v *bool) int {
	switch x := L.Get(i).(type) {
	case *lua.LNilType:
	case lua.LBool:
		*v = bool(x)
	default:
		*v = cjsonOption(L, i, name, "off", "on") == 1
	}
	L.Push(lua.LBool(*v))
	return 1
}

// cjsonOption is luaL_checkoption: the index of the string among opts.
func cjsonOption(L *lua.LState, i int, name string, opts ...string) int {
	str := checkString(L, i, name)
	for k, o := range opts {
		if o == str {
			return k
		}
	}
	argError(L, i, name, "invalid option '"+str+"'")
	return 0
}

func (s *State) cjsonEncode(L *lua.LState, cfg *cjsonConfig) int {
	if L.GetTop() != 1 {
		L.ArgError(1, "expected 1 argument")
	}
	var b strings.Builder
	s.jsonValue(L, cfg, &b, L.Get(1), 0)
	L.Push(lua.LString(b.String()))
	return 1
}

func jsonNumber(L *lua.LState, cfg *cjsonConfig, b *strings.Builder, f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		switch cfg.encodeInvalid {
		case 0:
			L.RaiseError("Cannot serialise number: must not be NaN or Inf")
		case 2:
			b.WriteString("null")
			return
		}
		if math.IsNaN(f) {
			b.WriteString("nan") // lua-cjson never writes "-nan"
			return
		}
	}
	b.WriteString(formatG(f, cfg.precision))
}

func (s *State) jsonValue(L *lua.LState, cfg *cjsonConfig, b *strings.Builder, v lua.LValue, depth int) {
	switch x := v.(type) {
	case lua.LString:
		jsonString(b, string(x))
	case lua.LNumber:
		jsonNumber(L, cfg, b, float64(x))
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
		if depth > cfg.encodeMaxDepth {
			L.RaiseError("Cannot serialise, excessive nesting (%d)", depth)
		}
		if n := jsonArrayLen(L, cfg, x); n > 0 {
			b.WriteByte('[')
			for i := 1; i <= n; i++ {
				if i > 1 {
					b.WriteByte(',')
				}
				s.jsonValue(L, cfg, b, x.RawGetInt(i), depth)
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
				jsonNumber(L, cfg, b, float64(kk))
				b.WriteByte('"')
			default:
				L.RaiseError("Cannot serialise table: table key must be a number or string")
			}
			b.WriteByte(':')
			s.jsonValue(L, cfg, b, val, depth)
		})
		b.WriteByte('}')
	default:
		L.RaiseError("Cannot serialise %s: type not supported", v.Type().String())
	}
}

// jsonArrayLen is lua-cjson's array detection: the largest key if every key is a positive
// integer, 0 for an object (or an empty table). An excessively sparse array is an error, or
// an object when encode_sparse_array converts; a ratio of 0 lets any array through.
func jsonArrayLen(L *lua.LState, cfg *cjsonConfig, t *lua.LTable) int {
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
	if cfg.sparseRatio > 0 && maxKey > items*cfg.sparseRatio && maxKey > cfg.sparseSafe {
		if cfg.sparseConvert {
			return 0
		}
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
	cfg   *cjsonConfig
}

type jsonTok struct {
	kind  string
	start int
	val   lua.LValue
}

func (s *State) cjsonDecode(L *lua.LState, cfg *cjsonConfig) int {
	if L.GetTop() != 1 {
		L.ArgError(1, "expected 1 argument")
	}
	str := L.CheckString(1)
	d := &jsonDecoder{s: s, L: L, data: str, cfg: cfg}
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
	if msg, ok := t.val.(lua.LString); ok && t.kind == "T_ERROR" {
		found = string(msg)
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
	// lua-cjson's order: a sign or digit is a number (refused early when it is no JSON
	// number and decode_invalid_numbers is off), then the literals, then inf, nan and '+'
	// as numbers only when decode_invalid_numbers is on
	if c == '-' || (c >= '0' && c <= '9') {
		if !d.cfg.decodeInvalid && jsonInvalidNumber(d.data[d.pos:]) {
			return jsonTok{kind: "T_ERROR", start: start, val: lua.LString("invalid number")}
		}
		return d.number(start)
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
	if d.cfg.decodeInvalid && jsonInvalidNumber(d.data[d.pos:]) {
		return d.number(start)
	}
	return jsonTok{kind: "T_ERROR", start: start, val: lua.LString("invalid token")}
}

// number reads the longest prefix C's strtod takes.
func (d *jsonDecoder) number(start int) jsonTok {
	f, n := strtod(d.data[d.pos:])
	if n == 0 {
		return jsonTok{kind: "T_ERROR", start: start, val: lua.LString("invalid number")}
	}
	d.pos += n
	return jsonTok{kind: "T_NUMBER", start: start, val: lua.LNumber(f)}
}

// jsonInvalidNumber is lua-cjson's test for what JSON does not allow as a number: a leading
// '+', hexadecimal, leading zeros, inf and nan.
func jsonInvalidNumber(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '+' {
		return true
	}
	if s[0] == '-' {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	if s[0] == '0' {
		return len(s) > 1 && (s[1]|0x20 == 'x' || (s[1] >= '0' && s[1] <= '9'))
	}
	if s[0] <= '9' {
		return false
	}
	return len(s) >= 3 && (strings.EqualFold(s[:3], "inf") || strings.EqualFold(s[:3], "nan"))
}

// strtod is C's strtod in the C locale: the value of the longest number at the start of s
// and its length, 0 when there is none.
func strtod(s string) (float64, int) {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	sign := func(f float64) float64 {
		if neg {
			return -f
		}
		return f
	}
	rest := s[i:]
	switch {
	case len(rest) >= 8 && strings.EqualFold(rest[:8], "infinity"):
		return sign(math.Inf(1)), i + 8
	case len(rest) >= 3 && strings.EqualFold(rest[:3], "inf"):
		return sign(math.Inf(1)), i + 3
	case len(rest) >= 3 && strings.EqualFold(rest[:3], "nan"):
		return sign(math.NaN()), i + 3
	}
	digits := func(j int, hex bool) int {
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || hex && (s[j]|0x20 >= 'a' && s[j]|0x20 <= 'f')) {
			j++
		}
		return j
	}
	mantissa := func(j int, hex bool) (int, bool) {
		k := digits(j, hex)
		seen := k > j
		if k < len(s) && s[k] == '.' {
			if k2 := digits(k+1, hex); seen || k2 > k+1 {
				return k2, true
			}
		}
		return k, seen
	}
	if len(rest) >= 2 && rest[0] == '0' && rest[1]|0x20 == 'x' {
		if end, ok := mantissa(i+2, true); ok {
			expEnd := end
			if end < len(s) && s[end]|0x20 == 'p' {
				j := end + 1
				if j < len(s) && (s[j] == '+' || s[j] == '-') {
					j++
				}
				if k := digits(j, false); k > j {
					expEnd = k
				}
			}
			lit := s[:expEnd]
			if expEnd == end {
				lit += "p0"
			}
			f, _ := strconv.ParseFloat(lit, 64)
			return f, expEnd
		}
		// only the "0" counts
	}
	end, ok := mantissa(i, false)
	if !ok {
		return 0, 0
	}
	if end < len(s) && s[end]|0x20 == 'e' {
		j := end + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if k := digits(j, false); k > j {
			end = k
		}
	}
	f, _ := strconv.ParseFloat(s[:end], 64) // out of range gives ±Inf or 0, as strtod
	return f, end
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
		// lua-cjson reports escape errors at the backslash, an open string at its end
		if i+1 >= len(d.data) {
			d.pos = len(d.data)
			return jsonTok{kind: "T_ERROR", start: i, val: lua.LString("invalid escape code")}
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
				return jsonTok{kind: "T_ERROR", start: i - 2, val: lua.LString("invalid unicode escape code")}
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
			return jsonTok{kind: "T_ERROR", start: i - 2, val: lua.LString("invalid escape code")}
		}
	}
	d.pos = len(d.data)
	return jsonTok{kind: "T_ERROR", start: len(d.data), val: lua.LString("unexpected end of string")}
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
	if d.depth > d.cfg.decodeMaxDepth {
		d.L.RaiseError("Found too many nested data structures (%d) at character %d", d.depth, t.start+1)
	}
}
