package luaapi

import (
	"strings"
	"testing"

	"github.com/sard-kv/sard/internal/resp"
)

// run evaluates body in a fresh state without a host and returns the RESP2 reply.
func run(t *testing.T, body string) string {
	t.Helper()
	st := New("user_script", nil)
	defer st.Close()
	fn, err := st.Compile(body)
	if err != nil {
		return "compile: " + err.Error()
	}
	var w resp.Writer
	w.Proto = 2
	if msg := st.Call(fn, "test", &w); msg != "" {
		return "-" + msg
	}
	return string(w.Buf)
}

func TestLibraries(t *testing.T) {
	cases := []struct{ body, want string }{
		{"return cjson.encode({1,2,{a=1.5}})", "$15\r\n[1,2,{\"a\":1.5}]\r\n"},
		{"return cjson.encode({})", "$2\r\n{}\r\n"},
		{"return cjson.encode({1/3})", "$18\r\n[0.33333333333333]\r\n"},
		{"return cjson.encode(cjson.decode('{\"a\":[1,\"x\",null,true]}'))", "$23\r\n{\"a\":[1,\"x\",null,true]}\r\n"},
		{"return cjson.decode('\"\\\\ud83d\\\\ude00\"')", "$4\r\n\xf0\x9f\x98\x80\r\n"},
		{"return cmsgpack.pack({1,2,3})", "$4\r\n\x93\x01\x02\x03\r\n"},
		{"return cmsgpack.pack(-1, 200, 1.5)", "$8\r\n\xff\xcc\xc8\xca\x3f\xc0\x00\x00\r\n"},
		{"local a, b = cmsgpack.unpack(cmsgpack.pack('x', {k='v'})) return {a, b.k}", "*2\r\n$1\r\nx\r\n$1\r\nv\r\n"},
		{"return bit.tohex(bit.bxor(0xf0f0, 0x0ff0), 4)", "$4\r\nff00\r\n"},
		{"return bit.tobit(0xffffffff)", ":-1\r\n"},
		{"return struct.pack('>I2<I2', 258, 258)", "$4\r\n\x01\x02\x02\x01\r\n"},
		{"return {struct.unpack('>h', '\\255\\254')}", "*2\r\n:-2\r\n:3\r\n"},
		{"return struct.size('!4bi4')", ":8\r\n"},
		{"return tostring(123456789012345)", "$19\r\n1.2345678901234e+14\r\n"},
		{"return tostring(-0.0)", "$2\r\n-0\r\n"},
		{"return redis.sha1hex('abc')", "$40\r\na9993e364706816aba3e25717850c26c9cd0d89d\r\n"},
		{"return {redis.status_reply('X'), redis.error_reply('E y')}", "*2\r\n+X\r\n-E y\r\n"},
		{"return nosuch", "-ERR user_script:1: Script attempted to access nonexistent global variable 'nosuch' script: test, on @user_script:1."},
		{"\nerror('x')", "-ERR user_script:2: x script: test, on @user_script:2."},
		{"return redis.call('ping')", "-ERR redis.call is not available here script: test, on @user_script:1."},
	}
	for _, tc := range cases {
		if got := run(t, tc.body); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.body, got, tc.want)
		}
	}
}

func TestFormatG(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		prec int
		want string
	}{{0.1, 17, "0.10000000000000001"}, {1e20, 17, "1e+20"}, {100, 14, "100"}, {1.5e-7, 14, "1.5e-07"}, {123456789012345678, 17, "1.2345678901234568e+17"}} {
		if got := formatG(tc.f, tc.prec); got != tc.want {
			t.Errorf("formatG(%v, %d) = %q, want %q", tc.f, tc.prec, got, tc.want)
		}
	}
}

func TestCompileMessage(t *testing.T) {
	st := New("user_script", nil)
	defer st.Close()
	_, err := st.Compile("return +")
	if err == nil || !strings.HasPrefix(err.Error(), "user_script:1:") {
		t.Fatalf("compile error %v, want it to start with the chunk and line", err)
	}
}
