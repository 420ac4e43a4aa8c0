package quicklist

import (
	"os"
	"runtime"
	"strconv"
	"testing"
)

// TestMemory reports heap bytes per element for a 1,000,000-element list (SARD_MEMTEST=1).
func TestMemory(t *testing.T) {
	if os.Getenv("SARD_MEMTEST") == "" {
		t.Skip("memory measurement: set SARD_MEMTEST=1")
	}
	for _, c := range []struct {
		name        string
		fill, depth int
	}{{"fill -2", -2, 0}, {"fill -2 depth 1", -2, 1}} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		q := New(c.fill, c.depth)
		for i := range 1_000_000 {
			q.Push([]byte("value:"+strconv.Itoa(i)), Tail)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		per := float64(after.HeapAlloc-before.HeapAlloc) / float64(q.Len())
		t.Logf("%s: %.1f bytes per element (%d nodes)", c.name, per, q.NodeCount())
		runtime.KeepAlive(q)
	}
}
