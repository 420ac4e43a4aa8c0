package luaapi

import (
	"math"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// C Lua's run-time error texts. gopher-lua words its VM errors its own way ("cannot
// perform add operation between nil and number"); Redis users see C Lua 5.1's ("attempt
// to perform arithmetic on a nil value"). Most of them are produced here by metamethods:
// gopher-lua consults the metatable of a value's type before it gives up on an operation,
// so nil, booleans, numbers and functions get one whose metamethods raise C Lua's message
// (and compute arithmetic on numeric strings, which C Lua converts). What still reaches
// the error handler in gopher-lua's words is reworded by cMessage. The variable C Lua
// names ("local 'x'", "field 'y'") is found from the stack by the handlers (frames.go).

// installTypeMetatables gives the basic types their error-raising metatables and adds the
// missing operations to the string metatable, whose __index (the string library) stays.
func (s *State) installTypeMetatables() {
	L := s.L
	mt := L.NewTable()
	raise1 := func(what string) *lua.LFunction {
		return L.NewFunction(func(L *lua.LState) int {
			s.badOperand = 1
			L.RaiseError("attempt to %s a %s value", what, L.Get(1).Type().String())
			return 0
		})
	}
	mt.RawSetString("__index", raise1("index"))
	mt.RawSetString("__newindex", raise1("index"))
	mt.RawSetString("__call", raise1("call"))
	mt.RawSetString("__len", raise1("get length of"))
	mt.RawSetString("__unm", L.NewFunction(func(L *lua.LState) int {
		// reached for strings before gopher-lua tries to convert them
		if f, ok := toNumber(L.Get(1)); ok {
			L.Push(lua.LNumber(-f))
			return 1
		}
		s.badOperand = 1
		L.RaiseError("attempt to perform arithmetic on a %s value", L.Get(1).Type().String())
		return 0
	}))
	// no __concat: scripts' .. goes through concat (concat.go), which words that error
	for _, op := range []string{"add", "sub", "mul", "div", "mod", "pow"} {
		mt.RawSetString("__"+op, L.NewFunction(s.arith(op)))
	}
	for _, v := range []lua.LValue{lua.LNil, lua.LFalse, lua.LNumber(0), L.NewFunction(func(*lua.LState) int { return 0 })} {
		L.SetMetatable(v, mt)
	}
	// gopher-lua's string library is its own metatable (string.__index is string); in C Lua
	// the string metatable is a table of its own and the library holds only functions
	if str, ok := L.G.Global.RawGetString("string").(*lua.LTable); ok {
		smt := L.CreateTable(0, 9)
		smt.RawSetString("__index", str)
		for _, ev := range []string{"__call", "__unm", "__add", "__sub", "__mul", "__div", "__mod", "__pow"} {
			smt.RawSetString(ev, mt.RawGetString(ev))
		}
		var meta []string
		str.ForEach(func(k, _ lua.LValue) {
			if ks, ok := k.(lua.LString); ok && strings.HasPrefix(string(ks), "__") {
				meta = append(meta, string(ks))
			}
		})
		for _, k := range meta {
			str.RawSetString(k, lua.LNil)
		}
		L.SetMetatable(lua.LString(""), smt)
	}
	L.G.Global.RawSetString("getmetatable", L.NewFunction(s.getmetatable))
	L.G.Global.RawSetString("select", L.NewFunction(luaSelect))
	if m, ok := L.G.Global.RawGetString("math").(*lua.LTable); ok {
		m.RawSetString("huge", lua.LNumber(math.Inf(1))) // gopher-lua has MaxFloat64
	}
}

// luaSelect is Lua 5.1's select, with its argument errors.
func luaSelect(L *lua.LState) int {
	n := L.GetTop()
	if s, ok := L.Get(1).(lua.LString); ok && strings.HasPrefix(string(s), "#") {
		L.Push(lua.LNumber(n - 1))
		return 1
	}
	i := checkInt(L, 1, "select")
	if i < 0 {
		i = n + i
	} else if i > n {
		i = n
	}
	if i < 1 {
		argError(L, 1, "select", "index out of range")
	}
	return n - i
}

// arith is an arithmetic metamethod: gopher-lua calls it before it converts numeric
// strings, so it does the conversion itself, as C Lua would, or raises C Lua's error.
func (s *State) arith(op string) lua.LGFunction {
	return func(L *lua.LState) int {
		a, b := L.Get(1), L.Get(2)
		x, okA := toNumber(a)
		y, okB := toNumber(b)
		if !okA || !okB {
			bad := a
			s.badOperand = 1
			if okA {
				bad = b
				s.badOperand = 2
			}
			L.RaiseError("attempt to perform arithmetic on a %s value", bad.Type().String())
		}
		var r float64
		switch op {
		case "add":
			r = x + y
		case "sub":
			r = x - y
		case "mul":
			r = x * y
		case "div":
			r = x / y
		case "mod":
			r = x - math.Floor(x/y)*y
		case "pow":
			r = math.Pow(x, y)
		}
		L.Push(lua.LNumber(r))
		return 1
	}
}

// toNumber is Lua 5.1's conversion of an operand to a number: numbers, and strings that
// hold one (decimal or hexadecimal, surrounding blanks allowed).
func toNumber(v lua.LValue) (float64, bool) {
	switch x := v.(type) {
	case lua.LNumber:
		return float64(x), true
	case lua.LString:
		return str2number(string(x))
	}
	return 0, false
}

// str2number is C Lua's luaO_str2d on glibc: strtod (decimal, hexadecimal with a binary
// exponent, inf/nan) after leading blanks; only blanks may follow the number.
func str2number(s string) (float64, bool) {
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	f, n := strtod(t)
	if n == 0 || strings.TrimRight(t[n:], " \t\n\v\f\r") != "" {
		return 0, false
	}
	return f, true
}

// getmetatable is Lua's, except that the metatables sard gives nil, booleans, numbers and
// functions stay hidden, as those types have none in C Lua, and that read-only tables and
// strings show the metatables Redis gives them, not the proxies' (readonly.go).
func (s *State) getmetatable(L *lua.LState) int {
	v := L.CheckAny(1)
	switch x := v.(type) {
	case *lua.LTable:
		switch {
		case x == s.proxy:
			L.Push(s.globalMeta)
		case s.readOnly(x):
			L.Push(lua.LNil) // the libraries have none
		default:
			mt := L.GetMetatable(v)
			if m, ok := mt.(*lua.LTable); ok && s.proxyOf[m] != nil {
				mt = s.proxyOf[m] // set from a read-only table: show that one again
			}
			L.Push(mt)
		}
	case lua.LString:
		L.Push(s.stringMeta)
	case *lua.LUserData:
		L.Push(L.GetMetatable(v))
	default:
		L.Push(lua.LNil)
	}
	return 1
}

// cMessage rewords the gopher-lua run-time errors no metamethod intercepts (operations on
// tables and userdata without the metamethod) and the argument errors of library
// functions into C Lua's text. msg may start with the "source:line: " position.
func cMessage(msg string) string {
	pos, body := splitPosition(msg)
	switch {
	case strings.HasPrefix(body, "cannot perform "):
		// "cannot perform add operation between table and number"
		var op, a, b string
		rest := body[len("cannot perform "):]
		op, rest, _ = strings.Cut(rest, " operation between ")
		a, b, _ = strings.Cut(rest, " and ")
		if op == "concat" {
			bad := a
			if a == "string" || a == "number" {
				bad = b
			}
			return pos + "attempt to concatenate a " + bad + " value"
		}
		bad := a
		if a == "number" {
			bad = b
		}
		return pos + "attempt to perform arithmetic on a " + bad + " value"
	case strings.HasPrefix(body, "attempt to index a non-table object("):
		typ, _, _ := strings.Cut(body[len("attempt to index a non-table object("):], ")")
		return pos + "attempt to index a " + typ + " value"
	case strings.HasPrefix(body, "attempt to compare "):
		a, b, ok := strings.Cut(body[len("attempt to compare "):], " with ")
		if ok && a == b {
			return pos + "attempt to compare two " + a + " values"
		}
	case body == "for statement init must be a number":
		return pos + "'for' initial value must be a number"
	case body == "for statement limit must be a number":
		return pos + "'for' limit must be a number"
	case body == "for statement step must be a number":
		return pos + "'for' step must be a number"
	case body == "attempt to call a non-function object":
		// every other type has a __call that says what it is
		return pos + "attempt to call a table value"
	case body == "can not yield from outside of a coroutine":
		return "attempt to yield across metamethod/C-call boundary"
	case body == "__unm undefined":
		return pos + "attempt to perform arithmetic on a table value"
	case body == "__len undefined":
		return pos + "attempt to get length of a userdata value"
	case strings.HasPrefix(body, "invalid value (") && strings.HasSuffix(body, " in table for concat"):
		return pos + strings.TrimSuffix(body, "concat") + "'concat'"
	case strings.HasPrefix(body, "bad argument #"):
		// C Lua quotes the function name: bad argument #1 to 'rep' (...)
		num, rest, ok := strings.Cut(body[len("bad argument #"):], " to ")
		if !ok {
			break
		}
		name, detail, ok := strings.Cut(rest, " (")
		if !ok || strings.HasPrefix(name, "'") {
			break
		}
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			name = name[i+1:]
		}
		return pos + "bad argument #" + num + " to '" + name + "' (" + detail
	}
	return msg
}

// splitPosition separates a leading "source:line: " from an error message.
func splitPosition(msg string) (pos, body string) {
	i := strings.Index(msg, ": ")
	if i <= 0 {
		return "", msg
	}
	head := msg[:i]
	j := strings.LastIndexByte(head, ':')
	if j <= 0 || j == len(head)-1 {
		return "", msg
	}
	for _, c := range head[j+1:] {
		if c < '0' || c > '9' {
			return "", msg
		}
	}
	return msg[:i+2], msg[i+2:]
}

// tonumber is Lua 5.1's: base 10 converts like arithmetic does, other bases (2..36) read
// an unsigned integer in that base.
func tonumber(L *lua.LState) int {
	base := 10
	if L.GetTop() >= 2 {
		base = checkInt(L, 2, "tonumber")
	}
	if base == 10 {
		checkAny(L, 1, "tonumber")
		if f, ok := toNumber(L.Get(1)); ok {
			L.Push(lua.LNumber(f))
			return 1
		}
		L.Push(lua.LNil)
		return 1
	}
	s := checkString(L, 1, "tonumber")
	if base < 2 || base > 36 {
		argError(L, 2, "tonumber", "base out of range")
	}
	// strtoul: blanks, an optional sign, digits of the base; only blanks may follow
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if t != "" && (t[0] == '-' || t[0] == '+') {
		neg = t[0] == '-'
		t = t[1:]
	}
	end := 0
	var n uint64
	for end < len(t) {
		d := digitValue(t[end])
		if d >= base {
			break
		}
		n = n*uint64(base) + uint64(d)
		end++
	}
	if end == 0 || strings.TrimLeft(t[end:], " \t\n\v\f\r") != "" {
		L.Push(lua.LNil)
		return 1
	}
	if neg {
		n = -n
	}
	L.Push(lua.LNumber(float64(n)))
	return 1
}

func digitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

// The argument checks of C Lua's auxiliary library, with its messages.

func argError(L *lua.LState, n int, fname, msg string) {
	L.RaiseError("bad argument #%d to '%s' (%s)", n, fname, msg)
}

func typeName(L *lua.LState, n int) string {
	if n > L.GetTop() {
		return "no value"
	}
	return L.Get(n).Type().String()
}

func typeError(L *lua.LState, n int, fname, want string) {
	argError(L, n, fname, want+" expected, got "+typeName(L, n))
}

func checkAny(L *lua.LState, n int, fname string) {
	if n > L.GetTop() {
		argError(L, n, fname, "value expected")
	}
}

func checkNumber(L *lua.LState, n int, fname string) float64 {
	f, ok := toNumber(L.Get(n))
	if !ok || n > L.GetTop() {
		typeError(L, n, fname, "number")
	}
	return f
}

// checkInt is luaL_checkint: the number truncated toward zero.
func checkInt(L *lua.LState, n int, fname string) int {
	f := checkNumber(L, n, fname)
	if math.IsNaN(f) || math.IsInf(f, 0) || f >= 1<<62 || f <= -(1<<62) {
		return math.MinInt32 // what a C cast of an out-of-range double gives on x86
	}
	return int(f)
}

// checkString is luaL_checklstring: strings, and numbers converted with "%.14g".
func checkString(L *lua.LState, n int, fname string) string {
	switch x := L.Get(n).(type) {
	case lua.LString:
		return string(x)
	case lua.LNumber:
		if n <= L.GetTop() {
			return FormatNumber(float64(x))
		}
	}
	typeError(L, n, fname, "string")
	return ""
}
