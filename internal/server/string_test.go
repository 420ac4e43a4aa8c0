package server

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sard-kv/sard/internal/config"
	"github.com/sard-kv/sard/internal/keyspace"
)

// kvEnv drives command handlers in process, through the real gatekeeper, with a clock the
// test controls.
type kvEnv struct {
	t   testing.TB
	s   *Server
	c   *Client
	now int64
	// stream collects the propagation stream.
	stream *streamRecorder
}

type streamRecorder struct{ b []byte }

func (r *streamRecorder) Feed(b []byte) { r.b = append(r.b, b...) }

// take returns the commands propagated since the last call, one per element, each rendered
// as its arguments joined by spaces.
func (r *streamRecorder) take(t testing.TB) []string {
	t.Helper()
	var out []string
	b := r.b
	for len(b) > 0 {
		var n int
		if _, err := fmt.Sscanf(string(b), "*%d\r\n", &n); err != nil {
			t.Fatalf("bad stream %q", b)
		}
		b = b[strings.Index(string(b), "\r\n")+2:]
		args := make([]string, n)
		for i := range args {
			var l int
			fmt.Sscanf(string(b), "$%d\r\n", &l)
			b = b[strings.Index(string(b), "\r\n")+2:]
			args[i] = string(b[:l])
			b = b[l+2:]
		}
		out = append(out, strings.Join(args, " "))
	}
	r.b = r.b[:0]
	return out
}

func newKVEnv(t testing.TB, directives ...string) *kvEnv {
	t.Helper()
	cfg := config.New()
	// No save points: FLUSHALL and SHUTDOWN would write dump.rdb into the package directory.
	directives = append([]string{"save", ""}, directives...)
	for i := 0; i+1 < len(directives); i += 2 {
		if err := cfg.Set([][2]string{{directives[i], directives[i+1]}}); err != nil {
			t.Fatalf("config set %s: %v", directives[i], err)
		}
	}
	log, err := NewLogger("", LogWarning)
	if err != nil {
		t.Fatal(err)
	}
	s := New(cfg, log)
	e := &kvEnv{t: t, s: s, now: time.Now().UnixMilli(), stream: &streamRecorder{}}
	s.AddConsumer(e.stream)
	e.c = &Client{srv: s, db: s.dbs[0], authed: true, user: "default"}
	e.c.w.Proto = 2
	return e
}

// do runs one command and returns its raw reply.
func (e *kvEnv) do(args ...string) string {
	e.t.Helper()
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	s := e.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = e.now
	e.c.argv = argv
	s.processCommand(e.c)
	s.afterCommands()
	out := string(e.c.w.Buf)
	e.c.w.Buf = e.c.w.Buf[:0]
	e.c.argv = nil
	return out
}

// expect runs a command and checks its raw reply.
func (e *kvEnv) expect(want string, args ...string) {
	e.t.Helper()
	if got := e.do(args...); got != want {
		e.t.Errorf("%s: got %q, want %q", strings.Join(args, " "), got, want)
	}
}

// expectStream checks the commands propagated since the last check.
func (e *kvEnv) expectStream(want ...string) {
	e.t.Helper()
	got := e.stream.take(e.t)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		e.t.Errorf("propagated:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func kvBulk(s string) string { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }
func kvInt(n int64) string   { return ":" + strconv.FormatInt(n, 10) + "\r\n" }

const kvNull = "$-1\r\n"

func kvMs(v int64) string { return strconv.FormatInt(v, 10) }

func TestStringPropagation(t *testing.T) {
	e := newKVEnv(t)
	now := e.now

	e.expect("+OK\r\n", "SET", "k", "v", "EX", "10")
	e.expectStream("SELECT 0", "SET k v PXAT "+kvMs(now+10000))

	e.expect("+OK\r\n", "set", "k", "v", "px", "1500", "xx")
	e.expectStream("SET k v PXAT " + kvMs(now+1500))

	e.expect("+OK\r\n", "SET", "k", "v", "EXAT", "4000000000")
	e.expectStream("SET k v PXAT 4000000000000")

	e.expect(kvNull, "SET", "k", "w", "NX")
	e.expectStream() // nothing changed, nothing propagated

	e.expect(kvBulk("v"), "SET", "k", "w", "GET", "KEEPTTL", "get")
	e.expectStream("SET k w KEEPTTL")

	e.expect("+OK\r\n", "SETEX", "k", "5", "x")
	e.expectStream("SET k x PXAT " + kvMs(now+5000))
	e.expect("+OK\r\n", "PSETEX", "k", "5", "x")
	e.expectStream("SET k x PXAT " + kvMs(now+5))

	e.expect(kvInt(1), "SETNX", "n", "1")
	e.expect(kvInt(0), "SETNX", "n", "1")
	e.expectStream("SETNX n 1")

	e.expect(kvBulk("1"), "GETSET", "n", "2")
	e.expectStream("SET n 2")

	e.expect(kvBulk("3.5"), "INCRBYFLOAT", "n", "1.5")
	e.expectStream("SET n 3.5 KEEPTTL")

	e.expect(kvBulk("3.5"), "GETEX", "n", "PX", "100")
	e.expectStream("PEXPIREAT n " + kvMs(now+100))
	e.expect(kvBulk("3.5"), "GETEX", "n", "PERSIST")
	e.expectStream("PERSIST n")
	e.expect(kvBulk("3.5"), "GETEX", "n", "PERSIST")
	e.expectStream()
	e.expect(kvBulk("3.5"), "GETEX", "n")
	e.expectStream()
	e.expect(kvBulk("3.5"), "GETEX", "n", "EXAT", "1")
	e.expectStream("DEL n")
	e.expect(kvInt(0), "EXISTS", "n")

	e.expect("+OK\r\n", "SET", "g", "v")
	e.expect(kvBulk("v"), "GETDEL", "g")
	e.expect(kvNull, "GETDEL", "g")
	e.expectStream("SET g v", "DEL g")

	e.expect(kvInt(1), "INCR", "c")
	e.expect(kvInt(2), "APPEND", "c", "0")
	e.expect(kvInt(3), "SETRANGE", "c", "2", "x")
	e.expect(kvInt(3), "SETRANGE", "c", "0", "")
	e.expectStream("INCR c", "APPEND c 0", "SETRANGE c 2 x")
}

func TestStringPropagationLazyfree(t *testing.T) {
	e := newKVEnv(t, "lazyfree-lazy-user-del", "yes", "lazyfree-lazy-expire", "yes")
	e.do("SET", "a", "1")
	e.do("GETDEL", "a")
	e.do("SET", "a", "1")
	e.do("EXPIRE", "a", "-1")
	e.do("SET", "a", "1")
	e.do("GETEX", "a", "PXAT", "1")
	e.expectStream("SELECT 0", "SET a 1", "UNLINK a", "SET a 1", "UNLINK a", "SET a 1", "UNLINK a")
}

func TestStringLazyExpiryPropagatesDel(t *testing.T) {
	e := newKVEnv(t)
	e.expect("+OK\r\n", "SET", "k", "v", "PX", "100")
	e.now += 100 // the TTL is inclusive: still there at exactly its time
	e.expect(kvBulk("v"), "GET", "k")
	e.now++
	e.expect(kvNull, "GET", "k")
	e.expect(kvInt(0), "DEL", "k")
	e.expectStream("SELECT 0", "SET k v PXAT "+kvMs(e.now-1), "DEL k")
}

func TestStringEncodings(t *testing.T) {
	e := newKVEnv(t)
	enc := func(want string, key string) {
		t.Helper()
		e.expect(kvBulk(want), "OBJECT", "ENCODING", key)
	}
	e.do("SET", "k", "123")
	enc("int", "k")
	e.do("APPEND", "k", "4")
	enc("raw", "k")
	e.expect(kvBulk("1234"), "GET", "k")
	e.do("INCR", "k")
	enc("int", "k")
	e.do("SETRANGE", "k", "0", "9")
	enc("raw", "k")
	e.do("SET", "k", "10")
	e.do("INCRBYFLOAT", "k", "1")
	enc("embstr", "k") // INCRBYFLOAT never stores int, even for "11"
	e.expect(kvBulk("11"), "GET", "k")
	e.do("SET", "k", strings.Repeat("x", 44))
	enc("embstr", "k")
	e.do("SET", "k", strings.Repeat("x", 45))
	enc("raw", "k")
	e.do("SET", "k", "007")
	enc("embstr", "k")
	e.do("SETRANGE", "new", "3", "ab")
	enc("raw", "new")
	e.expect(kvBulk("\x00\x00\x00ab"), "GET", "new")
	e.do("APPEND", "new2", "12")
	enc("int", "new2")
}

func TestStringRefcount(t *testing.T) {
	e := newKVEnv(t)
	e.do("SET", "small", "9999")
	e.do("SET", "big", "10000")
	e.do("SET", "neg", "-1")
	e.do("SET", "str", "abc")
	e.expect(kvInt(2147483647), "OBJECT", "REFCOUNT", "small")
	e.expect(kvInt(1), "OBJECT", "REFCOUNT", "big")
	e.expect(kvInt(1), "OBJECT", "REFCOUNT", "neg")
	e.expect(kvInt(1), "OBJECT", "REFCOUNT", "str")
	e.expect(kvNull, "OBJECT", "REFCOUNT", "nokey")

	// With a memory limit and an LRU policy every value needs its own access field.
	e2 := newKVEnv(t, "maxmemory", "100mb", "maxmemory-policy", "allkeys-lru")
	e2.do("SET", "small", "5")
	e2.expect(kvInt(1), "OBJECT", "REFCOUNT", "small")
	// An LRU policy without a limit still shares.
	e3 := newKVEnv(t, "maxmemory-policy", "allkeys-lru")
	e3.do("SET", "small", "5")
	e3.expect(kvInt(2147483647), "OBJECT", "REFCOUNT", "small")
}

func TestStringWrongType(t *testing.T) {
	e := newKVEnv(t)
	put := func() {
		e.s.mu.Lock()
		e.s.dbs[0].ks.SetObj([]byte("l"), keySlot([]byte("l")), keyspace.TypeList, 9, &struct{}{}, false)
		e.s.mu.Unlock()
	}
	put()
	const wt = "-" + errWrongType + "\r\n"
	for _, cmd := range [][]string{
		{"GET", "l"}, {"SET", "l", "v", "GET"}, {"GETEX", "l"}, {"GETEX", "l", "EX", "10"},
		{"GETDEL", "l"}, {"GETSET", "l", "v"}, {"APPEND", "l", "x"}, {"STRLEN", "l"},
		{"GETRANGE", "l", "0", "1"}, {"SUBSTR", "l", "0", "1"}, {"SETRANGE", "l", "0", "x"},
		{"INCR", "l"}, {"DECR", "l"}, {"INCRBY", "l", "1"}, {"DECRBY", "l", "1"},
		{"INCRBYFLOAT", "l", "1"},
	} {
		e.expect(wt, cmd...)
	}
	e.expect("-"+errLCSNotString+"\r\n", "LCS", "l", "x")
	e.expect("-"+errLCSNotString+"\r\n", "LCS", "x", "l")
	e.expect("*2\r\n$-1\r\n$-1\r\n", "MGET", "l", "nokey")
	e.expect("+list\r\n", "TYPE", "l")
	e.expect(kvBulk("quicklist"), "OBJECT", "ENCODING", "l")
	e.expect(kvInt(1), "OBJECT", "REFCOUNT", "l")
	e.expect("-"+errCopyUnsupported+"\r\n", "COPY", "l", "l2")
	// Overwriting commands do not care about the old type.
	e.expect("+OK\r\n", "SET", "l", "v")
	e.expect(kvBulk("v"), "GET", "l")
	put()
	e.expect("+OK\r\n", "MSET", "l", "v")
	put()
	e.expect("+OK\r\n", "RENAME", "l", "l2")
	e.expect("+list\r\n", "TYPE", "l2")
	e.expect(kvInt(1), "MOVE", "l2", "3")
	e.do("SELECT", "3")
	e.expect("+list\r\n", "TYPE", "l2")
}

func TestStringSwapDBSeenBySelectedClients(t *testing.T) {
	e := newKVEnv(t)
	e.do("SET", "in0", "a")
	e.do("SELECT", "1")
	e.do("SET", "in1", "b", "EX", "100")
	e.do("SELECT", "0")
	e.expect("+OK\r\n", "SWAPDB", "0", "1")
	e.expect(kvBulk("b"), "GET", "in1")
	e.expect(kvInt(100), "TTL", "in1")
	e.expect(kvNull, "GET", "in0")
	e.expect("-ERR invalid first DB index\r\n", "SWAPDB", "x", "1")
	e.expect("-ERR invalid second DB index\r\n", "SWAPDB", "1", "99999999999")
	e.expect("-"+errDBIndex+"\r\n", "SWAPDB", "0", "16")
	e.expectStream("SELECT 0", "SET in0 a", "SELECT 1", "SET in1 b PXAT "+kvMs(e.now+100000), "SELECT 0", "SWAPDB 0 1")
}

func TestStringFlushPropagation(t *testing.T) {
	e := newKVEnv(t)
	dirty := e.s.dirty
	e.expect("+OK\r\n", "FLUSHDB")
	e.expect("+OK\r\n", "FLUSHALL", "SYNC")
	e.expect("-ERR syntax error\r\n", "FLUSHALL", "LATER")
	e.expectStream("SELECT 0", "FLUSHDB", "FLUSHALL SYNC")
	if e.s.dirty != dirty+1 {
		t.Errorf("dirty grew by %d, want 1 (FLUSHALL counts itself)", e.s.dirty-dirty)
	}
	e.do("MSET", "a", "1", "b", "2")
	e.do("SELECT", "5")
	e.do("SET", "c", "3")
	dirty = e.s.dirty
	e.expect("+OK\r\n", "FLUSHALL")
	if e.s.dirty != dirty+4 {
		t.Errorf("dirty grew by %d, want 4", e.s.dirty-dirty)
	}
}

func TestStringSizeLimits(t *testing.T) {
	e := newKVEnv(t, "proto-max-bulk-len", "1048576")
	const tooLong = "-" + errStringTooLong + "\r\n"
	e.expect(kvInt(1048576), "SETRANGE", "k", "1048575", "x")
	e.expect(tooLong, "SETRANGE", "k", "1048576", "x")
	e.expect(tooLong, "SETRANGE", "new", "1048576", "x")
	e.expect(kvInt(0), "EXISTS", "new")
	e.expect(kvInt(0), "SETRANGE", "new", "99999999999", "")
	e.expect(kvInt(1048576), "SETRANGE", "k", "99999999999", "")
	e.expect(tooLong, "SETRANGE", "k", "9223372036854775807", "x") // offset+len overflows
	e.expect(tooLong, "APPEND", "k", "y")
	e.expect("-"+errOffsetRange+"\r\n", "SETRANGE", "k", "-1", "x")

	// LCS refuses a table larger than proto-max-bulk-len before building it.
	a, b := strings.Repeat("a", 600), strings.Repeat("b", 600)
	e.do("MSET", "la", a, "lb", b)
	e.expect("-"+errLCSMemory+"\r\n", "LCS", "la", "lb")
	e.expect("-"+errLCSMemory+"\r\n", "LCS", "la", "lb", "LEN")
	e.expect("-"+errLCSIdxLen+"\r\n", "LCS", "la", "lb", "LEN", "IDX")
	e.expect(kvInt(0), "LCS", "la", "nokey", "LEN")
}

func TestStringLCS(t *testing.T) {
	e := newKVEnv(t)
	e.do("MSET", "a", "ohmytext", "b", "mynewtext")
	e.expect(kvBulk("mytext"), "LCS", "a", "b")
	e.expect(kvInt(6), "LCS", "a", "b", "LEN")
	e.expect("*4\r\n$7\r\nmatches\r\n*2\r\n"+
		"*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n"+
		"*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n"+
		"$3\r\nlen\r\n:6\r\n", "LCS", "a", "b", "IDX")
	e.expect("*4\r\n$7\r\nmatches\r\n*1\r\n"+
		"*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n"+
		"$3\r\nlen\r\n:6\r\n", "LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN")
	e.c.w.Proto = 3
	e.expect("%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n", "LCS", "x", "y", "IDX")
	e.c.w.Proto = 2
	e.expect(kvBulk(""), "LCS", "x", "y")
	e.expect("-ERR syntax error\r\n", "LCS", "a", "b", "MINMATCHLEN")
}

// BenchmarkStringSetGet measures the handlers alone (no network, no parsing): both must stay
// allocation-free on an existing key.
func BenchmarkStringSetGet(b *testing.B) {
	e := newKVEnv(b)
	e.do("SET", "key", "value")
	c := e.c
	set := [][]byte{[]byte("SET"), []byte("key"), []byte("value2")}
	get := [][]byte{[]byte("GET"), []byte("key")}
	setCmd, _ := e.s.lookupCommand(set)
	getCmd, _ := e.s.lookupCommand(get)
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	b.ReportAllocs()
	for b.Loop() {
		c.argv = set
		setCmd.Proc(c)
		c.argv = get
		getCmd.Proc(c)
		c.w.Buf = c.w.Buf[:0]
	}
}
