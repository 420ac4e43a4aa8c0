package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/sard-kv/sard/internal/crc64"
	"github.com/sard-kv/sard/internal/glob"
	"github.com/sard-kv/sard/internal/luaapi"
	"github.com/sard-kv/sard/internal/lzf"
	"github.com/sard-kv/sard/internal/num"
	"github.com/sard-kv/sard/internal/resp"
)

// Functions (Redis 7.0): FUNCTION LOAD/LIST/DELETE/FLUSH/DUMP/RESTORE/STATS/KILL and FCALL.
// All libraries share one Lua state, separate from EVAL's.

type functionLib struct {
	st    *luaapi.State
	libs  map[string]*library
	funcs map[string]*libFunction
}

type library struct {
	name  string
	code  string
	funcs map[string]*libFunction
}

type libFunction struct {
	name  string
	desc  string
	hasD  bool
	flags int
	fn    *lua.LFunction
	lib   *library
}

const (
	rdbOpcodeFunction2 = 245 // RDB_OPCODE_FUNCTION2: one library's code
	rdbVersion         = 10
)

func (s *Server) functions() *functionLib {
	sc := s.scriptEngine()
	if sc.lib == nil {
		sc.lib = &functionLib{libs: map[string]*library{}, funcs: map[string]*libFunction{}}
	}
	if sc.lib.st == nil {
		sc.lib.st = luaapi.New("user_function", scriptHost{s})
	}
	return sc.lib
}

// validFuncName is Redis's rule for library and function names.
func validFuncName(n string) bool {
	if n == "" {
		return false
	}
	for _, c := range []byte(n) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

const errBadName = "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"

// parseLibraryMeta reads "#!lua name=<lib>" from library code.
func parseLibraryMeta(code string) (name, body string, err error) {
	if !strings.HasPrefix(code, "#!") {
		return "", "", errors.New("ERR Missing library metadata")
	}
	line, _, _ := strings.Cut(code, "\n")
	parts := strings.Fields(line[2:])
	if len(parts) == 0 {
		return "", "", errors.New("ERR Missing library metadata")
	}
	if parts[0] != "lua" {
		return "", "", errors.New("ERR Engine '" + parts[0] + "' not found")
	}
	for _, p := range parts[1:] {
		v, ok := strings.CutPrefix(p, "name=")
		if !ok {
			return "", "", errors.New("ERR Invalid metadata value given: " + p)
		}
		name = v
	}
	if name == "" {
		return "", "", errors.New("ERR Library name was not given")
	}
	if !validFuncName(name) {
		return "", "", errors.New(errBadName)
	}
	return name, code[len(line):], nil
}

// loadLibrary compiles and runs library code, registering its functions. replace allows
// an existing library of the same name to be swapped.
func (s *Server) loadLibrary(code string, replace bool) (string, error) {
	return s.loadLibraryMsg(code, replace, "ERR Library '%s' already exists")
}

// loadLibraryMsg is loadLibrary with the collision message of the caller: FUNCTION RESTORE
// words it without quotes.
func (s *Server) loadLibraryMsg(code string, replace bool, existsMsg string) (string, error) {
	fl := s.functions()
	name, body, err := parseLibraryMeta(code)
	if err != nil {
		return "", err
	}
	old := fl.libs[name]
	if old != nil && !replace {
		return "", fmt.Errorf(existsMsg, name)
	}
	st := fl.st
	fn, cerr := st.Compile(body)
	if cerr != nil {
		return "", errors.New("ERR Error compiling function: " + cerr.Error())
	}
	lib := &library{name: name, code: code, funcs: map[string]*libFunction{}}
	loadAPI := s.functionLoadAPI(st, lib)
	// the load code sees no globals but its redis table, as in Redis 7.0
	restore := st.RestrictGlobals(map[string]lua.LValue{"redis": loadAPI})
	errMsg := s.runWithTimeout(st, fn)
	restore()
	if errMsg != "" {
		return "", errors.New("ERR Error registering functions: " + errMsg)
	}
	if len(lib.funcs) == 0 {
		return "", errors.New("ERR No functions registered")
	}
	for fname := range lib.funcs {
		if f := fl.funcs[fname]; f != nil && f.lib != old {
			return "", errors.New("ERR Function " + fname + " already exists")
		}
	}
	if old != nil {
		for fname := range old.funcs {
			delete(fl.funcs, fname)
		}
	}
	fl.libs[name] = lib
	for fname, f := range lib.funcs {
		fl.funcs[fname] = f
	}
	return name, nil
}

// runWithTimeout runs library code at load time; it cannot call commands.
func (s *Server) runWithTimeout(st *luaapi.State, fn *lua.LFunction) string {
	var w resp.Writer
	msg := st.Call(fn, "", &w)
	// the load error has no script suffix: only the message matters
	if i := strings.Index(msg, " script: "); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// functionLoadAPI is the redis table library code sees while it loads.
func (s *Server) functionLoadAPI(st *luaapi.State, lib *library) *lua.LTable {
	L := st.L
	t := L.NewTable()
	rt := st.RedisTable()
	for _, name := range []string{"log", "LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING", "REDIS_VERSION", "REDIS_VERSION_NUM"} {
		t.RawSetString(name, rt.RawGetString(name))
	}
	raise := func(L *lua.LState, msg string) {
		e := L.NewTable()
		e.RawSetString("err", lua.LString("ERR "+msg))
		L.Error(e, 0)
	}
	t.RawSetString("register_function", L.NewFunction(func(L *lua.LState) int {
		var name lua.LValue = lua.LNil
		var cb lua.LValue = lua.LNil
		var flagsV lua.LValue = lua.LNil
		var desc lua.LValue = lua.LNil
		switch L.GetTop() {
		case 1:
			tb, ok := L.Get(1).(*lua.LTable)
			if !ok {
				raise(L, "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).")
			}
			bad := false
			tb.ForEach(func(k, v lua.LValue) {
				switch k.String() {
				case "function_name":
					name = v
				case "callback":
					cb = v
				case "flags":
					flagsV = v
				case "description":
					desc = v
				default:
					bad = true
				}
			})
			if bad {
				raise(L, "unknown argument given to redis.register_function")
			}
		case 2:
			name, cb = L.Get(1), L.Get(2)
			if _, ok := cb.(*lua.LFunction); !ok {
				raise(L, "second argument to redis.register_function must be a function")
			}
		default:
			raise(L, "wrong number of arguments to redis.register_function")
		}
		if n, isNum := name.(lua.LNumber); isNum {
			name = lua.LString(luaapi.FormatNumber(float64(n)))
		}
		ns, ok := name.(lua.LString)
		if !ok {
			raise(L, "redis.register_function must get a function name argument")
		}
		cbf, ok := cb.(*lua.LFunction)
		if !ok {
			raise(L, "redis.register_function must get a callback argument")
		}
		f := &libFunction{name: string(ns), fn: cbf, lib: lib}
		if desc != lua.LNil {
			d, ok := desc.(lua.LString)
			if !ok {
				raise(L, "description argument given to redis.register_function must be a string")
			}
			f.desc, f.hasD = string(d), true
		}
		if flagsV != lua.LNil {
			ft, ok := flagsV.(*lua.LTable)
			if !ok {
				raise(L, "flags argument to redis.register_function must be a table representing function flags")
			}
			bad := false
			ft.ForEach(func(_, v lua.LValue) {
				found := false
				for _, fn := range scriptFlagNames {
					if v.String() == fn.name {
						f.flags |= fn.flag
						found = true
					}
				}
				if !found {
					bad = true
				}
			})
			if bad {
				raise(L, "unknown flag given")
			}
		}
		if !validFuncName(f.name) {
			raise(L, errBadName[4:])
		}
		if lib.funcs[f.name] != nil {
			raise(L, "Function already exists in the library")
		}
		lib.funcs[f.name] = f
		return 0
	}))
	mt := L.NewTable()
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("Script attempted to access nonexistent global variable '%s'", L.ToStringMeta(L.Get(2)).String())
		return 0
	}))
	L.SetMetatable(t, mt)
	return st.Protect(t)
}

func functionLoadCommand(c *Client) {
	replace := false
	i := 2
	for ; i < len(c.argv)-1; i++ {
		if strings.EqualFold(string(c.argv[i]), "replace") {
			replace = true
			continue
		}
		c.w.Error("ERR Unknown option given: " + string(c.argv[i]))
		return
	}
	if i != len(c.argv)-1 {
		c.w.Error("ERR Function code is missing")
		return
	}
	name, err := c.srv.loadLibrary(string(c.argv[i]), replace)
	if err != nil {
		c.w.Error(err.Error())
		return
	}
	c.srv.dirty++
	c.w.BulkString(name)
}

func fcallCommand(c *Client)   { fcallGeneric(c, false) }
func fcallROCommand(c *Client) { fcallGeneric(c, true) }

func fcallGeneric(c *Client, ro bool) {
	s := c.srv
	if _, isInt := num.ParseInt64(c.argv[2]); !isInt {
		c.w.Error("ERR Bad number of keys provided")
		return
	}
	numkeys, ok := parseNumKeys(c)
	if !ok {
		return
	}
	fl := s.functions()
	if !s.checkDeclaredSlot(c, c.argv[3:3+numkeys]) {
		return
	}
	f := fl.funcs[string(c.argv[1])]
	if f == nil {
		c.w.Error("ERR Function not found")
		return
	}
	if errMsg := s.scriptPrepare(c, f.flags, ro); errMsg != "" {
		c.w.Error(errMsg)
		return
	}
	st := fl.st
	keys, args := c.argv[3:3+numkeys], c.argv[3+numkeys:]
	s.runScript(c, st, f.fn, f.name, false, f.flags, ro, []lua.LValue{st.BytesTable(keys), st.BytesTable(args)})
}

func (fl *functionLib) sortedLibs() []*library {
	libs := make([]*library, 0, len(fl.libs))
	for _, l := range fl.libs {
		libs = append(libs, l)
	}
	sort.Slice(libs, func(i, j int) bool { return libs[i].name < libs[j].name })
	return libs
}

func functionListCommand(c *Client) {
	withCode := false
	var pattern []byte
	for i := 2; i < len(c.argv); i++ {
		switch a := strings.ToLower(string(c.argv[i])); {
		case a == "withcode" && !withCode:
			withCode = true
		case a == "libraryname" && pattern == nil && i+1 < len(c.argv):
			i++
			pattern = c.argv[i]
		case a == "libraryname" && pattern == nil:
			c.w.Error("ERR library name argument was not given")
			return
		default:
			c.w.Error("ERR Unknown argument " + string(c.argv[i]))
			return
		}
	}
	fl := c.srv.functions()
	d := c.w.Defer()
	n := 0
	for _, lib := range fl.sortedLibs() {
		if pattern != nil && !glob.Match(pattern, []byte(lib.name), false) {
			continue
		}
		n++
		if withCode {
			c.w.Map(4)
		} else {
			c.w.Map(3)
		}
		c.w.BulkString("library_name")
		c.w.BulkString(lib.name)
		c.w.BulkString("engine")
		c.w.BulkString("LUA")
		c.w.BulkString("functions")
		names := make([]string, 0, len(lib.funcs))
		for fname := range lib.funcs {
			names = append(names, fname)
		}
		sort.Strings(names)
		c.w.Array(len(names))
		for _, fname := range names {
			f := lib.funcs[fname]
			c.w.Map(3)
			c.w.BulkString("name")
			c.w.BulkString(f.name)
			c.w.BulkString("description")
			if f.hasD {
				c.w.BulkString(f.desc)
			} else {
				c.w.Null()
			}
			c.w.BulkString("flags")
			var flags []string
			for _, fn := range scriptFlagNames {
				if f.flags&fn.flag != 0 {
					flags = append(flags, fn.name)
				}
			}
			c.w.Set(len(flags))
			for _, fn := range flags {
				c.w.Status(fn)
			}
		}
		if withCode {
			c.w.BulkString("library_code")
			c.w.BulkString(lib.code)
		}
	}
	c.w.FillArray(d, n)
}

func functionDeleteCommand(c *Client) {
	fl := c.srv.functions()
	lib := fl.libs[string(c.argv[2])]
	if lib == nil {
		c.w.Error("ERR Library not found")
		return
	}
	for fname := range lib.funcs {
		delete(fl.funcs, fname)
	}
	delete(fl.libs, lib.name)
	c.srv.dirty++
	c.w.OK()
}

func functionFlushCommand(c *Client) {
	if len(c.argv) > 3 {
		c.w.Error(fmt.Sprintf("ERR unknown subcommand or wrong number of arguments for '%s'. Try FUNCTION HELP.", truncateArg(c.argv[1])))
		return
	}
	if len(c.argv) == 3 && !strings.EqualFold(string(c.argv[2]), "sync") && !strings.EqualFold(string(c.argv[2]), "async") {
		c.w.Error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
		return
	}
	c.srv.flushFunctions()
	c.srv.dirty++
	c.w.OK()
}

// flushFunctions drops every library and starts a fresh Lua state for them.
func (s *Server) flushFunctions() {
	fl := s.functions()
	fl.st.Close()
	fl.st = nil
	fl.libs = map[string]*library{}
	fl.funcs = map[string]*libFunction{}
}

// FunctionsDump is FUNCTION DUMP's payload: each library as an RDB function opcode and
// string, then the RDB version and a CRC64, the same layout as DUMP.
func (s *Server) FunctionsDump() []byte {
	var b []byte
	for _, lib := range s.functions().sortedLibs() {
		b = append(b, rdbOpcodeFunction2)
		b = appendRDBString(b, []byte(lib.code))
	}
	b = binary.LittleEndian.AppendUint16(b, rdbVersion)
	return binary.LittleEndian.AppendUint64(b, crc64.Checksum(b))
}

func functionDumpCommand(c *Client) { c.w.Bulk(c.srv.FunctionsDump()) }

func functionRestoreCommand(c *Client) {
	policy := "append"
	if len(c.argv) > 4 {
		c.w.Error(errSyntax)
		return
	}
	if len(c.argv) == 4 {
		policy = strings.ToLower(string(c.argv[3]))
		if policy != "append" && policy != "replace" && policy != "flush" {
			c.w.Error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
			return
		}
	}
	codes, err := parseFunctionsPayload(c.argv[2])
	if err != nil {
		c.w.Error(err.Error())
		return
	}
	s := c.srv
	if err := s.restoreFunctions(codes, policy); err != nil {
		c.w.Error(err.Error())
		return
	}
	s.dirty++
	c.w.OK()
}

// restoreFunctions loads libraries all-or-nothing: on any failure the previous set stays.
func (s *Server) restoreFunctions(codes []string, policy string) error {
	fl := s.functions()
	saved := *fl
	savedLibs := make(map[string]*library, len(fl.libs))
	savedFuncs := make(map[string]*libFunction, len(fl.funcs))
	for k, v := range fl.libs {
		savedLibs[k] = v
	}
	for k, v := range fl.funcs {
		savedFuncs[k] = v
	}
	if policy == "flush" {
		fl.libs = map[string]*library{}
		fl.funcs = map[string]*libFunction{}
	}
	for _, code := range codes {
		if _, err := s.loadLibraryMsg(code, policy == "replace", "ERR Library %s already exists"); err != nil {
			fl.libs, fl.funcs, fl.st = savedLibs, savedFuncs, saved.st
			return err
		}
	}
	return nil
}

// LoadFunctionsPayload restores a FUNCTION DUMP payload (used by RDB loading as well).
func (s *Server) LoadFunctionsPayload(payload []byte, replace bool) error {
	codes, err := parseFunctionsPayload(payload)
	if err != nil {
		return err
	}
	policy := "append"
	if replace {
		policy = "replace"
	}
	return s.restoreFunctions(codes, policy)
}

var errBadPayload = errors.New("ERR DUMP payload version or checksum are wrong")

func parseFunctionsPayload(p []byte) ([]string, error) {
	if len(p) < 10 {
		return nil, errBadPayload
	}
	body := p[:len(p)-10]
	ver := binary.LittleEndian.Uint16(p[len(p)-10:])
	if ver > rdbVersion || crc64.Checksum(p[:len(p)-8]) != binary.LittleEndian.Uint64(p[len(p)-8:]) {
		return nil, errBadPayload
	}
	var codes []string
	for len(body) > 0 {
		op := body[0]
		body = body[1:]
		if op != rdbOpcodeFunction2 {
			return nil, errors.New("ERR given type is not a function")
		}
		s, rest, ok := readRDBString(body)
		if !ok {
			return nil, errors.New("ERR Failed loading library payload")
		}
		codes = append(codes, string(s))
		body = rest
	}
	return codes, nil
}

// appendRDBString writes an RDB string: LZF-compressed when that saves space (strings
// over 20 bytes, as Redis with rdbcompression yes), plain otherwise.
func appendRDBString(b, s []byte) []byte {
	if len(s) > 20 {
		if comp := lzf.Compress(nil, s, len(s)-4); len(comp) > 0 {
			b = append(b, 0xc3)
			b = appendRDBLen(b, uint64(len(comp)))
			b = appendRDBLen(b, uint64(len(s)))
			return append(b, comp...)
		}
	}
	b = appendRDBLen(b, uint64(len(s)))
	return append(b, s...)
}

func appendRDBLen(b []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(b, byte(n))
	case n < 1<<14:
		return append(b, byte(n>>8)|0x40, byte(n))
	case n <= 0xffffffff:
		b = append(b, 0x80)
		return binary.BigEndian.AppendUint32(b, uint32(n))
	}
	b = append(b, 0x81)
	return binary.BigEndian.AppendUint64(b, n)
}

// readRDBLen returns the length, whether it is a special encoding, and the rest.
func readRDBLen(b []byte) (uint64, bool, []byte, bool) {
	if len(b) == 0 {
		return 0, false, nil, false
	}
	switch b[0] >> 6 {
	case 0:
		return uint64(b[0] & 0x3f), false, b[1:], true
	case 1:
		if len(b) < 2 {
			return 0, false, nil, false
		}
		return uint64(b[0]&0x3f)<<8 | uint64(b[1]), false, b[2:], true
	case 2:
		if b[0] == 0x80 && len(b) >= 5 {
			return uint64(binary.BigEndian.Uint32(b[1:])), false, b[5:], true
		}
		if b[0] == 0x81 && len(b) >= 9 {
			return binary.BigEndian.Uint64(b[1:]), false, b[9:], true
		}
		return 0, false, nil, false
	}
	return uint64(b[0] & 0x3f), true, b[1:], true
}

func readRDBString(b []byte) ([]byte, []byte, bool) {
	n, enc, rest, ok := readRDBLen(b)
	if !ok {
		return nil, nil, false
	}
	if !enc {
		if uint64(len(rest)) < n {
			return nil, nil, false
		}
		return rest[:n], rest[n:], true
	}
	switch n {
	case 0, 1, 2:
		size := 1 << n
		if len(rest) < size {
			return nil, nil, false
		}
		var v int64
		switch size {
		case 1:
			v = int64(int8(rest[0]))
		case 2:
			v = int64(int16(binary.LittleEndian.Uint16(rest)))
		case 4:
			v = int64(int32(binary.LittleEndian.Uint32(rest)))
		}
		return []byte(itoa(v)), rest[size:], true
	case 3:
		clen, _, r1, ok1 := readRDBLen(rest)
		ulen, _, r2, ok2 := readRDBLen(r1)
		if !ok1 || !ok2 || uint64(len(r2)) < clen || ulen > 1<<32 {
			return nil, nil, false
		}
		out, err := lzf.Decompress(nil, r2[:clen], int(ulen))
		if err != nil || uint64(len(out)) != ulen {
			return nil, nil, false
		}
		return out, r2[clen:], true
	}
	return nil, nil, false
}

func itoa(v int64) string {
	var tmp [24]byte
	b := tmp[:0]
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	if neg {
		i--
		tmp[i] = '-'
	}
	b = tmp[i:]
	return string(b)
}

func functionStatsCommand(c *Client) {
	s := c.srv
	if r := s.scripts.run; r != nil && r.isEval {
		c.w.Error(errBusyEval) // Redis 7.0 refuses FUNCTION STATS while an EVAL script is busy
		return
	}
	fl := s.functions()
	c.w.Map(2)
	c.w.BulkString("running_script")
	if r := s.scripts.run; r != nil && !r.isEval {
		c.w.Map(3)
		c.w.BulkString("name")
		c.w.BulkString(r.name)
		c.w.BulkString("command")
		c.w.Array(len(r.caller.argv))
		for _, a := range r.caller.argv {
			c.w.Bulk(a)
		}
		c.w.BulkString("duration_ms")
		c.w.Int(time.Since(r.start).Milliseconds())
	} else {
		c.w.Null()
	}
	c.w.BulkString("engines")
	c.w.Map(1)
	c.w.BulkString("LUA")
	c.w.Map(2)
	c.w.BulkString("libraries_count")
	c.w.Int(int64(len(fl.libs)))
	c.w.BulkString("functions_count")
	c.w.Int(int64(len(fl.funcs)))
}

func functionKillCommand(c *Client) { killScript(c, false) }

func functionHelpCommand(c *Client) {
	writeSubHelp(c, "FUNCTION", []string{
		"LOAD [REPLACE] <FUNCTION CODE>",
		"    Create a new library with the given library name and code.",
		"DELETE <LIBRARY NAME>",
		"    Delete the given library.",
		"LIST [LIBRARYNAME PATTERN] [WITHCODE]",
		"    Return general information on all the libraries:",
		"    * Library name",
		"    * The engine used to run the Library",
		"    * Library description",
		"    * Functions list",
		"    * Library code (if WITHCODE is given)",
		"    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
		"STATS",
		"    Return information about the current function running:",
		"    * Function name",
		"    * Command used to run the function",
		"    * Duration in MS that the function is running",
		"    If no function is running, return nil",
		"    In addition, returns a list of available engines.",
		"KILL",
		"    Kill the current running function.",
		"FLUSH [ASYNC|SYNC]",
		"    Delete all the libraries.",
		"    When called without the optional mode argument, the behavior is determined by the",
		"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
		"    * ASYNC: Asynchronously flush the libraries.",
		"    * SYNC: Synchronously flush the libraries.",
		"DUMP",
		"    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
		"RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
		"    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
		"    control how to handle existing libraries (default APPEND):",
		"    * FLUSH: delete all existing libraries.",
		"    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
		"    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
		"      libraries with the new libraries (notice that even on this option there is a chance of failure",
		"      in case of functions name collision with another library).",
	})
}

func init() {
	register(map[string]func(*Client){
		"fcall":            fcallCommand,
		"fcall_ro":         fcallROCommand,
		"function|load":    functionLoadCommand,
		"function|list":    functionListCommand,
		"function|delete":  functionDeleteCommand,
		"function|flush":   functionFlushCommand,
		"function|dump":    functionDumpCommand,
		"function|restore": functionRestoreCommand,
		"function|stats":   functionStatsCommand,
		"function|kill":    functionKillCommand,
		"function|help":    functionHelpCommand,
	})
}

// installFunctionPersistence lets RDB files carry the function libraries: each library is
// saved as one FUNCTION2 record holding its code, and loaded back as FUNCTION RESTORE would.
func (s *Server) installFunctionPersistence() {
	s.persist.functionsDump = func() [][]byte {
		var out [][]byte
		for _, lib := range s.functions().sortedLibs() {
			out = append(out, []byte(lib.code))
		}
		return out
	}
	s.persist.functionsLoad = func(code []byte, replace bool) error {
		policy := "append"
		if replace {
			policy = "replace"
		}
		return s.restoreFunctions([]string{string(code)}, policy)
	}
}
