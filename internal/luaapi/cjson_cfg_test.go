package luaapi

import (
	"math"
	"testing"

	"github.com/sard-kv/sard/internal/resp"
)

// The settings change what encode and decode do in the same script, with lua-cjson's
// argument errors.
func TestCjsonSettings(t *testing.T) {
	cases := []struct{ body, want string }{
		{"return {cjson.encode_max_depth(), cjson.decode_max_depth(), cjson.encode_number_precision()}", "*3\r\n:1000\r\n:1000\r\n:14\r\n"},
		{"cjson.encode_max_depth(2) return {pcall(cjson.encode, {{{1}}})}", "*2\r\n$-1\r\n$39\r\nCannot serialise, excessive nesting (3)\r\n"},
		{"cjson.decode_max_depth(2) return {pcall(cjson.decode, ' [[{}]]')}", "*2\r\n$-1\r\n$56\r\nFound too many nested data structures (3) at character 4\r\n"},
		{"cjson.encode_number_precision(3) return cjson.encode({1/3, 123456})", "$16\r\n[0.333,1.23e+05]\r\n"},
		{"cjson.encode_sparse_array(true) return cjson.encode({[20]=1})", "$8\r\n{\"20\":1}\r\n"},
		{"cjson.encode_sparse_array(false, 0) return #cjson.encode({[30]=1})", ":148\r\n"},
		{"cjson.encode_invalid_numbers(true) return cjson.encode({1/0, -1/0, 0/0})", "$14\r\n[inf,-inf,nan]\r\n"},
		{"cjson.encode_invalid_numbers('null') return cjson.encode({1/0})", "$6\r\n[null]\r\n"},
		{"return cjson.encode_invalid_numbers('null')", "$4\r\nnull\r\n"},
		{"cjson.decode_invalid_numbers(false) return {pcall(cjson.decode, '0x10')}", "*2\r\n$-1\r\n$54\r\nExpected value but found invalid number at character 1\r\n"},
		{"cjson.decode_invalid_numbers(false) return {pcall(cjson.decode, 'nan')}", "*2\r\n$-1\r\n$53\r\nExpected value but found invalid token at character 1\r\n"},
		{"return cjson.decode('0x10')", ":16\r\n"},
		{"return cjson.encode_max_depth(0)", "-ERR user_script:1: bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647) script: test, on @user_script:1."},
		{"return cjson.encode_number_precision(15)", "-ERR user_script:1: bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14) script: test, on @user_script:1."},
		{"return cjson.encode_sparse_array(nil, nil, -1)", "-ERR user_script:1: bad argument #1 to 'encode_sparse_array' (expected integer between 0 and 2147483647) script: test, on @user_script:1."},
		{"return cjson.encode_sparse_array(nil, 'x')", "-ERR user_script:1: bad argument #2 to 'encode_sparse_array' (number expected, got string) script: test, on @user_script:1."},
		{"return cjson.encode_invalid_numbers('x')", "-ERR user_script:1: bad argument #1 to 'encode_invalid_numbers' (invalid option 'x') script: test, on @user_script:1."},
		{"return cjson.decode_max_depth(1, 2)", "-ERR user_script:1: bad argument #2 to 'decode_max_depth' (found too many arguments) script: test, on @user_script:1."},
		{"return {pcall(cjson.encode_max_depth, 0)}", "*2\r\n$-1\r\n$66\r\nbad argument #1 to '?' (expected integer between 1 and 2147483647)\r\n"},
		{"return cjson.encode_max_depth(4294967297)", ":1\r\n"},
		{"local c = cjson.new() c.encode_max_depth(5) c.x = 1 return {cjson.encode_max_depth(), c.encode_max_depth(), c.x}", "*3\r\n:1000\r\n:5\r\n:1\r\n"},
	}
	for _, tc := range cases {
		if got := run(t, tc.body); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.body, got, tc.want)
		}
	}
}

// A setting outlives the script that made it, as Redis's does until SCRIPT FLUSH.
func TestCjsonSettingsPersist(t *testing.T) {
	st := New("user_script", nil)
	defer st.Close()
	call := func(body string) string {
		fn, err := st.Compile(body)
		if err != nil {
			t.Fatal(err)
		}
		var w resp.Writer
		w.Proto = 2
		if msg := st.Call(fn, "test", &w); msg != "" {
			return "-" + msg
		}
		return string(w.Buf)
	}
	call("cjson.encode_number_precision(2) cjson.encode_max_depth(1)")
	if got := call("return {cjson.encode({1/3}), cjson.encode_max_depth()}"); got != "*2\r\n$6\r\n[0.33]\r\n:1\r\n" {
		t.Fatalf("second script got %q", got)
	}
}

func TestStrtod(t *testing.T) {
	for _, tc := range []struct {
		in string
		f  float64
		n  int
	}{{"12x", 12, 2}, {"-.5", -0.5, 3}, {"1.", 1, 2}, {"1e", 1, 1}, {"1e+5", 1e5, 4}, {"0x", 0, 1},
		{"0x10", 16, 4}, {"0x1p3", 8, 5}, {"0x.8", 0.5, 4}, {"-Infinity", math.Inf(-1), 9}, {"infx", math.Inf(1), 3},
		{".", 0, 0}, {"-", 0, 0}, {"--1", 0, 0}, {"e5", 0, 0}, {"1e400", math.Inf(1), 5}} {
		f, n := strtod(tc.in)
		if n != tc.n || f != tc.f {
			t.Errorf("strtod(%q) = %v, %d; want %v, %d", tc.in, f, n, tc.f, tc.n)
		}
	}
	if f, n := strtod("nan"); !math.IsNaN(f) || n != 3 {
		t.Errorf("strtod(nan) = %v, %d", f, n)
	}
}
