package integration

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sard-kv/sard/internal/testutil"
)

// protoScript exercises reply types whose encoding differs between RESP2 and RESP3 (nulls,
// nested arrays, errors, integers) using only long-standing core commands.
var protoScript = [][]string{
	{"PING"},
	{"PING", "hello"},
	{"ECHO", ""},
	{"SET", "k", "v"},
	{"GET", "k"},
	{"GET", "nokey"},
	{"INCR", "n"},
	{"INCRBY", "n", "-10"},
	{"INCRBYFLOAT", "f", "1.5"},
	{"MGET", "k", "nokey", "n"},
	{"EXISTS", "k", "nokey", "k"},
	{"TTL", "k"},
	{"TTL", "nokey"},
	{"SET", "k", "w", "GET"},
	{"SET", "k2", "v", "NX", "GET"},
	{"SCAN", "0", "MATCH", "zzz*"},
	{"DEL", "k", "nokey"},
	{"GET"},
	{"NOSUCHCOMMAND", "a", "b"},
	{"INCR", "k2"},
	{"SELECT", "99"},
}

// TestRESP2AndRESP3 runs the same script on sard and redis-server in both protocols (RESP3
// through HELLO 3) and compares every reply byte for byte.
func TestRESP2AndRESP3(t *testing.T) {
	t.Parallel()
	sard := testutil.StartSard(t)
	redis := testutil.StartRedis(t)
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			sc, rc := sard.Raw(), redis.Raw()
			for _, c := range []*testutil.RawConn{sc, rc} {
				if _, err := c.Do("FLUSHALL"); err != nil {
					t.Fatal(err)
				}
			}
			sh, err1 := sc.Do("HELLO", itoa(proto))
			rh, err2 := rc.Do("HELLO", itoa(proto))
			if err1 != nil || err2 != nil {
				t.Fatalf("HELLO %d: sard %v, redis %v", proto, err1, err2)
			}
			checkHello(t, sh, rh, proto)
			for _, cmd := range protoScript {
				got, err := sc.Do(cmd...)
				want, _ := rc.Do(cmd...)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%q: sard %q (err %v), redis %q", cmd, got, err, want)
				}
			}
		})
	}
}

// checkHello compares HELLO replies field by field, since id and version legitimately differ.
func checkHello(t *testing.T, got, want []byte, proto int) {
	t.Helper()
	gh, ge, err := testutil.SplitReply(got)
	if err != nil {
		t.Fatalf("HELLO reply %q: %v", got, err)
	}
	wh, we, _ := testutil.SplitReply(want)
	if !bytes.Equal(gh, wh) || len(ge) != len(we) {
		t.Fatalf("HELLO %d header %q with %d elements, redis %q with %d", proto, gh, len(ge), wh, len(we))
	}
	for i := 0; i+1 < len(ge); i += 2 {
		if !bytes.Equal(ge[i], we[i]) {
			t.Errorf("HELLO field %d = %q, redis %q", i/2, ge[i], we[i])
			continue
		}
		switch string(ge[i]) {
		case "$2\r\nid\r\n", "$7\r\nversion\r\n":
		default:
			if !bytes.Equal(ge[i+1], we[i+1]) {
				t.Errorf("HELLO %q = %q, redis %q", ge[i], ge[i+1], we[i+1])
			}
		}
	}
}

// TestInlineCommands sends telnet-style requests, as `printf ... | nc` would.
func TestInlineCommands(t *testing.T) {
	t.Parallel()
	sard := testutil.StartSard(t)
	redis := testutil.StartRedis(t)
	raw := "SET a b\r\nGET a\r\n" +
		"PING\n" + // a bare LF ends an inline request too
		"  ECHO   spaced   \r\n" +
		`SET "x y" "a\x41\tb"` + "\r\n" +
		`GET "x y"` + "\r\n" +
		`SET q 'it\'s'` + "\r\n" +
		"\r\n" + // an empty line is ignored, no reply
		"GET q\r\n" +
		"EXISTS a q nothing\r\n"
	const replies = 9
	read := func(s *testutil.Server) [][]byte {
		rc := s.Raw()
		if err := rc.Send([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		return drain(t, rc, replies)
	}
	got, want := read(sard), read(redis)
	if string(got[0]) != "+OK\r\n" || string(got[1]) != "$1\r\nb\r\n" {
		t.Errorf("SET a b / GET a inline: %q %q, want +OK and b", got[0], got[1])
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("inline reply %d: sard %q, redis %q", i, got[i], want[i])
		}
	}
}

// TestPipeline10000 writes 10,000 commands in one write and expects 10,000 replies in order.
func TestPipeline10000(t *testing.T) {
	t.Parallel()
	sard := testutil.StartSard(t)
	const n = 10000
	var buf bytes.Buffer
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			buf.Write(testutil.EncodeCommand("INCR", "ctr"))
		} else {
			buf.Write(testutil.EncodeCommand("ECHO", itoa(i)))
		}
	}
	rc := sard.Raw()
	go rc.Send(buf.Bytes()) // the server may answer before the write ends
	for i := 0; i < n; i++ {
		got, err := rc.ReadReply()
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		var want string
		if i%2 == 0 {
			want = fmt.Sprintf(":%d\r\n", i/2+1)
		} else {
			want = fmt.Sprintf("$%d\r\n%d\r\n", len(itoa(i)), i)
		}
		if string(got) != want {
			t.Fatalf("reply %d = %q, want %q", i, got, want)
		}
	}
}

// TestLargeValue stores a 100 MB value and reads its length and edges back.
func TestLargeValue(t *testing.T) {
	t.Parallel()
	sard := testutil.StartSard(t)
	const size = 100 << 20
	val := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	copy(val[size-3:], "END")
	rc := sard.Raw()
	rc.Timeout = 60 * time.Second
	got, err := func() ([]byte, error) {
		// three writes, so the test does not hold a second 100 MB copy
		for _, part := range [][]byte{[]byte(fmt.Sprintf("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n", size)), val, []byte("\r\n")} {
			if err := rc.Send(part); err != nil {
				return nil, err
			}
		}
		return rc.ReadReply()
	}()
	if err != nil || string(got) != "+OK\r\n" {
		t.Fatalf("SET of %d bytes = %q, %v", size, got, err)
	}
	if got, err := rc.Do("STRLEN", "big"); err != nil || string(got) != fmt.Sprintf(":%d\r\n", size) {
		t.Fatalf("STRLEN = %q, %v; want %d", got, err, size)
	}
	if got, err := rc.Do("GETRANGE", "big", "-3", "-1"); err != nil || string(got) != "$3\r\nEND\r\n" {
		t.Fatalf("GETRANGE of the tail = %q, %v", got, err)
	}
}

// TestProtoMaxBulkLen lowers proto-max-bulk-len: a bulk of exactly the limit is accepted, one
// byte more is a protocol error that closes that connection only.
func TestProtoMaxBulkLen(t *testing.T) {
	t.Parallel()
	sard := testutil.StartSard(t, "--proto-max-bulk-len", "1mb")
	other := sard.Raw()
	if got, err := other.Do("SET", "k", "v"); err != nil || string(got) != "+OK\r\n" {
		t.Fatalf("SET = %q, %v", got, err)
	}
	ok := sard.Raw()
	if got, err := ok.Do("SET", "edge", strings.Repeat("x", 1<<20)); err != nil || string(got) != "+OK\r\n" {
		t.Fatalf("SET of exactly 1mb = %q, %v", got, err)
	}
	got, closed := exchange(t, sard.Addr, []byte(fmt.Sprintf("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n", 1<<20+1)), 5*time.Second)
	if string(got) != "-ERR Protocol error: invalid bulk length\r\n" || !closed {
		t.Errorf("over-size bulk: got %q, closed=%v; want -ERR Protocol error: invalid bulk length and a close", got, closed)
	}
	if got, err := other.Do("GET", "k"); err != nil || string(got) != "$1\r\nv\r\n" {
		t.Errorf("another client after the protocol error: GET = %q, %v", got, err)
	}
}

// malformed are requests Redis answers with a protocol error (and closes), or silently ignores.
var malformed = []struct {
	name, raw string
}{
	{"multibulk-len-not-number", "*abc\r\n"},
	{"multibulk-len-huge", "*3000000000\r\n"},
	{"multibulk-len-over-1M", "*1048577\r\n"},
	{"multibulk-negative", "*-1\r\nPING\r\n"},
	{"multibulk-zero", "*0\r\nPING\r\n"},
	{"expected-dollar", "*1\r\nfoo\r\n"},
	{"expected-dollar-int", "*2\r\n$4\r\nECHO\r\n:5\r\n"},
	{"bulk-len-not-number", "*1\r\n$abc\r\n"},
	{"bulk-len-negative", "*1\r\n$-1\r\n"},
	{"bulk-len-over-512mb", "*1\r\n$536870913\r\n"},
	{"bulk-no-crlf-after", "*1\r\n$4\r\nPINGXY*1\r\n$4\r\nPING\r\n"},
	{"mbulk-count-too-long", "*" + strings.Repeat("1", 70000)},
	{"bulk-count-too-long", "*1\r\n$" + strings.Repeat("1", 70000)},
	{"inline-too-big", strings.Repeat("a", 70000)},
	{"inline-unbalanced-double", "SET \"a b\r\n"},
	{"inline-unbalanced-single", "SET 'a b\r\n"},
	{"inline-quote-then-char", "SET \"a\"b c\r\n"},
	{"inline-nul", "\x00\r\n"},
	{"inline-then-bad-multibulk", "PING\r\n*x\r\n"},
}

// TestMalformedRequests sends each malformed request to sard and to redis-server on a fresh
// connection: the bytes sent back and whether the connection is closed must match.
func TestMalformedRequests(t *testing.T) {
	t.Parallel()
	sard := testutil.StartSard(t)
	redis := testutil.StartRedis(t)
	for _, tc := range malformed {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want, wclosed := exchange(t, redis.Addr, []byte(tc.raw), time.Second)
			got, closed := exchange(t, sard.Addr, []byte(tc.raw), time.Second)
			if !bytes.Equal(got, want) || closed != wclosed {
				t.Errorf("sent %.60q: sard %q closed=%v; redis %q closed=%v", tc.raw, got, closed, want, wclosed)
			}
		})
	}
	if !sard.Running() {
		t.Fatal("sard exited during the malformed requests")
	}
}

// TestUnauthenticatedLimits checks Redis 7.0's caps on what an unauthenticated client may
// send when a password is set: 10 arguments, 16 KB bulks.
func TestUnauthenticatedLimits(t *testing.T) {
	t.Parallel()
	sard := testutil.StartSard(t, "--requirepass", "pw")
	redis := testutil.StartRedis(t, "--requirepass", "pw")
	elevenArgs := testutil.EncodeCommand("MSET", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5")
	tenArgs := testutil.EncodeCommand("MSET", "a", "1", "b", "2", "c", "3", "d", "4", "e")
	bigBulk := testutil.EncodeCommand("SET", "k", strings.Repeat("v", 20000))
	cases := []struct {
		name string
		raw  []byte
		want string // literal Redis 7.0 text; the oracle is compared too
	}{
		{"eleven-args", elevenArgs, "-ERR Protocol error: unauthenticated multibulk length\r\n"},
		{"ten-args", tenArgs, "-NOAUTH Authentication required.\r\n"},
		{"20000-byte-bulk", bigBulk, "-ERR Protocol error: unauthenticated bulk length\r\n"},
		{"authed-eleven-args", append(testutil.EncodeCommand("AUTH", "pw"), elevenArgs...), "+OK\r\n+OK\r\n"},
		{"authed-big-bulk", append(testutil.EncodeCommand("AUTH", "pw"), bigBulk...), "+OK\r\n+OK\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want, wclosed := exchange(t, redis.Addr, tc.raw, time.Second)
			got, closed := exchange(t, sard.Addr, tc.raw, time.Second)
			if string(want) != tc.want {
				t.Fatalf("redis-server answers %q, the test expects %q", want, tc.want)
			}
			if string(got) != tc.want || closed != wclosed {
				t.Errorf("sard %q closed=%v; redis %q closed=%v", got, closed, want, wclosed)
			}
		})
	}
}

// TestQueryBufferLimit streams a bulk that never ends to a server with a 1mb query buffer
// limit: that client is closed and the server keeps serving others.
func TestQueryBufferLimit(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"sard", "redis"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var s *testutil.Server
			if name == "sard" {
				s = testutil.StartSard(t, "--client-query-buffer-limit", "1mb")
			} else {
				s = testutil.StartRedis(t, "--client-query-buffer-limit", "1mb")
			}
			other := s.Raw()
			c := s.Dial()
			c.SetWriteDeadline(time.Now().Add(20 * time.Second))
			c.Write([]byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000000\r\n"))
			chunk := bytes.Repeat([]byte("x"), 64<<10)
			closed := false
			for sent := 0; sent < 64<<20; sent += len(chunk) { // bounded: 64 MB at most
				if _, err := c.Write(chunk); err != nil {
					closed = true
					break
				}
			}
			if !closed {
				closed = isClosed(c, 3*time.Second)
			}
			if !closed {
				t.Errorf("%s kept a client whose query buffer passed 1mb", name)
			}
			if got, err := other.Do("PING"); err != nil || string(got) != "+PONG\r\n" {
				t.Errorf("%s: another client's PING = %q, %v", name, got, err)
			}
			if !s.Running() {
				t.Errorf("%s exited", name)
			}
		})
	}
}
