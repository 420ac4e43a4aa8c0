package digest

import (
	"math"
	"testing"
)

// The expected digests below were printed by redis-server 7.0.15 for the same
// data, so these tests pin the algorithm even where no server is installed.
func TestKnownValueDigests(t *testing.T) {
	str := func(v string, exp int64) Digest { return ForValue().String([]byte(v), exp) }
	zset := func() Digest {
		z := ForValue().ZSet()
		z.Add([]byte("a"), 0.1)
		z.Add([]byte("b"), math.Ldexp(1, -25))
		z.Add([]byte("c"), 0)
		z.Add([]byte("d"), math.Inf(1))
		return z.Sum(NoExpire)
	}
	stream := func() Digest {
		s := ForValue().Stream()
		s.Entry(1, 1)
		s.Field([]byte("f"), []byte("v"))
		return s.Sum(NoExpire)
	}
	tests := []struct {
		name string
		got  Digest
		want string
	}{
		{"missing key", Digest{}, "0000000000000000000000000000000000000000"},
		{"string 1", str("1", NoExpire), "b4fc66738120fba0b5aa500ab5c2bf89cea1c5da"},
		{"int 1", ForValue().Int(1, NoExpire), "b4fc66738120fba0b5aa500ab5c2bf89cea1c5da"},
		{"string 1 with ttl", str("1", 1234), "5279988c5d1911f474bcbbf2f0a87012d40f8459"},
		{"zset", zset(), "61b512de98ab4195c43b4c071b0580bbff0fbbb3"},
		{"stream", stream(), "2ed9a7a81688084b1f7eae33456ef7727d357031"},
	}
	for _, tc := range tests {
		if got := tc.got.Hex(); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestEmptyDatasetIsZero(t *testing.T) {
	var ds Dataset
	if got := ds.Sum(); !got.IsZero() {
		t.Fatalf("empty dataset digest = %s, want zeros", got)
	}
}

func TestExpiryTimeDoesNotMatter(t *testing.T) {
	a := ForKey([]byte("k")).String([]byte("v"), 1)
	b := ForKey([]byte("k")).String([]byte("v"), 1<<50)
	c := ForKey([]byte("k")).String([]byte("v"), NoExpire)
	if a != b {
		t.Errorf("different expiry times gave %s and %s", a, b)
	}
	if a == c {
		t.Errorf("expiry made no difference: %s", a)
	}
}

func TestOrderSensitivity(t *testing.T) {
	elems := [][]byte{[]byte("a"), []byte("b"), []byte("c")}
	build := func(order []int) (list, set, hash, zset Digest) {
		l, s, h, z := ForKey([]byte("k")).List(), ForKey([]byte("k")).Set(), ForKey([]byte("k")).Hash(), ForKey([]byte("k")).ZSet()
		for _, i := range order {
			l.Add(elems[i])
			s.Add(elems[i])
			h.Add(elems[i], elems[(i+1)%3])
			z.Add(elems[i], float64(i))
		}
		return l.Sum(NoExpire), s.Sum(NoExpire), h.Sum(NoExpire), z.Sum(NoExpire)
	}
	l1, s1, h1, z1 := build([]int{0, 1, 2})
	l2, s2, h2, z2 := build([]int{2, 0, 1})
	if l1 == l2 {
		t.Error("list digest ignores element order")
	}
	if s1 != s2 || h1 != h2 || z1 != z2 {
		t.Error("set, hash or zset digest depends on element order")
	}
}

func TestDatasetOrderAndDatabases(t *testing.T) {
	k1 := ForKey([]byte("a")).String([]byte("1"), NoExpire)
	k2 := ForKey([]byte("b")).Int(2, 99)
	var x, y, z Dataset
	x.Add(0, k1)
	x.Add(3, k2)
	y.Add(3, k2)
	y.Add(0, k1)
	z.Add(0, k1)
	z.Add(4, k2)
	if x.Sum() != y.Sum() {
		t.Error("dataset digest depends on insertion order")
	}
	if x.Sum() == z.Sum() {
		t.Error("dataset digest ignores the database id")
	}
	// A database whose keys xor to zero still contributes its id.
	var w Dataset
	w.Add(0, k1)
	w.Add(1, k2)
	w.Add(1, k2)
	var only0 Dataset
	only0.Add(0, k1)
	if w.Sum() == only0.Sum() {
		t.Error("a non-empty database with a zero xor was skipped")
	}
}

func TestMerge(t *testing.T) {
	var whole, a, b Dataset
	for i := range 100 {
		k := ForKey([]byte{byte(i)}).Int(int64(i), NoExpire)
		whole.Add(i%5, k)
		if i%2 == 0 {
			a.Add(i%5, k)
		} else {
			b.Add(i%5, k)
		}
	}
	a.Merge(&b)
	if a.Sum() != whole.Sum() || a.Keys() != 100 {
		t.Fatalf("merged %s (%d keys), want %s", a.Sum(), a.Keys(), whole.Sum())
	}
	var empty Dataset
	a.Merge(&empty)
	empty.Merge(&a)
	if empty.Sum() != whole.Sum() {
		t.Fatal("merging into an empty dataset changed the digest")
	}
}

func TestAppendScore(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{1, "1"},
		{-3, "-3"},
		{1.5, "1.5"},
		{0.1, "0.10000000000000001"},
		{1e16, "10000000000000000"},
		{1e17, "1e+17"},
		{123456789012345678, "1.2345678901234568e+17"},
		{1e-4, "0.0001"},
		{1e-5, "1.0000000000000001e-05"},
		{math.Ldexp(1, -25), "2.9802322387695312e-08"}, // exact tie, rounded to even
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{5e-324, "4.9406564584124654e-324"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{math.NaN(), "nan"},
	}
	for _, tc := range tests {
		if got := string(AppendScore(nil, tc.in)); got != tc.want {
			t.Errorf("AppendScore(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDigestAllocations(t *testing.T) {
	key, val := []byte("key:000001"), []byte("value:000001")
	var ds Dataset
	ds.Add(0, ForKey(key).String(val, NoExpire))
	allocs := testing.AllocsPerRun(100, func() {
		ds.Add(0, ForKey(key).String(val, NoExpire))
		z := ForKey(key).ZSet()
		z.Add(val, 1.25)
		ds.Add(0, z.Sum(5))
	})
	if allocs != 0 {
		t.Errorf("digesting a key allocates %.0f times", allocs)
	}
}
