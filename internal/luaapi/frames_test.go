package luaapi

import (
	"strings"
	"testing"
)

// The frame layout copied from gopher-lua must match the library's, or every message
// loses its variable names (and coroutines cannot yield).
func TestFrameLayoutMatchesGopherLua(t *testing.T) {
	if !frameLayoutOK {
		t.Fatal("gopher-lua's callFrame layout changed: update callFrame in frames.go")
	}
}

func TestRuntimeErrorNames(t *testing.T) {
	cases := []struct{ body, want string }{
		{"local t return t.x", "attempt to index local 't' (a nil value)"},
		{"local t = {} return t.a.b", "attempt to index field 'a' (a nil value)"},
		{"local t = {} t.rep()", "attempt to call field 'rep' (a nil value)"},
		{"local t = {} t:m()", "attempt to call method 'm' (a nil value)"},
		{"local t = {} return t.x + 1", "attempt to perform arithmetic on field 'x' (a nil value)"},
		{"local u = {} return (function() return 'a' .. u end)()", "attempt to concatenate upvalue 'u' (a table value)"},
		{"local x = {} return #x.y", "attempt to get length of field 'y' (a nil value)"},
		{"return string.rep()", "bad argument #1 to 'rep' (string expected, got no value)"},
		{"return ('x'):rep()", "bad argument #1 to 'rep' (number expected, got no value)"},
		{"local t = {f = string.rep} return t:f()", "calling 'f' on bad self (string expected, got table)"},
		{"return math.max()", "bad argument #1 to 'max' (number expected, got no value)"},
		{"local ok, e = pcall(string.rep) return e", "bad argument #1 to '?' (string expected, got no value)"},
		{"return nil + 1", "attempt to perform arithmetic on a nil value"},
	}
	for _, tc := range cases {
		if got := run(t, tc.body); !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.body, got, tc.want)
		}
	}
}

// A closure made inside a failed pcall keeps its upvalues: the handler must not leave
// them open on registers the caller reuses.
func TestPcallClosesUpvalues(t *testing.T) {
	body := "local f pcall(function() local x = 41 f = function() x = x + 1 return x end error('e') end) local a = {1,2,3,4,5,6} return f()"
	if got := run(t, body); got != ":42\r\n" {
		t.Fatalf("got %q", got)
	}
}
