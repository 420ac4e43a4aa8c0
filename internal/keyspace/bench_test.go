package keyspace

import (
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"
)

const benchKeys = 1_000_000

// keyName writes the 16-byte key name "key:%012d" for i into b.
func keyName(b []byte, i int) []byte {
	b = append(b[:0], "key:000000000000"...)
	for j := len(b) - 1; i > 0; j-- {
		b[j] = byte('0' + i%10)
		i /= 10
	}
	return b
}

var (
	benchOnce sync.Once
	benchDB   *DB
)

// bench1M is a shared DB of 1M 16-byte keys with 16-byte values.
func bench1M() *DB {
	benchOnce.Do(func() {
		benchDB = New(Options{})
		val := []byte("0123456789abcdef")
		var kb [32]byte
		for i := 0; i < benchKeys; i++ {
			benchDB.SetString(keyName(kb[:0], i), 0, val, 0, false)
		}
		for benchDB.RehashStep(1000) {
		}
	})
	return benchDB
}

func BenchmarkLookupHit(b *testing.B) {
	db := bench1M()
	var kb [32]byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := db.Lookup(keyName(kb[:0], (i*7919)%benchKeys)); !ok {
			b.Fatal("miss")
		}
	}
}

func BenchmarkLookupMiss(b *testing.B) {
	db := bench1M()
	var kb [32]byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := db.Lookup(keyName(kb[:0], benchKeys+i)); ok {
			b.Fatal("hit")
		}
	}
}

func BenchmarkSetStringOverwrite(b *testing.B) {
	db := bench1M()
	var kb [32]byte
	val := []byte("fedcba9876543210")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		db.SetString(keyName(kb[:0], (i*7919)%benchKeys), 0, val, 0, false)
	}
}

// New keys into a DB that already holds 1M: includes amortized table growth,
// page allocation and compaction.
func BenchmarkSetStringNew(b *testing.B) {
	db := New(Options{})
	val := []byte("0123456789abcdef")
	var kb [32]byte
	for i := 0; i < benchKeys; i++ {
		db.SetString(keyName(kb[:0], i), 0, val, 0, false)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		db.SetString(keyName(kb[:0], benchKeys+i), 0, val, 0, false)
	}
}

// Delete then re-insert, so the DB stays at 1M keys however large b.N is.
func BenchmarkDelete(b *testing.B) {
	db := bench1M()
	var kb [32]byte
	val := []byte("0123456789abcdef")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := keyName(kb[:0], (i*7919)%benchKeys)
		if !db.Delete(k) {
			b.Fatal("missing")
		}
		b.StopTimer()
		db.SetString(k, 0, val, 0, false)
		b.StartTimer()
	}
}

func BenchmarkScan(b *testing.B) {
	db := bench1M()
	b.ReportAllocs()
	b.ResetTimer()
	cur, n := uint64(0), 0
	for i := 0; i < b.N; i++ {
		cur = db.Scan(cur, func(Ref) { n++ })
	}
}

// TestMemoryPerKey measures heap bytes per key for 1M 16-byte keys with
// 16-byte values, and the cost of a GC cycle with them live. It takes a few
// seconds, so it only runs with SARD_MEMTEST=1.
func TestMemoryPerKey(t *testing.T) {
	if os.Getenv("SARD_MEMTEST") == "" {
		t.Skip("set SARD_MEMTEST=1 to measure memory per key (slow)")
	}
	debug.FreeOSMemory()
	gcEmpty := gcCycle()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)

	db := New(Options{})
	val := []byte("0123456789abcdef")
	var kb [32]byte
	start := time.Now()
	var worst time.Duration
	for i := 0; i < benchKeys; i++ {
		t0 := time.Now()
		db.SetString(keyName(kb[:0], i), 0, val, 0, false)
		if d := time.Since(t0); d > worst {
			worst = d
		}
	}
	fill := time.Since(start)
	runtime.GC()
	debug.FreeOSMemory()
	runtime.ReadMemStats(&after)

	heap := float64(after.HeapInuse) - float64(before.HeapInuse)
	sys := float64(after.Sys) - float64(before.Sys)
	t.Logf("%d keys inserted in %v (worst single SetString %v)", benchKeys, fill, worst)
	t.Logf("HeapInuse: %.1f bytes/key; Sys: %.1f bytes/key", heap/benchKeys, sys/benchKeys)
	s := db.Stats()
	t.Logf("stats: buckets %d, arena %d B, live %d B (%.1f B/key), entries %d B/key",
		s.Buckets, s.ArenaBytes, s.LiveBytes, float64(s.LiveBytes)/benchKeys, entrySize)

	// A GC cycle with 1M keys live: the keyspace is a few hundred
	// pointer-free blocks, so marking should not depend on the number of keys.
	t.Logf("runtime.GC(): %v with an empty heap, %v with 1M keys live", gcEmpty, gcCycle())
	// For contrast, the same data in a map[string][]byte.
	m := make(map[string][]byte, benchKeys)
	for i := 0; i < benchKeys; i++ {
		m[string(keyName(kb[:0], i))] = []byte("0123456789abcdef")
	}
	t.Logf("runtime.GC(): %v with the same keys in a map[string][]byte", gcCycle())
	runtime.KeepAlive(m)

	if per := heap / benchKeys; per > 100 {
		t.Errorf("%.1f heap bytes per key, want under 100", per)
	}
	runtime.KeepAlive(db)
}

// BenchmarkGoMapLookupHit is a baseline for the noisy shared machines these
// benchmarks run on: a plain map[string][]byte of the same keys.
func BenchmarkGoMapLookupHit(b *testing.B) {
	m := make(map[string][]byte, benchKeys)
	var kb [32]byte
	for i := 0; i < benchKeys; i++ {
		m[string(keyName(kb[:0], i))] = []byte("0123456789abcdef")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := m[string(keyName(kb[:0], (i*7919)%benchKeys))]; !ok {
			b.Fatal("miss")
		}
	}
}

// gcCycle times a forced GC cycle, best of five (the machines are noisy).
func gcCycle() time.Duration {
	best := time.Hour
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		runtime.GC()
		best = min(best, time.Since(t0))
	}
	return best
}
