package server

import (
	"strconv"
	"testing"
	"time"

	"github.com/sard-kv/sard/internal/config"
)

// benchServer is a server with no propagation consumer (no AOF, no replica), as under
// redis-benchmark, and one authenticated client.
func benchServer(b *testing.B) (*Server, *Client) {
	b.Helper()
	cfg := config.New()
	if err := cfg.Set([][2]string{{"save", ""}}); err != nil {
		b.Fatal(err)
	}
	log, err := NewLogger("", LogWarning)
	if err != nil {
		b.Fatal(err)
	}
	s := New(cfg, log)
	c := &Client{srv: s, db: s.dbs[0], authed: true, user: "default"}
	c.w.Proto = 2
	return s, c
}

func benchArgv(args ...string) [][]byte {
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	return argv
}

// runBench sends the commands of cmds in turn, as redis-benchmark's requests arrive,
// through the gatekeeper and call(): the CPU a request costs beyond reading and writing its
// socket. Setup commands run once first.
func runBench(b *testing.B, setup [][]string, cmds ...[]string) {
	s, c := benchServer(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = time.Now().UnixMilli()
	for _, a := range setup {
		c.argv = benchArgv(a...)
		s.processCommand(c)
		c.w.Buf = c.w.Buf[:0]
	}
	argvs := make([][][]byte, len(cmds))
	for i, a := range cmds {
		argvs[i] = benchArgv(a...)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c.argv = argvs[i%len(argvs)]
		s.processCommand(c)
		if i%16 == 15 {
			s.afterCommands()
			c.w.Buf = c.w.Buf[:0]
		}
	}
}

// The requests redis-benchmark sends for its built-in tests without -r, and the custom
// commands of the data-type benchmarks in docs/benchmarks.md.
func BenchmarkCmdSET(b *testing.B) {
	runBench(b, nil, []string{"SET", "key:000000000000", "xxx"})
}

func BenchmarkCmdLPUSH(b *testing.B) {
	runBench(b, nil, []string{"LPUSH", "mylist", "xxx"})
}

// BenchmarkCmdLPUSHRPOP keeps the list from emptying, as it does not under redis-benchmark.
func BenchmarkCmdLPUSHRPOP(b *testing.B) {
	setup := [][]string{{"LPUSH", "mylist", "a", "b", "c"}}
	runBench(b, setup, []string{"LPUSH", "mylist", "xxx"}, []string{"RPOP", "mylist"})
}

func BenchmarkCmdSADD(b *testing.B) {
	runBench(b, nil, []string{"SADD", "myset", "element:000000000000"})
}

func BenchmarkCmdHSET(b *testing.B) {
	runBench(b, nil, []string{"HSET", "myhash", "element:000000000000", "xxx"})
}

func BenchmarkCmdZADD(b *testing.B) {
	runBench(b, nil, []string{"ZADD", "myzset", "0", "element:000000000000"})
}

func BenchmarkCmdZRANGE100(b *testing.B) {
	var setup [][]string
	for i := range 100 {
		setup = append(setup, []string{"ZADD", "z100", strconv.Itoa(i), "m:" + strconv.Itoa(i)})
	}
	runBench(b, setup, []string{"ZRANGE", "z100", "0", "99"})
}

func BenchmarkCmdZRANGE100WithScores(b *testing.B) {
	var setup [][]string
	for i := range 100 {
		setup = append(setup, []string{"ZADD", "z100", strconv.Itoa(i) + ".5", "m:" + strconv.Itoa(i)})
	}
	runBench(b, setup, []string{"ZRANGE", "z100", "0", "99", "WITHSCORES"})
}

func BenchmarkCmdXADD(b *testing.B) {
	runBench(b, nil, []string{"XADD", "s", "*", "f", "v"})
}

// BenchmarkTypeCommands runs common data-type commands against values in both encodings:
// a line per command, to spot allocations and costs out of line with the rest.
func BenchmarkTypeCommands(b *testing.B) {
	setup := [][]string{
		{"HSET", "hsmall", "f1", "v1", "f2", "v2", "f3", "3"},
		{"SADD", "sint", "1", "2", "3", "100"},
		{"SADD", "sstr", "a", "b", "c"},
		{"ZADD", "zsmall", "1", "a", "2.5", "b", "3", "c"},
		{"RPUSH", "l", "a", "b", "c", "1", "2", "3"},
	}
	for i := range 1000 {
		n := strconv.Itoa(i)
		setup = append(setup,
			[]string{"HSET", "hbig", "field:" + n, "value:" + n},
			[]string{"SADD", "sbig", "member:" + n},
			[]string{"ZADD", "zbig", n + ".25", "member:" + n},
			[]string{"RPUSH", "lbig", "element:" + n},
			[]string{"XADD", "s", "*", "f", n, "g", "v"},
		)
	}
	cases := [][]string{
		{"HGET", "hsmall", "f2"},
		{"HGET", "hbig", "field:500"},
		{"HSET", "hsmall", "f2", "v2"},
		{"HSET", "hbig", "field:500", "v"},
		{"HINCRBY", "hsmall", "f3", "1"},
		{"HGETALL", "hsmall"},
		{"HMGET", "hbig", "field:1", "field:2", "nope"},
		{"HEXISTS", "hbig", "field:7"},
		{"SADD", "sint", "2"},
		{"SADD", "sbig", "member:5"},
		{"SISMEMBER", "sbig", "member:5"},
		{"SISMEMBER", "sstr", "b"},
		{"SMEMBERS", "sstr"},
		{"SCARD", "sbig"},
		{"ZADD", "zsmall", "2.5", "b"},
		{"ZADD", "zbig", "500.25", "member:500"},
		{"ZSCORE", "zbig", "member:500"},
		{"ZSCORE", "zsmall", "b"},
		{"ZINCRBY", "zsmall", "0", "b"},
		{"ZRANK", "zbig", "member:500"},
		{"ZCARD", "zbig"},
		{"ZRANGE", "zbig", "0", "9", "WITHSCORES"},
		{"ZRANGEBYSCORE", "zbig", "10", "20"},
		{"LINDEX", "lbig", "500"},
		{"LRANGE", "lbig", "0", "9"},
		{"LLEN", "lbig"},
		{"LSET", "l", "1", "x"},
		{"LPUSH", "lbig", "x"},
		{"RPOP", "lbig"},
		{"XLEN", "s"},
		{"XRANGE", "s", "-", "+", "COUNT", "10"},
	}
	for _, cmd := range cases {
		b.Run(cmd[0]+"_"+cmd[1], func(b *testing.B) { runBench(b, setup, cmd) })
	}
}
