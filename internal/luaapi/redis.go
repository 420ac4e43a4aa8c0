package luaapi

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// RedisVersion and RedisVersionNum are what redis.REDIS_VERSION(_NUM) report.
var (
	RedisVersion    = "7.0.15"
	RedisVersionNum = 0x07000f
)

// Log levels of redis.log.
const (
	LogDebug = iota
	LogVerbose
	LogNotice
	LogWarning
)

func (s *State) newRedisTable() *lua.LTable {
	L := s.L
	t := L.NewTable()
	L.SetFuncs(t, map[string]lua.LGFunction{
		"call":               s.redisCall,
		"pcall":              s.redisPcall,
		"error_reply":        errorReply,
		"status_reply":       statusReply,
		"sha1hex":            sha1hexLua,
		"log":                s.redisLog,
		"setresp":            s.setResp,
		"set_repl":           s.setRepl,
		"acl_check_cmd":      s.redisACLCheck,
		"replicate_commands": func(L *lua.LState) int { L.Push(lua.LTrue); return 1 },
		"breakpoint":         func(L *lua.LState) int { L.Push(lua.LFalse); return 1 },
		"debug":              func(L *lua.LState) int { return 0 },
	})
	for name, v := range map[string]int{"LOG_DEBUG": LogDebug, "LOG_VERBOSE": LogVerbose, "LOG_NOTICE": LogNotice, "LOG_WARNING": LogWarning,
		"REPL_NONE": ReplNone, "REPL_AOF": ReplAOF, "REPL_SLAVE": ReplSlave, "REPL_REPLICA": ReplSlave, "REPL_ALL": ReplAll} {
		t.RawSetString(name, lua.LNumber(v))
	}
	t.RawSetString("REDIS_VERSION", lua.LString(RedisVersion))
	t.RawSetString("REDIS_VERSION_NUM", lua.LNumber(RedisVersionNum))
	return t
}

// Redis returns nothing from these two, but raising an error is how the script learns it
// passed the wrong arguments.
func errorReply(L *lua.LState) int {
	msg, ok := L.Get(1).(lua.LString)
	if L.GetTop() != 1 || !ok {
		L.Push(errTable(L, "ERR wrong number or type of arguments"))
		return 1
	}
	m := string(msg)
	m = strings.TrimPrefix(m, "-")
	if !strings.Contains(m, " ") {
		m = "ERR " + m // Redis 7.0 gives a message without an error code one
	}
	m = strings.TrimRight(m, "\r\n") // as Redis trims it
	L.Push(errTable(L, m))
	return 1
}

func statusReply(L *lua.LState) int {
	msg, ok := L.Get(1).(lua.LString)
	if L.GetTop() != 1 || !ok {
		L.Push(errTable(L, "ERR wrong number or type of arguments"))
		return 1
	}
	t := L.CreateTable(0, 1)
	t.RawSetString("ok", msg)
	L.Push(t)
	return 1
}

func errTable(L *lua.LState, msg string) *lua.LTable {
	t := L.CreateTable(0, 1)
	t.RawSetString("err", lua.LString(msg))
	return t
}

func sha1hexLua(L *lua.LState) int {
	if L.GetTop() != 1 {
		raiseErr(L, "ERR wrong number of arguments")
	}
	// lua_tolstring: strings and numbers; anything else hashes as the empty string
	var b []byte
	switch v := L.Get(1).(type) {
	case lua.LString:
		b = []byte(v)
	case lua.LNumber:
		b = []byte(FormatNumber(float64(v)))
	}
	sum := sha1.Sum(b)
	L.Push(lua.LString(hex.EncodeToString(sum[:])))
	return 1
}

// SHA1Hex is the digest scripts are cached under.
func SHA1Hex(b []byte) string {
	sum := sha1.Sum(b)
	return hex.EncodeToString(sum[:])
}

// callArgs converts the arguments of redis.call and its siblings to the command's argv,
// or returns Redis's error for them. One buffer holds every argument: the host copies
// what it keeps, like command handlers do with the read buffer.
func (s *State) callArgs(L *lua.LState) ([][]byte, string) {
	n := L.GetTop()
	if n == 0 {
		return nil, "ERR Please specify at least one argument for this redis lib call"
	}
	buf := s.argBuf[:0]
	ends := s.ends[:0]
	for i := 1; i <= n; i++ {
		switch v := L.Get(i).(type) {
		case lua.LString:
			buf = append(buf, v...)
		case lua.LNumber:
			// Redis formats numeric arguments with "%.17g".
			buf = append(buf, formatG(float64(v), 17)...)
		default:
			s.argBuf, s.ends = buf, ends
			return nil, "ERR Lua redis lib command arguments must be strings or integers"
		}
		ends = append(ends, len(buf))
	}
	argv := s.argv[:0]
	start := 0
	for _, end := range ends {
		argv = append(argv, buf[start:end:end])
		start = end
	}
	s.argBuf, s.ends, s.argv = buf, ends, argv
	return argv, ""
}

// raiseErr raises a Redis error table, the form redis.call failures take.
func raiseErr(L *lua.LState, msg string) {
	L.Error(errTable(L, msg), 0)
}

func (s *State) redisLog(L *lua.LState) int {
	if L.GetTop() < 2 {
		raiseErr(L, "ERR redis.log() requires two arguments or more.")
	}
	lv, ok := L.Get(1).(lua.LNumber)
	if !ok {
		raiseErr(L, "ERR First argument must be a number (log level).")
	}
	level := int(lv)
	if level < LogDebug || level > LogWarning {
		raiseErr(L, "ERR Invalid debug level.")
	}
	var b strings.Builder
	for i := 2; i <= L.GetTop(); i++ {
		if i > 2 {
			b.WriteByte(' ')
		}
		switch v := L.Get(i).(type) {
		case lua.LString:
			b.WriteString(string(v))
		case lua.LNumber:
			b.WriteString(FormatNumber(float64(v)))
		}
	}
	if s.host != nil {
		s.host.Log(level, b.String())
	}
	return 0
}

func (s *State) setResp(L *lua.LState) int {
	if L.GetTop() != 1 {
		raiseErr(L, "ERR redis.setresp() requires one argument.")
	}
	v := L.Get(1)
	n, ok := v.(lua.LNumber)
	if !ok || (n != 2 && n != 3) {
		raiseErr(L, "ERR RESP version must be 2 or 3.")
	}
	s.Resp = int(n)
	return 0
}

func (s *State) setRepl(L *lua.LState) int {
	if L.GetTop() != 1 {
		raiseErr(L, "ERR redis.set_repl() requires two arguments.") // sic, Redis 7.0's words
	}
	// lua_tonumber, then a cast to int: what is no number is 0, REPL_NONE
	f, _ := toNumber(L.Get(1))
	n := ToInt64(f)
	if n&^int64(ReplAll) != 0 {
		raiseErr(L, "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
	}
	s.Repl = int(n)
	return 0
}

func (s *State) redisCall(L *lua.LState) int  { return s.genericCall(L, true) }
func (s *State) redisPcall(L *lua.LState) int { return s.genericCall(L, false) }

// genericCall is redis.call / redis.pcall: the arguments become a command line, the host
// runs it, and its reply is converted to Lua. call raises errors, pcall returns them.
func (s *State) genericCall(L *lua.LState, raise bool) int {
	argv, errMsg := s.callArgs(L)
	if errMsg != "" {
		if raise {
			raiseErr(L, errMsg)
		}
		L.Push(errTable(L, errMsg)) // redis.pcall returns its argument errors too
		return 1
	}
	if s.host == nil {
		raiseErr(L, "ERR redis.call is not available here")
	}
	reply, refusal := s.host.Call(argv, s.Resp)
	if refusal != "" {
		if raise {
			raiseErr(L, refusal)
		}
		L.Push(errTable(L, refusal))
		return 1
	}
	v, rest, ok := s.parseReply(reply, 0)
	_ = rest
	if !ok {
		raiseErr(L, "ERR unparsable reply from command")
	}
	if raise {
		if t, isT := v.(*lua.LTable); isT && len(reply) > 0 && reply[0] == '-' {
			L.Error(t, 0)
		}
	}
	L.Push(v)
	return 1
}

var crlf = []byte("\r\n")

// parseReply converts one RESP reply to the Lua value Redis gives scripts.
func (s *State) parseReply(b []byte, depth int) (lua.LValue, []byte, bool) {
	L := s.L
	if len(b) < 3 || depth > 1000 {
		return lua.LNil, nil, false
	}
	i := bytes.Index(b, crlf)
	if i < 0 {
		return lua.LNil, nil, false
	}
	line, rest := b[1:i], b[i+2:]
	switch b[0] {
	case '+':
		return s.statusTable(line), rest, true
	case '-':
		return errTable(L, string(line)), rest, true
	case ':':
		n, err := strconv.ParseInt(string(line), 10, 64)
		return lua.LNumber(n), rest, err == nil
	case '$', '=':
		n, err := strconv.Atoi(string(line))
		if err != nil {
			return lua.LNil, nil, false
		}
		if n < 0 {
			return lua.LFalse, rest, true
		}
		if len(rest) < n+2 {
			return lua.LNil, nil, false
		}
		str := string(rest[:n])
		rest = rest[n+2:]
		if b[0] == '=' {
			t := L.NewTable()
			vt := L.NewTable()
			format, body := "txt", str
			if len(str) >= 4 {
				format, body = str[:3], str[4:]
			}
			vt.RawSetString("string", lua.LString(body))
			vt.RawSetString("format", lua.LString(format))
			t.RawSetString("verbatim_string", vt)
			return t, rest, true
		}
		return lua.LString(str), rest, true
	case '*', '~', '%', '>':
		n, err := strconv.Atoi(string(line))
		if err != nil {
			return lua.LNil, nil, false
		}
		if n < 0 {
			return lua.LFalse, rest, true
		}
		var inner *lua.LTable
		if b[0] == '*' || b[0] == '>' {
			inner = L.CreateTable(min(n, 1024), 0)
		} else {
			inner = L.CreateTable(0, min(n, 1024))
		}
		for k := 0; k < n; k++ {
			var key, val lua.LValue
			var ok bool
			key, rest, ok = s.parseReply(rest, depth+1)
			if !ok {
				return lua.LNil, nil, false
			}
			switch b[0] {
			case '%':
				val, rest, ok = s.parseReply(rest, depth+1)
				if !ok {
					return lua.LNil, nil, false
				}
				inner.RawSet(key, val)
			case '~':
				inner.RawSet(key, lua.LTrue)
			default:
				inner.RawSetInt(k+1, key)
			}
		}
		switch b[0] {
		case '%':
			t := L.CreateTable(0, 1)
			t.RawSetString("map", inner)
			return t, rest, true
		case '~':
			t := L.CreateTable(0, 1)
			t.RawSetString("set", inner)
			return t, rest, true
		}
		return inner, rest, true
	case '_':
		return lua.LNil, rest, true
	case '#':
		return lua.LBool(len(line) > 0 && line[0] == 't'), rest, true
	case ',':
		f, _ := strconv.ParseFloat(strings.TrimSuffix(strings.ToLower(string(line)), "\x00"), 64)
		t := L.CreateTable(0, 1)
		t.RawSetString("double", lua.LNumber(f))
		return t, rest, true
	case '(':
		t := L.CreateTable(0, 1)
		t.RawSetString("big_number", lua.LString(line))
		return t, rest, true
	case '|':
		n, err := strconv.Atoi(string(line))
		if err != nil {
			return lua.LNil, nil, false
		}
		for k := 0; k < 2*n; k++ {
			var ok bool
			_, rest, ok = s.parseReply(rest, depth+1)
			if !ok {
				return lua.LNil, nil, false
			}
		}
		return s.parseReply(rest, depth)
	}
	return lua.LNil, nil, false
}
