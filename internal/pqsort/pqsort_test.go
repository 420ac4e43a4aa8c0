package pqsort

import (
	"slices"
	"testing"

	"pgregory.net/rapid"
)

type item struct{ key, id int }

func byKey(a, b *item) int { return a.key - b.key }

// The window holds exactly what a full sort puts there, and nothing is lost or made up.
func TestWindowIsSorted(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 300).Draw(t, "n")
		keys := rapid.IntRange(1, 20).Draw(t, "distinct keys")
		v := make([]item, n)
		for i := range v {
			v[i] = item{rapid.IntRange(0, keys-1).Draw(t, "key"), i}
		}
		lo := rapid.IntRange(-2, n+1).Draw(t, "lo")
		hi := rapid.IntRange(lo-2, n+1).Draw(t, "hi")
		want := slices.Clone(v)
		slices.SortFunc(want, func(a, b item) int { return a.key - b.key })
		Sort(v, byKey, lo, hi)
		for i := max(lo, 0); i <= min(hi, n-1); i++ {
			if v[i].key != want[i].key {
				t.Fatalf("position %d holds key %d, a full sort puts %d there", i, v[i].key, want[i].key)
			}
		}
		ids := make([]int, n)
		for i, it := range v {
			ids[i] = it.id
		}
		slices.Sort(ids)
		for i := range ids {
			if ids[i] != i {
				t.Fatalf("elements lost or duplicated: %v", ids)
			}
		}
	})
}

// A window covering everything is a full (unstable) sort.
func TestFullWindowSorts(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := rapid.SliceOf(rapid.IntRange(-50, 50)).Draw(t, "v")
		it := make([]item, len(v))
		for i, k := range v {
			it[i] = item{k, i}
		}
		Sort(it, byKey, 0, len(it)-1)
		if !slices.IsSortedFunc(it, func(a, b item) int { return a.key - b.key }) {
			t.Fatalf("not sorted: %v", it)
		}
	})
}

// Ties come out in the order Redis's partial quicksort leaves them, not in input order.
// Twelve equal keys: the median of elements 0, 6 and 11 is 11 (all compare equal, and the
// median's conditionals then pick the last), it is swapped to the front, and the one
// partitioning pass finds everything equal to it and moves nothing else.
// TestDiff/sort_ties.txt checks such orders against redis-server.
func TestTieOrder(t *testing.T) {
	v := make([]item, 12)
	for i := range v {
		v[i] = item{0, i}
	}
	Sort(v, byKey, 0, 2)
	var got []int
	for _, it := range v {
		got = append(got, it.id)
	}
	want := []int{11, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0}
	if !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

func BenchmarkSortLimit(b *testing.B) {
	src := make([]item, 10000)
	for i := range src {
		src[i] = item{(i * 7919) % 1000, i}
	}
	v := make([]item, len(src))
	for b.Loop() {
		copy(v, src)
		Sort(v, byKey, 0, 9)
	}
}

func TestStable(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		keys := rapid.SliceOf(rapid.IntRange(0, 5)).Draw(t, "keys")
		v := make([]item, len(keys))
		for i, k := range keys {
			v[i] = item{k, i}
		}
		want := slices.Clone(v)
		slices.SortStableFunc(want, func(a, b item) int { return a.key - b.key })
		Stable(v, byKey)
		if !slices.Equal(v, want) {
			t.Fatalf("got %v, want %v", v, want)
		}
	})
}
