package digest

import (
	"runtime"
	"strconv"
	"sync"
	"testing"
)

func benchKeys(n int) (keys, vals [][]byte) {
	keys, vals = make([][]byte, n), make([][]byte, n)
	for i := range n {
		keys[i] = []byte("key:" + strconv.Itoa(i))
		vals[i] = []byte("value:" + strconv.Itoa(i))
	}
	return keys, vals
}

// BenchmarkDataset100kStrings is one DEBUG DIGEST of 100k string keys
// (a tenth with an expiry) on one goroutine.
func BenchmarkDataset100kStrings(b *testing.B) {
	keys, vals := benchKeys(100_000)
	b.ReportAllocs()
	for b.Loop() {
		var ds Dataset
		for i, k := range keys {
			exp := NoExpire
			if i%10 == 0 {
				exp = 1_700_000_000_000
			}
			ds.Add(0, ForKey(k).String(vals[i], exp))
		}
		_ = ds.Sum()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100_000, "ns/key")
}

// BenchmarkDataset100kStringsParallel splits the same work over all CPUs with
// one Dataset each, merged at the end, as a server digesting shards would.
func BenchmarkDataset100kStringsParallel(b *testing.B) {
	keys, vals := benchKeys(100_000)
	workers := runtime.GOMAXPROCS(0)
	b.ReportAllocs()
	for b.Loop() {
		parts := make([]Dataset, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(keys); i += workers {
					parts[w].Add(0, ForKey(keys[i]).String(vals[i], NoExpire))
				}
			}()
		}
		wg.Wait()
		var ds Dataset
		for w := range parts {
			ds.Merge(&parts[w])
		}
		_ = ds.Sum()
	}
}
