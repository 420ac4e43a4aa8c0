package luaapi

import (
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/sard-kv/sard/internal/resp"
)

// The messages below were taken from redis-server 7.0.15 (C Lua 5.1); the differential
// corpus test/diff/testdata/scripting_parse.txt checks many more against it.
func TestSyntaxMessages(t *testing.T) {
	cases := []struct{ src, want string }{
		{"return 1e", "user_script:1: malformed number near '1e'"},
		{"return 1..2", "user_script:1: malformed number near '1..2'"},
		{"return 0x", "user_script:1: malformed number near '0x'"},
		{`return "\300"`, `user_script:1: escape sequence too large near '"'`},
		{"return \"abc\nx", `user_script:1: unfinished string near '"abc'`},
		{`return "abc`, "user_script:1: unfinished string near '<eof>'"},
		{"x x", "user_script:1: '=' expected near 'x'"},
		{"return 1 end", "user_script:1: '<eof>' expected near 'end'"},
		{"function f()\n", "user_script:2: 'end' expected (to close 'function' at line 1) near '<eof>'"},
		{"f\n(g)", "user_script:2: ambiguous syntax (function call x new statement) near '('"},
		{"(x)", "user_script:1: syntax error near '<eof>'"},
		{"return \x01", "user_script:1: unexpected symbol near 'char(1)'"},
		{"return \x00", "user_script:1: unexpected symbol"},
		{"break", "user_script:1: no loop to break near '<eof>'"},
		{"return function() return ... end", "user_script:1: cannot use '...' outside a vararg function near '...'"},
		{"--[[ x", "user_script:1: unfinished long comment near '<eof>'"},
		{"return [=a", "user_script:1: invalid long string delimiter near '[='"},
		{"return {x=1 y=2}", "user_script:1: '}' expected near 'y'"},
		{"return function(a, 1) end", "user_script:1: <name> or '...' expected near '1'"},
		{"x" + strings.Repeat(",x", 200) + "=1", "user_script:1: main function has more than 199 variables in assignment"},
		{strings.Repeat("do ", 200) + strings.Repeat(" end", 200), "user_script:1: chunk has too many syntax levels"},
	}
	for _, tc := range cases {
		_, err := checkChunk(tc.src, "user_script", 0)
		if err == nil || err.msg != tc.want {
			t.Errorf("%q: got %v, want %q", tc.src, err, tc.want)
		}
	}
}

func TestSyntaxAccepts(t *testing.T) {
	cases := []struct{ body, want string }{
		{"return ...", "$-1\r\n"},
		{"return select('#', ...)", ":0\r\n"},
		{"return 0x1p4", ":16\r\n"},
		{"return 0x10..''", "$2\r\n16\r\n"},
		{"return tostring(.5 + 5.)", "$3\r\n5.5\r\n"},
		{"local goto = 3 return goto", ":3\r\n"},
		{"local t = {goto = 4} return t.goto", ":4\r\n"},
		{"return\v1\f+\f2", ":3\r\n"},
		{"--[=x\nreturn 2", ":2\r\n"},
		{"return tostring(1e999)", "$3\r\ninf\r\n"},
	}
	for _, tc := range cases {
		st := New("user_script", nil)
		fn, err := st.CompileFunction(tc.body)
		if err != nil {
			t.Errorf("%q: %v", tc.body, err)
			st.Close()
			continue
		}
		got := callReply(st, fn)
		if got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.body, got, tc.want)
		}
		st.Close()
	}
}

func callReply(st *State, fn *lua.LFunction) string {
	var w resp.Writer
	w.Proto = 2
	if msg := st.Call(fn, "test", &w); msg != "" {
		return "-" + msg
	}
	return string(w.Buf)
}

func TestChunkID(t *testing.T) {
	long := strings.Repeat("n", 100)
	cases := map[string]string{
		"x x":       `[string "x x"]`,
		"=foo":      "foo",
		"@foo":      "foo",
		"a\nb":      `[string "a..."]`,
		"=" + long:  long[:79],
		"@" + long:  "..." + long[:72],
		long:        `[string "` + long[:63] + `..."]`,
		"":          `[string ""]`,
		"\nx":       `[string "..."]`,
		long[:63]:   `[string "` + long[:63] + `"]`,
		long[:64]:   `[string "` + long[:63] + `..."]`,
		"@" + "abc": "abc",
	}
	for in, want := range cases {
		if got := chunkID(in); got != want {
			t.Errorf("chunkID(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzLuaSyntax runs the C Lua 5.1 syntax check on arbitrary input: it must never panic,
// and whatever it accepts gopher-lua must compile once rewritten (the check is the one
// that refuses; gopher-lua only compiles). Known gaps are skipped: gopher-lua's 200
// registers in all, goto after ':' (a method of that name).
func FuzzLuaSyntax(f *testing.F) {
	for _, s := range []string{
		"return 1", "x x", "return 1e", "return 0x1p4", "return ...", "local goto = 1",
		"f\n(g)", "return [==[ a ]] ]==]", "--[=x\nreturn 1", "return \"\\300\"",
		"local t = {a = 1, [2] = 3; 4} return t.a", "function a.b:c(...) return ... end",
		"for i = 1, 2 do break end", "repeat local x until x", "return a.b.c:d'x'{1}",
		"if a then elseif b then else end", "return not - # 1 ^ 2 .. 3 == 4 and 5 or 6",
		"return 0x10..''", "x, y.z, w[1] = 1, 2", "local function f() return f end",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		c, serr := checkChunk(src, "user_script", 0)
		if serr != nil {
			if !strings.HasPrefix(serr.msg, "user_script:") {
				t.Fatalf("%q: message %q", src, serr.msg)
			}
			return
		}
		out := c.rewritten()
		head := "return function() "
		if c.mainVararg {
			head = "return function(...) "
		}
		chunk, err := parse.Parse(strings.NewReader(head+out+"\nend"), "user_script")
		if err == nil {
			_, err = lua.Compile(chunk, "user_script")
		}
		if err != nil {
			if strings.Contains(err.Error(), "register overflow") || strings.Contains(src, "goto") {
				return
			}
			t.Fatalf("%q accepted, rewritten %q, gopher-lua: %v", src, out, err)
		}
	})
}

// benchScript is a script of the usual kind: a few locals, a loop, calls and strings.
const benchScript = `-- rate limiter
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2]) * 1000
local now = redis.call('TIME')
local t = now[1] * 1000 + math.floor(now[2] / 1000)
redis.call('ZREMRANGEBYSCORE', key, 0, t - window)
local n = redis.call('ZCARD', key)
if n >= limit then
  return {0, n, "over the limit: " .. n .. "/" .. limit}
end
for i = 1, 3 do
  local f = function(a, b) return a + b * 2 ^ i end
  n = f(n, 0x10)
end
redis.call('ZADD', key, t, t .. '-' .. math.random(1, 1e6))
redis.call('PEXPIRE', key, window)
return {1, n, [[done]]}
`

// BenchmarkCheckSyntax is the C Lua syntax check alone; BenchmarkCompileFunction the whole
// compile of an EVAL body (check, gopher-lua parse and compile, global folding).
func BenchmarkCheckSyntax(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := checkChunk(benchScript, "user_script", 0); err != nil {
			b.Fatal(err.msg)
		}
	}
}

func BenchmarkCompileFunction(b *testing.B) {
	st := New("user_script", nil)
	defer st.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.CompileFunction(benchScript); err != nil {
			b.Fatal(err)
		}
	}
}
