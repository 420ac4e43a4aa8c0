// Package luaapi is the Lua 5.1 environment Redis scripts run in: a sandboxed gopher-lua
// state with Redis's libraries (redis, cjson, cmsgpack, bit, struct) and the conversions
// between Lua values and RESP replies; it knows nothing of the server that hosts it.
package luaapi

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Host runs the commands a script calls and receives what it logs.
type Host interface {
	// Call executes argv on behalf of the script. A refusal before execution (unknown
	// command, write in a read-only script...) comes back as refusal, the Redis error
	// text with its code; otherwise reply is the command's RESP reply encoded in protocol
	// version resp.
	Call(argv [][]byte, resp int) (reply []byte, refusal string)
	// Log writes a redis.log line at a Redis log level (0 debug .. 3 warning).
	Log(level int, msg string)
	// Check is called every few thousand Lua instructions; a non-empty result kills the
	// script with that error text.
	Check() string
	// KnownCommand reports whether argv names a command (and subcommand) the server has
	// (redis.acl_check_cmd).
	KnownCommand(argv [][]byte) bool
}

// MaxString caps strings built by the string library (string.rep and friends) so a
// script cannot exhaust the server's memory in one call.
const MaxString = 512 << 20

// Replication flags of redis.set_repl.
const (
	ReplNone  = 0
	ReplAOF   = 1
	ReplSlave = 2
	ReplAll   = 3
)

// State is one Lua interpreter. Not safe for concurrent use: the server runs one script
// at a time.
type State struct {
	L     *lua.LState
	Resp  int // protocol version redis.call replies are converted from (redis.setresp)
	Repl  int // redis.set_repl flags
	host  Host
	real  *lua.LTable // the globals, reached through the read-only proxy
	proxy *lua.LTable
	// read-only tables (readonly.go): proxy -> backing table, and back
	frozen     map[*lua.LTable]*lua.LTable
	proxyOf    map[*lua.LTable]*lua.LTable
	roNewindex *lua.LFunction
	stringMeta *lua.LTable // what getmetatable("") shows
	globalMeta *lua.LTable // what getmetatable(_G) shows
	hook       hook
	// Source is the chunk name reported in errors ("user_script", "user_function").
	Source  string
	null    *lua.LUserData
	redis   *lua.LTable
	seed    uint64
	handler *lua.LFunction
	args    argTables   // KEYS and ARGV of EVAL scripts (fastpath.go)
	okTable *lua.LTable // the shared {ok='OK'} reply (fastpath.go)
	// lastUserErr is the value error() raised last, whose text is never reworded
	lastUserErr lua.LValue
	// badOperand is the operand the last type error was about (frames.go): 1 or 2 for
	// arithmetic, the argument of the concat call; 0 when no metamethod recorded one
	badOperand int
	// collectgarbage's setpause and setstepmul values
	gcPause, gcStepMul int
	pcallHandler       *lua.LFunction
	// reused by every redis.call: the host must not keep argv past the call
	argBuf []byte
	argv   [][]byte
	ends   []int
}

// New builds a sandboxed state: Redis's library set, protected globals, no file or OS access.
func New(source string, host Host) *State {
	L := lua.NewState(lua.Options{SkipOpenLibs: true, CallStackSize: 1024, RegistrySize: 1024, RegistryMaxSize: 1 << 20})
	s := &State{L: L, Resp: 2, Repl: ReplAll, host: host, Source: source,
		frozen: map[*lua.LTable]*lua.LTable{}, proxyOf: map[*lua.LTable]*lua.LTable{}}
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	g := L.G.Global
	// Redis removes everything that reaches files, the OS or the loader.
	for _, name := range []string{"dofile", "loadfile", "print", "require", "module", "setfenv", "_GOPHER_LUA_VERSION", "newproxy", "coroutine", "channel", "package", "io", "os", "debug"} {
		g.RawSetString(name, lua.LNil)
	}
	g.RawSetString("_VERSION", lua.LString("Lua 5.1"))
	g.RawSetString("loadstring", L.NewFunction(s.loadstring))
	g.RawSetString("pcall", L.NewFunction(s.pcall))
	g.RawSetString("error", L.NewFunction(s.luaError))
	g.RawSetString("tostring", L.NewFunction(s.tostring))
	g.RawSetString("tonumber", L.NewFunction(tonumber))
	g.RawSetString("rawset", L.NewFunction(s.rawset))
	g.RawSetString("setmetatable", L.NewFunction(s.setmetatable))
	if str, ok := g.RawGetString("string").(*lua.LTable); ok {
		str.RawSetString("rep", L.NewFunction(strRep))
		str.RawSetString("format", L.NewFunction(strFormat))
	}
	if m, ok := g.RawGetString("math").(*lua.LTable); ok {
		m.RawSetString("random", L.NewFunction(s.mathRandom))
		m.RawSetString("randomseed", L.NewFunction(s.mathRandomSeed))
	}
	s.installTypeMetatables()
	s.openLibCompat()
	g.RawSetString(concatName, L.NewFunction(s.concat))
	s.openForLoop()
	s.openCjson()
	s.openCmsgpack()
	s.openBit()
	s.openStruct()
	s.redis = s.newRedisTable()
	g.RawSetString("redis", s.redis)
	s.freezeLibraries()
	s.protectGlobals()
	s.hook.st = s
	L.SetContext(&s.hook)
	return s
}

// Close releases the interpreter.
func (s *State) Close() { s.L.Close() }

// protectGlobals puts the globals behind a read-only proxy: writes fail with Redis's
// "Attempt to modify a readonly table", reads of missing names with its
// "Script attempted to access nonexistent global variable".
func (s *State) protectGlobals() {
	L := s.L
	s.real = L.G.Global
	s.proxy = L.NewTable()
	miss := L.NewTable()
	miss.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("Script attempted to access nonexistent global variable '%s'", L.ToStringMeta(L.Get(2)).String())
		return 0
	}))
	L.SetMetatable(s.real, miss)
	mt := L.NewTable()
	mt.RawSetString("__index", s.real)
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("Attempt to modify a readonly table")
		return 0
	}))
	L.SetMetatable(s.proxy, mt)
	s.real.RawSetString("_G", s.proxy)
	s.frozen[s.proxy] = s.real
	view := L.CreateTable(0, 1)
	view.RawSetString("__index", miss.RawGetString("__index"))
	s.globalMeta = s.freeze(view)
	L.Env = s.proxy
}

func readonlyError(L *lua.LState) int {
	L.Push(lua.LString("Attempt to modify a readonly table"))
	L.Error(L.Get(-1), 0)
	return 0
}

// hook is handed to gopher-lua as the state's context: the VM calls Done before every
// instruction, which makes it the instruction hook Redis installs with lua_sethook.
type hook struct {
	st     *State
	n      uint32
	killed string
}

var closedCh = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (h *hook) Deadline() (time.Time, bool) { return time.Time{}, false }
func (h *hook) Value(any) any               { return nil }
func (h *hook) Err() error                  { return errors.New(h.killed) }
func (h *hook) Done() <-chan struct{} {
	if h.killed != "" {
		return closedCh
	}
	h.n++
	if h.n&1023 != 0 || h.st.host == nil {
		return nil
	}
	if msg := h.st.host.Check(); msg != "" {
		h.killed = msg
		return closedCh
	}
	return nil
}

// Killed is the reason the running script was stopped by Check, or "".
func (s *State) Killed() string { return s.hook.killed }

// loadstring compiles a chunk like Lua's, but refuses precompiled bytecode as Redis does.
func (s *State) loadstring(L *lua.LState) int {
	src := L.CheckString(1)
	name := L.OptString(2, src)
	if strings.HasPrefix(src, "\x1b") {
		L.Push(lua.LNil)
		L.Push(lua.LString("loadstring: bytecode is not allowed"))
		return 2
	}
	// called from a script, C Lua's parser starts one C call deep
	checked, _, err := checkSyntax(src, chunkID(name), 1)
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	fn, err := s.compileChunk(checked, name)
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	L.Push(fn)
	return 1
}

// pcall is Lua's, except that a caught error table {err=...} comes back as its message:
// Redis 7.0 scripts see redis.call failures caught by pcall as strings.
func (s *State) pcall(L *lua.LState) int {
	top := L.GetTop()
	if top == 0 {
		// Redis's Lua answers pcall() this way rather than with an argument error
		L.Push(lua.LFalse)
		L.Push(lua.LString("attempt to call a boolean value"))
		return 2
	}
	if s.pcallHandler == nil {
		s.pcallHandler = L.NewFunction(s.pcallMessage)
	}
	err := L.PCall(top-1, lua.MultRet, s.pcallHandler)
	if err != nil {
		v := lua.LValue(lua.LString(err.Error()))
		if ae, ok := err.(*lua.ApiError); ok {
			v = ae.Object
		}
		if t, ok := v.(*lua.LTable); ok {
			if m, ok := t.RawGetString("err").(lua.LString); ok {
				v = m
			}
		}
		L.Push(lua.LFalse)
		L.Push(v)
		return 2
	}
	L.Insert(lua.LTrue, 1)
	return L.GetTop()
}

// pcallMessage is pcall's message handler: it words the error as C Lua would while the
// failing frames still exist (frames.go); the script's own error values pass unchanged.
// It hands the value back by raising it: gopher-lua closes the failing frames' upvalues
// when an error is raised outside a handled call, which a handler that returns would
// skip (closures made in the failed call would then see reused registers).
func (s *State) pcallMessage(L *lua.LState) int {
	v := L.Get(1)
	if m, ok := v.(lua.LString); ok && !s.userError(v) && s.hook.killed == "" {
		v = lua.LString(s.refine(L, string(m)))
	}
	L.Error(v, 0)
	return 0
}

// luaError is Lua 5.1's error(): the position prefix names the function that called
// error, and none is added when that is a Go function (error called through pcall).
func (s *State) luaError(L *lua.LState) int {
	v := L.Get(1)
	level := L.OptInt(2, 1)
	switch v.(type) {
	case lua.LString, lua.LNumber:
		if level > 0 {
			if dbg, ok := L.GetStack(level); ok {
				if _, err := L.GetInfo("Sl", dbg, lua.LNil); err == nil && dbg.What != "G" && dbg.CurrentLine > 0 {
					v = lua.LString(fmt.Sprintf("%s:%d: %s", dbg.Source, dbg.CurrentLine, luaToString(v)))
				}
			}
		}
	}
	s.lastUserErr = v
	L.Error(v, 0)
	return 0
}

// userError reports whether an error value is the one error() raised last: its text is
// the script's, never reworded.
func (s *State) userError(v lua.LValue) bool {
	return s.lastUserErr != nil && v == s.lastUserErr
}

// tostring formats numbers with Lua 5.1's "%.14g" and cjson.null like a NULL lightuserdata.
func (s *State) tostring(L *lua.LState) int {
	v := L.CheckAny(1)
	switch x := v.(type) {
	case lua.LNumber:
		L.Push(lua.LString(FormatNumber(float64(x))))
	case *lua.LUserData:
		if x == s.null {
			L.Push(lua.LString("userdata: (nil)"))
			return 1
		}
		L.Push(L.ToStringMeta(v))
	default:
		L.Push(L.ToStringMeta(v))
	}
	return 1
}

func (s *State) rawset(L *lua.LState) int {
	t := L.CheckTable(1)
	if s.readOnly(t) {
		return readonlyError(L)
	}
	L.RawSet(t, L.CheckAny(2), L.CheckAny(3))
	L.SetTop(1)
	return 1
}

func (s *State) setmetatable(L *lua.LState) int {
	t := L.CheckTable(1)
	if s.readOnly(t) {
		return readonlyError(L)
	}
	mt := L.Get(2)
	if L.GetTop() < 2 {
		L.ArgError(2, "nil or table expected")
	}
	if mt != lua.LNil {
		m, ok := mt.(*lua.LTable)
		if !ok {
			L.ArgError(2, "nil or table expected")
		}
		// a read-only table as metatable: the VM must find its fields raw
		mt = s.backing(m)
	}
	if cur, ok := L.GetMetatable(t).(*lua.LTable); ok && cur.RawGetString("__metatable") != lua.LNil {
		L.RaiseError("cannot change a protected metatable")
	}
	L.SetMetatable(t, mt)
	L.SetTop(1)
	return 1
}

// Redis seeds its own PRNG identically before each script so math.random is reproducible
// across replicas; this is a small LCG with the same property.
func (s *State) mathRandom(L *lua.LState) int {
	s.seed = s.seed*6364136223846793005 + 1442695040888963407
	r := float64(s.seed>>11) / float64(1<<53)
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(r))
	case 1:
		u := L.CheckInt(1)
		if u < 1 {
			L.ArgError(1, "interval is empty")
		}
		L.Push(lua.LNumber(math.Floor(r*float64(u)) + 1))
	default:
		l, u := L.CheckInt(1), L.CheckInt(2)
		if l > u {
			L.ArgError(2, "interval is empty")
		}
		L.Push(lua.LNumber(math.Floor(r*float64(u-l+1)) + float64(l)))
	}
	return 1
}

func (s *State) mathRandomSeed(L *lua.LState) int {
	s.seed = uint64(L.CheckInt64(1))
	return 0
}

// ResetRandom reseeds math.random before a script, as Redis does.
func (s *State) ResetRandom() { s.seed = 0 }

func strRep(L *lua.LState) int {
	str := L.CheckString(1)
	n := L.CheckInt(2)
	if n <= 0 || len(str) == 0 {
		L.Push(lua.LString(""))
		return 1
	}
	if int64(len(str))*int64(n) > MaxString {
		L.RaiseError("not enough memory")
	}
	L.Push(lua.LString(strings.Repeat(str, n)))
	return 1
}

// FormatNumber is Lua 5.1's number to string conversion ("%.14g").
func FormatNumber(f float64) string {
	return formatG(f, 14)
}

// formatG is C's "%.<prec>g".
func formatG(f float64, prec int) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		if math.Signbit(f) {
			return "-nan"
		}
		return "nan"
	}
	if f == math.Trunc(f) && math.Abs(f) < math.Pow10(prec) {
		if f == 0 && math.Signbit(f) {
			return "-0"
		}
		return strconv.FormatInt(int64(f), 10)
	}
	s := strconv.FormatFloat(f, 'g', prec, 64)
	// C drops trailing zeros of the fraction in %g; Go keeps them with a fixed precision.
	mant, exp, hasExp := strings.Cut(s, "e")
	if strings.Contains(mant, ".") {
		mant = strings.TrimRight(mant, "0")
		mant = strings.TrimSuffix(mant, ".")
	}
	if hasExp {
		return mant + "e" + exp
	}
	return mant
}
