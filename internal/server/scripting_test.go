package server

import (
	"strings"
	"testing"
	"time"

	"github.com/sard-kv/sard/internal/luaapi"
)

func TestScriptEffectsPropagation(t *testing.T) {
	e := newKVEnv(t)
	// one write: the command alone; EVAL itself is never propagated in 7.0
	e.expect("+OK\r\n", "EVAL", "return redis.call('set', KEYS[1], 'v')", "1", "k")
	e.expectStream("SELECT 0", "set k v") // argv as the script wrote it, as Redis propagates
	// several writes: one MULTI/EXEC block
	e.expect(kvInt(2), "EVAL", "redis.call('set', 'a', '1') return redis.call('incr', 'a')", "0")
	e.expectStream("MULTI", "set a 1", "incr a", "EXEC")
	// reads only: nothing
	e.expect(kvBulk("2"), "EVAL", "return redis.call('get', 'a')", "0")
	e.expectStream()
	// redis.set_repl(REPL_NONE) keeps the effects local
	e.expect(kvInt(3), "EVAL", "redis.set_repl(redis.REPL_NONE) return redis.call('incr', 'a')", "0")
	e.expectStream()
	// SELECT inside a script changes the script's database, not the caller's
	e.expect("+OK\r\n", "EVAL", "redis.call('select', '1') return redis.call('set', 'x', 'y')", "0")
	e.expectStream("SELECT 1", "set x y")
	e.expect(kvNull, "GET", "x")
	// functions propagate the same way; FUNCTION LOAD itself is propagated
	e.expect(kvBulk("l"), "FUNCTION", "LOAD", "#!lua name=l\nredis.register_function('w', function(k) redis.call('set', k[1], 'a') return redis.call('append', k[1], 'b') end)")
	e.expectStream("SELECT 0", "FUNCTION LOAD #!lua name=l\nredis.register_function('w', function(k) redis.call('set', k[1], 'a') return redis.call('append', k[1], 'b') end)")
	e.expect(kvInt(2), "FCALL", "w", "1", "f")
	e.expectStream("MULTI", "set f a", "append f b", "EXEC")
}

// TestScriptSandbox tries the ways out of the sandbox; each must fail with Redis's error
// and leave the server usable.
func TestScriptSandbox(t *testing.T) {
	e := newKVEnv(t)
	e.s.scripts.maxRun = 2 * time.Second
	cases := []struct{ body, want string }{
		{"x = 1", "Attempt to modify a readonly table"},
		{"rawset(_G, 'x', 1)", "Attempt to modify a readonly table"},
		{"setmetatable(_G, {})", "Attempt to modify a readonly table"},
		{"_G.redis = nil", "Attempt to modify a readonly table"},
		{"return os.execute('true')", "nonexistent global variable 'os'"},
		{"return io.open('/etc/passwd')", "nonexistent global variable 'io'"},
		{"return require('os')", "nonexistent global variable 'require'"},
		{"return dofile('/etc/passwd')", "nonexistent global variable 'dofile'"},
		{"return loadfile('/etc/passwd')", "nonexistent global variable 'loadfile'"},
		{"return setfenv(1, {})", "nonexistent global variable 'setfenv'"},
		{"return debug.getinfo(1)", "nonexistent global variable 'debug'"},
		{"return package.loaded", "nonexistent global variable 'package'"},
		{"return getfenv(1)", "nonexistent global variable 'getfenv'"},
		{"local f = loadstring('\\27Lua') return f == nil", ":1\r\n"},
		{"local f = loadstring('x = 1') return f()", "Attempt to modify a readonly table"},
		{"return string.rep('x', 1024*1024*1024)", "not enough memory"},
		{"return string.rep('xxxxxxxx', 2^40)", "not enough memory"},
		{"return string.format('%99999999d', 1)", "invalid format"},
		{"while true do end", "Script killed by user"},
		{"coroutine.wrap(function() while true do end end)()", "Script killed by user"},
		{"local t = {} while true do t[#t+1] = 1 end", "Script killed by user"},
		{"local function f() return f() + 1 end return f()", "stack overflow"},
		{"local t = {} t[1] = t return t", "reached lua stack limit"},
		{"return cjson.decode(string.rep('[', 2000))", "too many nested"},
		{"local t = {} t[1] = t return cjson.encode(t)", "excessive nesting"},
		{"return cmsgpack.unpack(string.rep('\\221', 10))", "Missing bytes"},
		{"return struct.pack('i40', 1)", "larger than limit"},
		{"return getmetatable('').__index.rep('x', 2^40)", "not enough memory"},
	}
	for _, tc := range cases {
		got := e.do("EVAL", tc.body, "0")
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want it to contain %q", tc.body, got, tc.want)
		}
	}
	e.expect("+PONG\r\n", "PING")
	e.expect(kvInt(1), "EVAL", "return 1", "0")
}

func TestScriptErrorsCarryLine(t *testing.T) {
	e := newKVEnv(t)
	body := "\n\nreturn redis.call('incr')"
	e.expect("-ERR Wrong number of args calling Redis command from script script: "+luaapi.SHA1Hex([]byte(body))+", on @user_script:3.\r\n",
		"EVAL", body, "0")
}

// FuzzEval runs arbitrary script bodies: none may panic the handler or hang the server.
func FuzzEval(f *testing.F) {
	for _, seed := range []string{
		"return 1", "return redis.call('set', 'a', 'b')", "return {1,{2,{3}}}", "error({})",
		"error({err=12})", "return cjson.decode('[1,{\"a\":null}]')", "return cmsgpack.unpack('\\x93\\x01')",
		"return struct.unpack('>i4c0', 'abcd')", "local t = setmetatable({}, {__index=function() error('x') end}) return t.x",
		"return redis.pcall('nosuch')", "return bit.tohex(-1, -100)", "return {map={a={set={b=true}}}}",
		"return {verbatim_string={format=1}}", "return redis.setresp(3) or redis.call('hgetall', 'h')",
		"return string.format('%q', '\\0')", "for i=1,10 do redis.call('rpush', 'l', i) end return redis.call('lrange', 'l', 0, -1)",
		"#!lua flags=no-writes\nreturn redis.call('set','x','y')", "return newproxy", "return tostring(cjson.null)",
		"for i = ARGV[1], '3', KEYS[1] do end", "string.rep = nil", "rawset(getmetatable(''), 'x', 1)",
		"local t = setmetatable({}, getmetatable('')) return t.rep('a', 2)", "for k, v in pairs(_G) do end",
		"table.insert(redis, 1)", "return (ARGV[1] == 'x' and cjson or string).rep('a', 2)",
		"local co = coroutine.create(function(a) local b = coroutine.yield(a) return pcall(coroutine.yield, b) end) return {coroutine.resume(co, 1), coroutine.resume(co, 2), coroutine.resume(co)}",
		"local t = {} return t.x.y .. t", "return {xpcall(function() local u = {} return -u end, function(e) return e end)}",
	} {
		f.Add(seed)
	}
	e := newKVEnv(f)
	e.s.scripts.maxRun = 200 * time.Millisecond
	f.Fuzz(func(t *testing.T, body string) {
		e.t = t
		got := e.do("EVAL", body, "1", "k", "arg")
		if got == "" {
			t.Fatalf("no reply for %q", body)
		}
		if e.do("PING") != "+PONG\r\n" {
			t.Fatalf("server unusable after %q", body)
		}
		// the libraries are read-only: no script can change what the next one sees
		if got := e.do("EVAL", "return {string.rep('a', 2), type(redis.call), tostring(math.pi)}", "0"); got != "*3\r\n$2\r\naa\r\n$8\r\nfunction\r\n$15\r\n3.1415926535898\r\n" {
			t.Fatalf("libraries changed by %q: %q", body, got)
		}
	})
}

// BenchmarkEvalSha is the EVALSHA of a three-command script, in process.
func BenchmarkEvalSha(b *testing.B) {
	e := newKVEnv(b)
	body := "redis.call('set', KEYS[1], ARGV[1]) redis.call('incr', 'cnt') return redis.call('get', KEYS[1])"
	sha := e.do("SCRIPT", "LOAD", body)
	sha = sha[strings.Index(sha, "\n")+1 : len(sha)-2]
	argv := [][]byte{[]byte("EVALSHA"), []byte(sha), []byte("1"), []byte("key"), []byte("val")}
	s := e.s
	s.prop.consumers = nil // no replica or AOF: measure the script, not the recorder
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.mu.Lock()
		e.c.argv = argv
		s.processCommand(e.c)
		e.c.w.Buf = e.c.w.Buf[:0]
		s.mu.Unlock()
	}
}
