package server

import (
	"strings"
	"testing"
)

// benchScript measures EVALSHA of body in-process, without propagation consumers.
func benchScript(b *testing.B, body string, args ...string) {
	e := newKVEnv(b)
	sha := e.do("SCRIPT", "LOAD", body)
	sha = sha[strings.Index(sha, "\n")+1 : len(sha)-2]
	argv := [][]byte{[]byte("EVALSHA"), []byte(sha)}
	for _, a := range args {
		argv = append(argv, []byte(a))
	}
	s := e.s
	s.prop.consumers = nil
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

// The script of the EVALSHA figure in docs/benchmarks.md: three commands.
func BenchmarkEvalShaThreeCommands(b *testing.B) {
	benchScript(b, "redis.call('SET', KEYS[1], ARGV[1]) redis.call('INCR', KEYS[2]) return redis.call('GET', KEYS[1])", "2", "key", "counter", "v")
}

func BenchmarkEvalShaReturnOne(b *testing.B) { benchScript(b, "return 1", "0") }

func BenchmarkEvalShaKeysArgs(b *testing.B) {
	benchScript(b, "return 1", "2", "key", "counter", "v")
}

func BenchmarkEvalShaOneGet(b *testing.B) {
	benchScript(b, "return redis.call('GET', KEYS[1])", "1", "key")
}

func BenchmarkEvalShaOneSet(b *testing.B) {
	benchScript(b, "return redis.call('SET', KEYS[1], ARGV[1])", "1", "key", "v")
}

func BenchmarkEvalShaLoop(b *testing.B) {
	benchScript(b, "local n = 0 for i = 1, 100 do n = n + i end return n", "0")
}

// Library reads (string.*, math.*, tonumber) and a loop bounded by an argument: what the
// read-only library tables and the numeric-for conversion cost per call.
func BenchmarkEvalShaLibCalls(b *testing.B) {
	benchScript(b, "local n = 0 for i = 1, 10 do n = n + string.len(string.format('%d', tonumber(ARGV[1]) + math.floor(i / 2))) end return n", "0", "10")
}
