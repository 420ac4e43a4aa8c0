package luaapi

import (
	"math"
	"runtime/metrics"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Library functions of Lua 5.1 as Redis 7.0 has them, where gopher-lua's differ in what a
// script can see: the functions gopher-lua lacks (gcinfo, collectgarbage, table.foreach,
// table.foreachi, table.setn, the coroutine library's C Lua wording) and the argument
// checks whose order or words differ (C evaluates luaL_checknumber(L, 1) and (L, 2) as
// arguments of one call right to left, so atan2, fmod, pow and ldexp complain about
// argument #2 first).

func (s *State) openLibCompat() {
	L := s.L
	g := L.G.Global
	g.RawSetString("getfenv", lua.LNil) // not in Redis's sandbox
	g.RawSetString("assert", L.NewFunction(luaAssert))
	g.RawSetString("xpcall", L.NewFunction(s.xpcall))
	g.RawSetString("gcinfo", L.NewFunction(gcinfo))
	g.RawSetString("collectgarbage", L.NewFunction(s.collectgarbage))
	s.gcPause, s.gcStepMul = 200, 200
	if m, ok := g.RawGetString("math").(*lua.LTable); ok {
		two := func(name string, f func(a, b float64) float64) {
			m.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
				b := checkNumber(L, 2, name)
				a := checkNumber(L, 1, name)
				L.Push(lua.LNumber(f(a, b)))
				return 1
			}))
		}
		two("atan2", math.Atan2)
		two("fmod", math.Mod)
		two("mod", math.Mod)
		two("pow", math.Pow)
		m.RawSetString("ldexp", L.NewFunction(func(L *lua.LState) int {
			e := checkInt(L, 2, "ldexp")
			x := checkNumber(L, 1, "ldexp")
			L.Push(lua.LNumber(math.Ldexp(x, e)))
			return 1
		}))
		m.RawSetString("max", L.NewFunction(func(L *lua.LState) int { return mathExtreme(L, "max", 1) }))
		m.RawSetString("min", L.NewFunction(func(L *lua.LState) int { return mathExtreme(L, "min", -1) }))
	}
	if t, ok := g.RawGetString("table").(*lua.LTable); ok {
		t.RawSetString("foreach", L.NewFunction(s.tableForeach))
		t.RawSetString("foreachi", L.NewFunction(s.tableForeachi))
		if ins, ok := t.RawGetString("insert").(*lua.LFunction); ok && ins.GFunction != nil {
			orig := ins.GFunction
			t.RawSetString("insert", L.NewFunction(func(L *lua.LState) int {
				if n := L.GetTop(); n != 2 && n != 3 { // gopher-lua ignores extra ones
					checkTable(L, 1, "insert")
					L.RaiseError("wrong number of arguments to 'insert'")
				}
				return orig(L)
			}))
		}
		t.RawSetString("setn", L.NewFunction(func(L *lua.LState) int {
			checkTable(L, 1, "setn")
			L.RaiseError("'setn' is obsolete")
			return 0
		}))
	}
	if str, ok := g.RawGetString("string").(*lua.LTable); ok {
		str.RawSetString("dump", L.NewFunction(func(L *lua.LState) int {
			if _, ok := L.Get(1).(*lua.LFunction); !ok || L.GetTop() < 1 {
				typeError(L, 1, "dump", "function")
			}
			// C Lua dumps Lua functions as bytecode, which gopher-lua has no format for
			L.RaiseError("unable to dump given function")
			return 0
		}))
	}
	s.openCoroutine()
}

func checkTable(L *lua.LState, n int, fname string) *lua.LTable {
	t, ok := L.Get(n).(*lua.LTable)
	if !ok || n > L.GetTop() {
		typeError(L, n, fname, "table")
	}
	return t
}

func checkFunction(L *lua.LState, n int, fname string) *lua.LFunction {
	f, ok := L.Get(n).(*lua.LFunction)
	if !ok || n > L.GetTop() {
		typeError(L, n, fname, "function")
	}
	return f
}

// mathExtreme is math.max (sign 1) and math.min (-1).
func mathExtreme(L *lua.LState, name string, sign float64) int {
	best := checkNumber(L, 1, name)
	for i := 2; i <= L.GetTop(); i++ {
		if d := checkNumber(L, i, name); (d-best)*sign > 0 {
			best = d
		}
	}
	L.Push(lua.LNumber(best))
	return 1
}

func luaAssert(L *lua.LState) int {
	checkAny(L, 1, "assert")
	if lua.LVAsBool(L.Get(1)) {
		return L.GetTop()
	}
	msg := "assertion failed!"
	if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
		msg = checkString(L, 2, "assert")
	}
	L.RaiseError("%s", msg)
	return 0
}

// xpcall is Lua 5.1's: f is called without arguments, and the handler may be any value
// (an error then becomes "error in error handling").
func (s *State) xpcall(L *lua.LState) int {
	if L.GetTop() < 2 {
		argError(L, 2, "xpcall", "value expected")
	}
	f, h := L.Get(1), L.Get(2)
	L.SetTop(0)
	handler := L.NewFunction(func(L *lua.LState) int {
		v := L.Get(1)
		if m, ok := v.(lua.LString); ok && !s.userError(v) && s.hook.killed == "" {
			v = lua.LString(s.refine(L, string(m)))
		}
		if s.hook.killed != "" {
			L.Error(v, 0)
		}
		var out lua.LValue = lua.LString("error in error handling")
		if hf, ok := h.(*lua.LFunction); ok {
			L.Push(hf)
			L.Push(v)
			if err := L.PCall(1, 1, nil); err == nil {
				out = L.Get(-1)
			}
		}
		L.Error(out, 0) // raised, as pcallMessage does, so the failed call's upvalues close
		return 0
	})
	L.Push(f)
	if err := L.PCall(0, lua.MultRet, handler); err != nil {
		var v lua.LValue = lua.LString(err.Error())
		if ae, ok := err.(*lua.ApiError); ok {
			v = ae.Object
		}
		L.SetTop(0)
		L.Push(lua.LFalse)
		L.Push(v)
		return 2
	}
	L.Insert(lua.LTrue, 1)
	return L.GetTop()
}

// gcinfo is the memory in use, in kilobytes: sard's Lua states share the Go heap, so it
// is the Go heap's live objects (Redis reports its Lua allocator's).
func gcinfo(L *lua.LState) int {
	L.Push(lua.LNumber(math.Floor(heapBytes() / 1024)))
	return 1
}

func heapBytes() float64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return float64(sample[0].Value.Uint64())
}

// collectgarbage is Lua 5.1's interface to the collector; Go's collector is not the
// script's to drive, so the options answer as C Lua's do without acting ("step" reports
// no finished cycle), and setpause/setstepmul keep their values per state.
func (s *State) collectgarbage(L *lua.LState) int {
	opt := "collect"
	if L.GetTop() >= 1 && L.Get(1) != lua.LNil {
		opt = checkString(L, 1, "collectgarbage")
	}
	arg := 0
	if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
		arg = checkInt(L, 2, "collectgarbage")
	}
	switch opt {
	case "stop", "restart", "collect":
		L.Push(lua.LNumber(0))
	case "count":
		L.Push(lua.LNumber(heapBytes() / 1024))
	case "step":
		L.Push(lua.LFalse)
	case "setpause":
		L.Push(lua.LNumber(s.gcPause))
		s.gcPause = arg
	case "setstepmul":
		L.Push(lua.LNumber(s.gcStepMul))
		s.gcStepMul = arg
	default:
		argError(L, 1, "collectgarbage", "invalid option '"+opt+"'")
	}
	return 1
}

// tableForeach is Lua 5.1's table.foreach: f(k, v) for every pair until f returns a value.
func (s *State) tableForeach(L *lua.LState) int {
	t := s.backing(checkTable(L, 1, "foreach"))
	f := checkFunction(L, 2, "foreach")
	for k, v := t.Next(lua.LNil); k != lua.LNil; k, v = t.Next(k) {
		L.Push(f)
		L.Push(k)
		L.Push(v)
		L.Call(2, 1)
		if r := L.Get(-1); r != lua.LNil {
			return 1
		}
		L.Pop(1)
	}
	return 0
}

// tableForeachi is table.foreachi: f(i, t[i]) for i = 1..#t until f returns a value.
func (s *State) tableForeachi(L *lua.LState) int {
	t := s.backing(checkTable(L, 1, "foreachi"))
	f := checkFunction(L, 2, "foreachi")
	n := t.Len()
	for i := 1; i <= n; i++ {
		L.Push(f)
		L.Push(lua.LNumber(i))
		L.Push(t.RawGetInt(i))
		L.Call(2, 1)
		if r := L.Get(-1); r != lua.LNil {
			return 1
		}
		L.Pop(1)
	}
	return 0
}

// redisACLCheck is redis.acl_check_cmd: whether the user may run the command. sard has no
// ACL users, so every command the server knows is allowed.
func (s *State) redisACLCheck(L *lua.LState) int {
	argv, errMsg := s.callArgs(L)
	if errMsg != "" {
		raiseErr(L, errMsg)
	}
	if s.host == nil || !s.host.KnownCommand(argv) {
		raiseErr(L, "ERR Invalid command passed to redis.acl_check_cmd()")
	}
	L.Push(lua.LTrue)
	return 1
}

// The coroutine library: gopher-lua's, with C Lua's words, and every coroutine runs under
// the state's instruction hook, so a script looping inside one still meets
// busy-reply-threshold and SCRIPT KILL.
func (s *State) openCoroutine() {
	L := s.L
	L.Push(L.NewFunction(lua.OpenCoroutine))
	L.Push(lua.LString(lua.CoroutineLibName))
	L.Call(1, 0)
	co, ok := L.G.Global.RawGetString("coroutine").(*lua.LTable)
	if !ok {
		return
	}
	create := co.RawGetString("create").(*lua.LFunction)
	wrap := co.RawGetString("wrap").(*lua.LFunction)
	resume := co.RawGetString("resume").(*lua.LFunction)
	status := co.RawGetString("status").(*lua.LFunction)
	hooked := func(orig *lua.LFunction, name string) *lua.LFunction {
		return L.NewFunction(func(L *lua.LState) int {
			if f, ok := L.Get(1).(*lua.LFunction); !ok || f.IsG {
				argError(L, 1, name, "Lua function expected")
			}
			L.SetTop(1)
			L.Push(orig)
			L.Insert(L.Get(-1), 1)
			L.SetTop(2)
			L.Call(1, 1)
			switch v := L.Get(-1).(type) {
			case *lua.LState:
				v.SetContext(&s.hook)
			case *lua.LFunction:
				// wrap's closure keeps its thread as an upvalue
				for _, uv := range v.Upvalues {
					if th, ok := uv.Value().(*lua.LState); ok {
						th.SetContext(&s.hook)
					}
				}
			}
			return 1
		})
	}
	co.RawSetString("create", hooked(create, "create"))
	co.RawSetString("wrap", hooked(wrap, "wrap"))
	checkCo := func(L *lua.LState, name string) *lua.LState {
		th, ok := L.Get(1).(*lua.LState)
		if !ok {
			argError(L, 1, name, "coroutine expected")
		}
		return th
	}
	co.RawSetString("status", L.NewFunction(func(L *lua.LState) int {
		checkCo(L, "status")
		L.Push(status)
		L.Insert(L.Get(-1), 1)
		L.SetTop(2)
		L.Call(1, 1)
		return 1
	}))
	co.RawSetString("resume", L.NewFunction(func(L *lua.LState) int {
		checkCo(L, "resume")
		n := L.GetTop()
		L.Push(resume)
		L.Insert(L.Get(-1), 1)
		L.SetTop(n + 1)
		L.Call(n, lua.MultRet)
		if L.GetTop() == 2 && L.Get(1) == lua.LFalse {
			if m, ok := L.Get(2).(lua.LString); ok {
				L.Replace(2, lua.LString(coroutineMessage(string(m))))
			}
		}
		return L.GetTop()
	}))
	co.RawSetString("yield", L.NewFunction(func(L *lua.LState) int {
		if L.Parent == nil || !yieldable(L) {
			L.Error(lua.LString("attempt to yield across metamethod/C-call boundary"), 0)
		}
		return -1 // gopher-lua's yield: the values on the stack go to resume
	}))
}

// yieldable reports whether no Go function (pcall, a metamethod, table.sort...) stands
// between yield and the coroutine's body: C Lua 5.1 cannot yield across one, and
// gopher-lua would resume into a Go frame that no longer exists.
func yieldable(L *lua.LState) bool {
	fr := frameAt(L, 0)
	if fr == nil {
		return false // cannot tell: refusing is safe
	}
	for f := fr.Parent; f != nil; f = f.Parent {
		if f.Fn == nil || f.Fn.IsG {
			return false
		}
	}
	return true
}

// coroutineMessage gives gopher-lua's coroutine errors C Lua's words.
func coroutineMessage(m string) string {
	switch {
	case strings.HasSuffix(m, "can not resume a dead thread"), strings.HasSuffix(m, "cannot resume dead coroutine"):
		return "cannot resume dead coroutine"
	case strings.HasSuffix(m, "can not resume a running thread"):
		return "cannot resume non-suspended coroutine"
	}
	return m
}
