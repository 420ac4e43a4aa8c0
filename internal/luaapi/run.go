package luaapi

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/sard-kv/sard/internal/resp"
)

// Compile compiles a script body as a function. The error is Lua's compile message
// ("user_script:1: ..."), worded as C Lua 5.1 words it (syntax.go).
func (s *State) Compile(body string) (*lua.LFunction, error) {
	src, _, err := checkSyntax(body, s.Source, 0)
	if err != nil {
		return nil, err
	}
	return s.compileChecked(src)
}

// compileChecked compiles a source the syntax check accepted (and rewrote).
func (s *State) compileChecked(src string) (*lua.LFunction, error) {
	fn, err := s.compileChunk(src, s.Source)
	if err != nil {
		return nil, fmt.Errorf("%s", compileMessage(s.Source, err))
	}
	return fn, nil
}

// checkSyntax checks source as C Lua 5.1 would compile it as a chunk named chunk (already
// in its chunk-id form) with levels C calls under the parser. It returns the source for
// gopher-lua and whether the main chunk's body uses `...`, or C Lua's message.
func checkSyntax(source, chunk string, levels int) (string, bool, error) {
	c, serr := checkChunk(source, chunk, levels)
	if serr != nil {
		return "", false, errors.New(serr.msg)
	}
	return c.rewritten(), c.mainVararg, nil
}

// compileMessage turns gopher-lua's syntax error ("<name> line:1(column:7) near 'x': msg")
// into Lua's layout ("<name>:1: msg near 'x'").
func compileMessage(source string, err error) string {
	msg := err.Error()
	if ae, ok := err.(*lua.ApiError); ok && ae.Cause != nil {
		msg = ae.Cause.Error()
	}
	rest, ok := strings.CutPrefix(msg, source+" line:")
	if !ok {
		return msg
	}
	line, rest, _ := strings.Cut(rest, "(")
	_, rest, _ = strings.Cut(rest, ")")
	rest = strings.TrimSpace(rest)
	near := ""
	if n, m, ok := strings.Cut(rest, ": "); ok && strings.HasPrefix(n, "near ") {
		near, rest = n, m
	}
	out := source + ":" + line + ": " + rest
	if near != "" {
		out += " " + near
	}
	return out
}

// CompileFunction compiles an EVAL body the way Redis does, as the body of a function
// without parameters ("function() <body> end"): unlike a chunk it is not variadic, which
// spares every call the vararg table. The wrapper shares the body's first line, so error
// line numbers are unchanged. A body that uses `...` (legal in a chunk, and empty under
// EVAL) gets a variadic wrapper.
func (s *State) CompileFunction(body string) (*lua.LFunction, error) {
	src, vararg, err := checkSyntax(body, s.Source, 0)
	if err != nil {
		return nil, err
	}
	head := "return function() "
	if vararg {
		head = "return function(...) "
	}
	chunk, err := s.compileChecked(head + src + "\nend")
	if err != nil {
		return nil, err
	}
	if s.args.tabs[0] == nil {
		s.initArgTables()
	}
	s.foldGlobals(chunk.Proto)
	L := s.L
	base := L.GetTop()
	defer L.SetTop(base)
	s.hook.killed = ""
	L.Push(chunk)
	if err := L.PCall(0, 1, nil); err != nil {
		return nil, err
	}
	fn, ok := L.Get(-1).(*lua.LFunction)
	if !ok {
		return nil, fmt.Errorf("%s: script did not compile to a function", s.Source)
	}
	return fn, nil
}

// Call runs fn with args. On failure it returns Redis's error reply text (code included,
// no leading '-'), naming the script funcname in the " script: ..." suffix.
func (s *State) Call(fn *lua.LFunction, funcname string, w *resp.Writer, args ...lua.LValue) (errMsg string) {
	L := s.L
	s.hook.killed = ""
	s.hook.n = 0
	s.badOperand = 0
	base := L.GetTop()
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	if s.handler == nil {
		s.handler = L.NewFunction(s.errorHandler)
	}
	err := L.PCall(len(args), 1, s.handler)
	defer L.SetTop(base)
	// a kill ends with the script: the next one starts clean
	defer func() { s.hook.killed = "" }()
	if err != nil {
		var obj lua.LValue = lua.LString(err.Error())
		if ae, ok := err.(*lua.ApiError); ok && ae.Object != nil {
			obj = ae.Object
		}
		return s.formatError(obj, funcname)
	}
	s.WriteReply(w, L.Get(-1))
	return ""
}

// errorHandler is the message handler of every script call: like Redis's, it turns the
// error into a table {err=..., source=..., line=...} while the failing frame still exists.
func (s *State) errorHandler(L *lua.LState) int {
	e := L.Get(1)
	var t *lua.LTable
	if s.hook.killed != "" {
		t = errTable(L, s.hook.killed)
	} else if et, ok := e.(*lua.LTable); ok {
		t = et
	} else if str, ok := e.(lua.LString); ok && !s.userError(e) {
		t = errTable(L, "ERR "+s.refine(L, string(str)))
	} else {
		t = errTable(L, "ERR "+luaToString(e))
	}
	for level := 1; level < 64; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			break
		}
		if _, err := L.GetInfo("Sl", dbg, lua.LNil); err != nil {
			break
		}
		if dbg.What == "G" || dbg.CurrentLine <= 0 {
			continue
		}
		if t.RawGetString("source") == lua.LNil {
			t.RawSetString("source", lua.LString("@"+dbg.Source))
			t.RawSetString("line", lua.LNumber(dbg.CurrentLine))
		}
		break
	}
	L.Push(t)
	return 1
}

func luaToString(v lua.LValue) string {
	switch x := v.(type) {
	case lua.LString:
		return string(x)
	case lua.LNumber:
		return FormatNumber(float64(x))
	case *lua.LNilType:
		return "nil"
	}
	return v.String()
}

func (s *State) formatError(obj lua.LValue, funcname string) string {
	t, ok := obj.(*lua.LTable)
	if !ok {
		return fmt.Sprintf("ERR Error running script %s, %.100s", funcname, luaToString(obj))
	}
	var msg string
	switch m := t.RawGetString("err").(type) {
	case lua.LString:
		msg = string(m)
	case lua.LNumber:
		msg = FormatNumber(float64(m))
	default:
		msg = "ERR unknown error"
	}
	msg = strings.TrimPrefix(msg, "-")
	src, okS := t.RawGetString("source").(lua.LString)
	line, okL := t.RawGetString("line").(lua.LNumber)
	if okS && okL {
		msg += fmt.Sprintf(" script: %s, on %s:%d.", funcname, string(src), int(line))
	}
	return msg
}

// WriteReply converts a script's return value to a reply, following Redis's rules:
// numbers become integers, false a null, tables arrays up to the first nil unless they are
// one of the {err=}, {ok=}, {double=}, {map=}, {set=}, {big_number=}, {verbatim_string=}
// shapes.
func (s *State) WriteReply(w *resp.Writer, v lua.LValue) {
	s.writeReply(w, v, 0)
}

func (s *State) writeReply(w *resp.Writer, v lua.LValue, depth int) {
	if depth > 1000 {
		w.Error("ERR reached lua stack limit")
		return
	}
	switch x := v.(type) {
	case lua.LString:
		w.BulkString(string(x))
	case lua.LBool:
		if s.Resp == 2 {
			if x {
				w.Int(1)
			} else {
				w.Null()
			}
			return
		}
		w.Bool(bool(x))
	case lua.LNumber:
		w.Int(ToInt64(float64(x)))
	case *lua.LTable:
		if e, ok := x.RawGetString("err").(lua.LString); ok {
			w.Error(string(e)) // Redis keeps a leading '-' here: {err='-x'} replies "--x"
			return
		}
		if st, ok := x.RawGetString("ok").(lua.LString); ok {
			w.Status(strings.NewReplacer("\r", " ", "\n", " ").Replace(string(st)))
			return
		}
		if d, ok := x.RawGetString("double").(lua.LNumber); ok {
			w.Double(float64(d))
			return
		}
		if bn, ok := x.RawGetString("big_number").(lua.LString); ok {
			w.BigNumber(strings.NewReplacer("\r", " ", "\n", " ").Replace(string(bn)))
			return
		}
		if m, ok := x.RawGetString("map").(*lua.LTable); ok {
			d := w.Defer()
			n := 0
			m.ForEach(func(k, val lua.LValue) {
				s.writeReply(w, k, depth+1)
				s.writeReply(w, val, depth+1)
				n++
			})
			w.FillMap(d, n)
			return
		}
		if set, ok := x.RawGetString("set").(*lua.LTable); ok {
			d := w.Defer()
			n := 0
			set.ForEach(func(k, _ lua.LValue) {
				s.writeReply(w, k, depth+1)
				n++
			})
			w.FillSet(d, n)
			return
		}
		if vs, ok := x.RawGetString("verbatim_string").(*lua.LTable); ok {
			f, ok1 := vs.RawGetString("format").(lua.LString)
			str, ok2 := vs.RawGetString("string").(lua.LString)
			if ok1 && ok2 {
				w.Verbatim(string(f), string(str))
				return
			}
		}
		d := w.Defer()
		n := 0
		for i := 1; ; i++ {
			e := x.RawGetInt(i)
			if e == lua.LNil {
				break
			}
			s.writeReply(w, e, depth+1)
			n++
		}
		w.FillArray(d, n)
	default:
		w.Null()
	}
}

// ToInt64 is C's (long long) cast of a double as Redis's x86-64 build performs it:
// truncation, with NaN and out-of-range values giving the minimum integer.
func ToInt64(f float64) int64 {
	if math.IsNaN(f) || f >= 9223372036854775808.0 || f < -9223372036854775808.0 {
		return math.MinInt64
	}
	return int64(f)
}

// BytesTable makes a Lua array of strings.
func (s *State) BytesTable(items [][]byte) *lua.LTable {
	t := s.L.CreateTable(len(items), 0)
	for i, b := range items {
		t.RawSetInt(i+1, lua.LString(b))
	}
	return t
}

// Globals is the real globals table (behind the read-only proxy), for hosts that install
// their own names (redis.register_function while loading a library).
func (s *State) Globals() *lua.LTable { return s.real }

// RedisTable is the redis library table.
func (s *State) RedisTable() *lua.LTable { return s.redis }

var _ = strconv.Itoa
