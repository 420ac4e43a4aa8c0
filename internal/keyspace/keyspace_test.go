package keyspace

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"
)

func mustCheck(t *testing.T, db *DB) {
	t.Helper()
	if err := db.checkInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestEntrySize(t *testing.T) {
	if s := unsafe.Sizeof(entry{}); s != entrySize {
		t.Fatalf("entry is %d bytes, want %d", s, entrySize)
	}
}

func TestSetLookupSizes(t *testing.T) {
	cases := []struct {
		name       string
		klen, vlen int
	}{
		{"empty key and value", 0, 0},
		{"small", 5, 7},
		{"varint boundary 127", 127, 127},
		{"varint boundary 128", 128, 128},
		{"at side threshold", 10, defaultSideMin},
		{"above side threshold", 10, defaultSideMin + 1},
		{"large value", 10, 1 << 20},
		{"key larger than a page", defaultMaxPage + 100, 3},
		{"key larger than a page, large value", defaultMaxPage + 100, defaultSideMin * 2},
	}
	for _, opts := range []Options{{}, {SlotIndex: true}} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/slots=%v", c.name, opts.SlotIndex), func(t *testing.T) {
				db := New(opts)
				key := bytes.Repeat([]byte{'k'}, c.klen)
				val := bytes.Repeat([]byte{'v'}, c.vlen)
				r, existed := db.SetString(key, 77, val, 3, false)
				if existed {
					t.Fatal("new key reported as existing")
				}
				r2, ok := db.Lookup(key)
				if !ok || r2 != r {
					t.Fatalf("Lookup = %v,%v want %v,true", r2, ok, r)
				}
				if !bytes.Equal(db.Key(r), key) || !bytes.Equal(db.Str(r), val) {
					t.Fatal("key or value differs")
				}
				if db.Type(r) != TypeString || db.Enc(r) != 3 || db.Slot(r) != 77 || db.ExpireAt(r) != NoExpire {
					t.Fatalf("type %d enc %d slot %d ttl %d", db.Type(r), db.Enc(r), db.Slot(r), db.ExpireAt(r))
				}
				if _, ok := db.Lookup(append(bytes.Clone(key), 'x')); ok {
					t.Fatal("found a key that was never set")
				}
				if db.MemoryUsage(r) < c.klen+c.vlen {
					t.Fatalf("MemoryUsage %d below payload", db.MemoryUsage(r))
				}
				mustCheck(t, db)
				if !db.Delete(key) || db.Len() != 0 || db.Delete(key) {
					t.Fatal("Delete")
				}
				mustCheck(t, db)
			})
		}
	}
}

// A key's value moves between inline, side-table and object storage as it is
// overwritten; each transition must leave nothing behind.
func TestOverwriteTransitions(t *testing.T) {
	db := newSmall(Options{SlotIndex: true})
	key := []byte("k")
	big := bytes.Repeat([]byte("B"), 100)
	steps := []struct {
		name string
		do   func() Ref
		want string // string value, or "" with obj
		obj  any
	}{
		{"inline", func() Ref { r, _ := db.SetString(key, 1, []byte("abc"), 0, false); return r }, "abc", nil},
		{"inline grows", func() Ref { r, _ := db.SetString(key, 1, []byte("abcdefgh"), 0, false); return r }, "abcdefgh", nil},
		{"inline shrinks in place", func() Ref { r, _ := db.SetString(key, 1, []byte("x"), 0, false); return r }, "x", nil},
		{"to side", func() Ref { r, _ := db.SetString(key, 1, big, 0, false); return r }, string(big), nil},
		{"side to side", func() Ref { r, _ := db.SetString(key, 1, big[:50], 0, false); return r }, string(big[:50]), nil},
		{"side to obj", func() Ref { r, _ := db.SetObj(key, 1, TypeList, 2, "L1", false); return r }, "", "L1"},
		{"obj to obj", func() Ref { r, _ := db.SetObj(key, 1, TypeHash, 1, "H1", false); return r }, "", "H1"},
		{"obj to inline small", func() Ref { r, _ := db.SetString(key, 1, []byte("ab"), 0, false); return r }, "ab", nil},
		{"inline to obj", func() Ref { r, _ := db.SetObj(key, 1, TypeSet, 0, "S1", false); return r }, "", "S1"},
		{"obj to inline large", func() Ref { r, _ := db.SetString(key, 1, []byte("0123456789"), 0, false); return r }, "0123456789", nil},
		{"obj via side", func() Ref { r, _ := db.SetObj(key, 1, TypeZSet, 0, "Z", false); return r }, "", "Z"},
		{"obj to side", func() Ref { r, _ := db.SetString(key, 1, big, 0, false); return r }, string(big), nil},
	}
	for _, s := range steps {
		r := s.do()
		if s.obj != nil {
			if db.Obj(r) != s.obj || db.Str(r) != nil {
				t.Fatalf("%s: Obj %v Str %q", s.name, db.Obj(r), db.Str(r))
			}
		} else if string(db.Str(r)) != s.want || db.Obj(r) != nil || db.Type(r) != TypeString {
			t.Fatalf("%s: Str %q Obj %v", s.name, db.Str(r), db.Obj(r))
		}
		if db.Len() != 1 || db.SlotLen(1) != 1 {
			t.Fatalf("%s: Len %d SlotLen %d", s.name, db.Len(), db.SlotLen(1))
		}
		mustCheck(t, db)
	}
}

func TestTTLKeepAndClear(t *testing.T) {
	db := New(Options{})
	r, _ := db.SetString([]byte("a"), 0, []byte("1"), 0, false)
	db.SetExpireAt(r, 5000)
	r, existed := db.SetString([]byte("a"), 0, []byte("2"), 0, true)
	if !existed || db.ExpireAt(r) != 5000 || db.ExpiresLen() != 1 {
		t.Fatalf("keepTTL lost the TTL: %d", db.ExpireAt(r))
	}
	r, _ = db.SetObj([]byte("a"), 0, TypeList, 0, 1, true)
	if db.ExpireAt(r) != 5000 {
		t.Fatal("SetObj keepTTL lost the TTL")
	}
	r, _ = db.SetString([]byte("a"), 0, []byte("3"), 0, false)
	if db.ExpireAt(r) != NoExpire || db.ExpiresLen() != 0 {
		t.Fatal("SET without KEEPTTL kept the TTL")
	}
	db.SetExpireAt(r, 0) // epoch 0 is a TTL, not "none"
	if db.ExpireAt(r) != 0 || db.ExpiresLen() != 1 {
		t.Fatal("expire at 0 not stored")
	}
	db.SetExpireAt(r, NoExpire)
	if db.ExpireAt(r) != NoExpire || db.ExpiresLen() != 0 {
		t.Fatal("PERSIST did not remove the TTL")
	}
	mustCheck(t, db)
}

// SetStr and StrForUpdate may be given slices of the current value.
func TestSetStrAliasing(t *testing.T) {
	db := newSmall(Options{})
	for _, n := range []int{10, 30, 39, 40, 41, 100} {
		base := []byte(strings.Repeat("0123456789", 11)[:n])
		r, _ := db.SetString([]byte("k"), 0, base, 0, false)
		r = db.SetStr(r, db.Str(r)[1:], 4) // shift left by one
		if !bytes.Equal(db.Str(r), base[1:]) || db.Enc(r) != 4 {
			t.Fatalf("n=%d shrink alias: %q", n, db.Str(r))
		}
		grown := append(bytes.Clone(db.Str(r)), db.Str(r)...)
		r = db.SetStr(r, append(db.Str(r), db.Str(r)...), 0) // APPEND of itself
		if !bytes.Equal(db.Str(r), grown) {
			t.Fatalf("n=%d grow alias: %q", n, db.Str(r))
		}
		mustCheck(t, db)
	}
}

func TestStrForUpdate(t *testing.T) {
	db := newSmall(Options{})
	r, _ := db.SetString([]byte("k"), 0, []byte("hello"), 0, false)
	steps := []int{3, 8, 8, 20, 45, 200, 60, 10, 0, 5}
	want := []byte("hello")
	for _, n := range steps {
		b := db.StrForUpdate(r, n)
		if len(b) != n {
			t.Fatalf("len %d want %d", len(b), n)
		}
		if len(want) > n {
			want = want[:n]
		} else {
			want = append(want, make([]byte, n-len(want))...)
		}
		if !bytes.Equal(b, want) {
			t.Fatalf("n=%d: got %q want %q", n, b, want)
		}
		// Scribble through the returned slice: it must be the stored value.
		for i := range b {
			b[i] = byte('a' + (i+n)%26)
		}
		want = bytes.Clone(b)
		if !bytes.Equal(db.Str(r), want) {
			t.Fatalf("n=%d: write through the slice lost", n)
		}
		mustCheck(t, db)
	}
}

func TestRename(t *testing.T) {
	db := newSmall(Options{SlotIndex: true})
	a, _ := db.SetString([]byte("a"), 1, []byte("va"), 5, false)
	db.SetExpireAt(a, 99)
	db.SetClock(a, 1234)
	db.SetObj([]byte("b"), 2, TypeList, 1, "list-b", false)

	r := db.Rename(a, []byte("c"), 3)
	if _, ok := db.Lookup([]byte("a")); ok {
		t.Fatal("old name still present")
	}
	if got, ok := db.Lookup([]byte("c")); !ok || got != r {
		t.Fatal("new name missing")
	}
	if string(db.Str(r)) != "va" || db.ExpireAt(r) != 99 || db.Enc(r) != 5 || db.Clock(r) != 1234 || db.Slot(r) != 3 {
		t.Fatal("rename lost value, TTL, encoding, clock or slot")
	}
	if db.SlotLen(1) != 0 || db.SlotLen(3) != 1 {
		t.Fatal("slot counts not moved")
	}
	// Onto an existing key of another type: it is replaced.
	r = db.Rename(r, []byte("b"), 2)
	if db.Len() != 1 || string(db.Str(r)) != "va" || db.Type(r) != TypeString || db.SlotLen(2) != 1 || db.SlotLen(3) != 0 {
		t.Fatal("rename over an existing key")
	}
	if db.Rename(r, []byte("b"), 2) != r || db.Len() != 1 {
		t.Fatal("rename to itself")
	}
	// Objects and side values move too.
	big := bytes.Repeat([]byte("z"), 500)
	s, _ := db.SetString([]byte("big"), 4, big, 0, false)
	s = db.Rename(s, []byte("big2"), 4)
	o, _ := db.SetObj([]byte("obj"), 4, TypeHash, 0, "H", false)
	o = db.Rename(o, []byte("obj2"), 5)
	if !bytes.Equal(db.Str(s), big) || db.Obj(o) != "H" {
		t.Fatal("side or object value lost")
	}
	mustCheck(t, db)
}

func TestSlotIndex(t *testing.T) {
	db := New(Options{SlotIndex: true})
	for i := 0; i < 100; i++ {
		db.SetString([]byte(fmt.Sprint("k", i)), uint16(i%3), []byte("v"), 0, false)
	}
	for s := uint16(0); s < 3; s++ {
		want := 33
		if s == 0 {
			want = 34
		}
		if db.SlotLen(s) != want {
			t.Fatalf("slot %d has %d", s, db.SlotLen(s))
		}
		got := map[string]bool{}
		db.SlotKeys(s, -1, func(r Ref) bool { got[keyOf(db, r)] = true; return true })
		if len(got) != want {
			t.Fatalf("SlotKeys(%d) gave %d keys", s, len(got))
		}
		n := 0
		db.SlotKeys(s, 5, func(Ref) bool { n++; return true })
		if n != 5 {
			t.Fatalf("SlotKeys max=5 gave %d", n)
		}
	}
	if db.SlotLen(NumSlots-1) != 0 {
		t.Fatal("empty slot not empty")
	}
	plain := New(Options{})
	plain.SetString([]byte("x"), 9, nil, 0, false)
	if plain.SlotLen(9) != 0 {
		t.Fatal("SlotLen without SlotIndex must be 0")
	}
	mustCheck(t, db)
}

// scanAll runs a full SCAN, calling between(step) after each step.
func scanAll(db *DB, between func(step int)) map[string]bool {
	seen := map[string]bool{}
	cur, step := uint64(0), 0
	for {
		cur = db.Scan(cur, func(r Ref) { seen[keyOf(db, r)] = true })
		if cur == 0 {
			return seen
		}
		step++
		if between != nil {
			between(step)
		}
	}
}

// The SCAN guarantee under growth, shrinking and rehashing in progress.
func TestScanGuaranteeAcrossResizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 40; round++ {
		db := newSmall(Options{})
		stable := map[string]bool{}
		n := 10 + rng.IntN(3000)
		for i := 0; i < n; i++ {
			k := fmt.Sprintf("stable:%d", i)
			stable[k] = true
			db.SetString([]byte(k), 0, []byte("v"), 0, false)
		}
		var churn []string
		next := 0
		grow := round%2 == 0
		seen := scanAll(db, func(step int) {
			// Grow: add many keys per step; shrink: remove them again.
			for j := 0; j < 1+rng.IntN(200); j++ {
				if grow || len(churn) == 0 {
					k := fmt.Sprintf("churn:%d", next)
					next++
					churn = append(churn, k)
					db.SetString([]byte(k), 0, []byte("x"), 0, false)
				} else {
					db.Delete([]byte(churn[len(churn)-1]))
					churn = churn[:len(churn)-1]
				}
			}
			if step%7 == 0 {
				grow = !grow
			}
			if rng.IntN(3) == 0 {
				db.RehashStep(rng.IntN(4))
			}
		})
		for k := range stable {
			if !seen[k] {
				t.Fatalf("round %d: key %q present throughout was not returned", round, k)
			}
		}
		mustCheck(t, db)
	}
}

func TestScanShrinkMidScan(t *testing.T) {
	db := New(Options{})
	for i := 0; i < 5000; i++ {
		db.SetString([]byte(fmt.Sprint(i)), 0, nil, 0, false)
	}
	keep := map[string]bool{}
	for i := 0; i < 5000; i += 97 {
		keep[fmt.Sprint(i)] = true
	}
	deleted := false
	seen := scanAll(db, func(step int) {
		if step == 3 && !deleted {
			deleted = true
			for i := 0; i < 5000; i++ {
				if !keep[fmt.Sprint(i)] {
					db.Delete([]byte(fmt.Sprint(i)))
				}
			}
			for db.RehashStep(1000) {
			}
		}
	})
	if s := db.Stats(); s.Buckets > 1024 {
		t.Fatalf("table did not shrink: %d buckets", s.Buckets)
	}
	for k := range keep {
		if !seen[k] {
			t.Fatalf("key %q lost across a shrink", k)
		}
	}
}

func TestScanEmptyAndSingle(t *testing.T) {
	db := New(Options{})
	if db.Scan(0, func(Ref) { t.Fatal("visited a key of an empty DB") }) != 0 {
		t.Fatal("empty scan must finish at once")
	}
	db.SetString([]byte("only"), 0, nil, 0, false)
	if seen := scanAll(db, nil); len(seen) != 1 || !seen["only"] {
		t.Fatalf("seen %v", seen)
	}
}

func TestRehashIsIncremental(t *testing.T) {
	db := New(Options{})
	for i := 0; i < 1<<16; i++ {
		db.SetString([]byte(fmt.Sprint(i)), 0, nil, 0, false)
	}
	for db.RehashStep(100) {
	}
	// The next insert passes load factor 1 and starts a rehash that must not
	// complete in that one call.
	db.SetString([]byte("trigger"), 0, nil, 0, false)
	if !db.Stats().Rehashing {
		t.Fatal("expected a rehash in progress after crossing load factor 1")
	}
	steps := 0
	for db.RehashStep(1) {
		steps++
	}
	if steps < 1000 {
		t.Fatalf("rehash finished in %d steps: not incremental", steps)
	}
	if db.Stats().Buckets != 1<<17 {
		t.Fatalf("buckets %d", db.Stats().Buckets)
	}
	for i := 0; i < 1<<16; i += 1001 {
		if _, ok := db.Lookup([]byte(fmt.Sprint(i))); !ok {
			t.Fatalf("key %d lost in rehash", i)
		}
	}
	mustCheck(t, db)
}

func TestRandomKey(t *testing.T) {
	db := New(Options{})
	rng := rand.New(rand.NewPCG(3, 4))
	if _, ok := db.RandomKey(rng.IntN); ok {
		t.Fatal("RandomKey on empty DB")
	}
	for i := 0; i < 10; i++ {
		db.SetString([]byte(fmt.Sprint(i)), 0, nil, 0, false)
	}
	counts := map[string]int{}
	for i := 0; i < 10000; i++ {
		r, ok := db.RandomKey(rng.IntN)
		if !ok {
			t.Fatal("no key")
		}
		counts[keyOf(db, r)]++
	}
	for k, c := range counts {
		if c < 700 || c > 1300 {
			t.Fatalf("key %s drawn %d/10000 times: not fair", k, c)
		}
	}
	// Sparse entry table: the bucket fallback must still find the survivors.
	for i := 0; i < 20000; i++ {
		db.SetString([]byte(fmt.Sprint("x", i)), 0, nil, 0, false)
	}
	for i := 0; i < 20000; i++ {
		db.Delete([]byte(fmt.Sprint("x", i)))
	}
	for i := 0; i < 200; i++ {
		r, ok := db.RandomKey(rng.IntN)
		if !ok || len(keyOf(db, r)) != 1 {
			t.Fatalf("RandomKey on sparse table: %v %q", ok, keyOf(db, r))
		}
	}
}

func TestSampleExpiring(t *testing.T) {
	db := New(Options{})
	for i := 0; i < 20; i++ {
		r, _ := db.SetString([]byte(fmt.Sprint(i)), 0, nil, 0, false)
		if i%2 == 0 {
			db.SetExpireAt(r, int64(i))
		}
	}
	seen := map[string]int{}
	db.SampleExpiring(10, nil, func(r Ref) { seen[keyOf(db, r)]++ })
	if len(seen) != 10 {
		t.Fatalf("round robin visited %d distinct keys, want 10", len(seen))
	}
	for k := range seen {
		r, _ := db.Lookup([]byte(k))
		if db.ExpireAt(r) == NoExpire {
			t.Fatalf("sampled %s without TTL", k)
		}
	}
	// Deleting every sampled key (an expire cycle) must drain the index.
	for db.ExpiresLen() > 0 {
		db.SampleExpiring(3, nil, func(r Ref) { db.DeleteRef(r) })
	}
	if db.Len() != 10 {
		t.Fatalf("Len %d after expiring all TTL keys", db.Len())
	}
	rng := rand.New(rand.NewPCG(5, 6))
	db.SampleExpiring(5, rng.IntN, func(Ref) { t.Fatal("sampled with no TTLs") })
	mustCheck(t, db)
}

func TestForEachAndDeleteDuring(t *testing.T) {
	db := New(Options{})
	for i := 0; i < 1000; i++ {
		db.SetString([]byte(fmt.Sprint(i)), 0, nil, 0, false)
	}
	n := 0
	db.ForEach(func(r Ref) bool {
		n++
		if n%2 == 0 {
			db.DeleteRef(r)
		}
		return true
	})
	if n != 1000 || db.Len() != 500 {
		t.Fatalf("visited %d, left %d", n, db.Len())
	}
	n = 0
	db.ForEach(func(Ref) bool { n++; return n < 10 })
	if n != 10 {
		t.Fatal("ForEach did not stop")
	}
	mustCheck(t, db)
}

func TestClearAndSwap(t *testing.T) {
	a, b := New(Options{SlotIndex: true}), New(Options{})
	for i := 0; i < 3000; i++ {
		r, _ := a.SetString([]byte(fmt.Sprint(i)), uint16(i), []byte("v"), 0, false)
		a.SetExpireAt(r, 1)
	}
	b.SetString([]byte("b"), 0, []byte("vb"), 0, false)
	Swap(a, b)
	if a.Len() != 1 || b.Len() != 3000 || b.ExpiresLen() != 3000 || b.SlotLen(5) != 1 {
		t.Fatal("Swap")
	}
	if r, ok := a.Lookup([]byte("b")); !ok || string(a.Str(r)) != "vb" {
		t.Fatal("Swap lost a's new content")
	}
	b.Clear()
	if b.Len() != 0 || b.ExpiresLen() != 0 || b.SlotLen(5) != 0 || b.Stats().ArenaBytes != 0 {
		t.Fatalf("Clear left %+v", b.Stats())
	}
	if _, ok := b.Lookup([]byte("5")); ok {
		t.Fatal("key survived Clear")
	}
	b.SetString([]byte("again"), 0, nil, 0, false)
	mustCheck(t, b)
	mustCheck(t, a)
}

// Overwrites with changing sizes turn the arena into garbage; the automatic
// compaction must keep the arena within a small factor of the live bytes.
func TestCompactionBoundsGarbage(t *testing.T) {
	db := New(Options{})
	rng := rand.New(rand.NewPCG(7, 8))
	const keys = 20000
	for round := 0; round < 20; round++ {
		for i := 0; i < keys; i++ {
			db.SetString([]byte(fmt.Sprintf("key:%08d", i)), 0, make([]byte, 10+rng.IntN(40)), 0, false)
		}
	}
	s := db.Stats()
	if s.ArenaBytes > 2*s.LiveBytes+2*defaultMaxPage {
		t.Fatalf("arena %d bytes for %d live", s.ArenaBytes, s.LiveBytes)
	}
	db.Compact(1 << 20)
	s2 := db.Stats()
	if s2.ArenaBytes > 2*s2.LiveBytes+2*defaultMaxPage {
		t.Fatalf("after Compact: arena %d bytes for %d live", s2.ArenaBytes, s2.LiveBytes)
	}
	t.Logf("arena/live before full compact %.2f, after %.2f", float64(s.ArenaBytes)/float64(s.LiveBytes), float64(s2.ArenaBytes)/float64(s2.LiveBytes))
	mustCheck(t, db)
	for i := 0; i < keys; i += 111 {
		if _, ok := db.Lookup([]byte(fmt.Sprintf("key:%08d", i))); !ok {
			t.Fatal("key lost in compaction")
		}
	}
	// Deleting everything frees every page but the current one at once.
	for i := 0; i < keys; i++ {
		db.Delete([]byte(fmt.Sprintf("key:%08d", i)))
	}
	if s := db.Stats(); s.ArenaBytes > defaultMaxPage {
		t.Fatalf("deleted keys still hold %d arena bytes", s.ArenaBytes)
	}
	for i := 0; i < 100; i++ {
		db.RehashStep(1000)
	}
	db.Compact(1 << 20)
	if s := db.Stats(); s.ArenaBytes > defaultMaxPage || s.Buckets > 8 {
		t.Fatalf("empty DB still holds %+v", s)
	}
}

func TestHotPathAllocs(t *testing.T) {
	db := New(Options{SlotIndex: true})
	const n = 5000
	keys := make([][]byte, n)
	val := []byte("0123456789abcdef")
	for i := range keys {
		keys[i] = []byte(fmt.Sprintf("key:%012d", i))
		db.SetString(keys[i], uint16(i), val, 0, false)
	}
	for db.RehashStep(100) {
	}
	i := 0
	if a := testing.AllocsPerRun(1000, func() { db.Lookup(keys[i%n]); i++ }); a != 0 {
		t.Errorf("Lookup hit: %v allocs", a)
	}
	miss := []byte("no-such-key-here")
	if a := testing.AllocsPerRun(1000, func() { db.Lookup(miss) }); a != 0 {
		t.Errorf("Lookup miss: %v allocs", a)
	}
	val2 := []byte("fedcba9876543210")
	if a := testing.AllocsPerRun(1000, func() { db.SetString(keys[i%n], 0, val2, 0, false); i++ }); a != 0 {
		t.Errorf("SetString overwrite: %v allocs", a)
	}
	j := 0
	if a := testing.AllocsPerRun(400, func() { db.Delete(keys[j]); j++ }); a != 0 {
		t.Errorf("Delete: %v allocs", a)
	}
	r, _ := db.Lookup(keys[n-1])
	if a := testing.AllocsPerRun(1000, func() { db.Str(r); db.Key(r); db.ExpireAt(r); db.SetClock(r, 5) }); a != 0 {
		t.Errorf("accessors: %v allocs", a)
	}
}

// The package doc promises that lookups (which rehash) and TTL changes never
// move arena bytes, so a caller may hold values across them (MGET).
func TestValuesSurviveLookups(t *testing.T) {
	db := New(Options{})
	for i := 0; i < 1<<12; i++ {
		db.SetString([]byte(fmt.Sprint(i)), 0, []byte(fmt.Sprint("value-", i)), 0, false)
	}
	db.SetString([]byte("grow"), 0, nil, 0, false) // starts a rehash
	if !db.Stats().Rehashing {
		t.Fatal("expected a rehash in progress")
	}
	held := make([][]byte, 0, 100)
	for i := 0; i < 100; i++ {
		r, _ := db.Lookup([]byte(fmt.Sprint(i)))
		db.SetExpireAt(r, int64(i))
		held = append(held, db.Str(r))
	}
	for i := 0; i < 1<<12; i++ {
		db.Lookup([]byte(fmt.Sprint(i)))
	}
	if db.Stats().Rehashing {
		t.Fatal("lookups should have finished the rehash")
	}
	for i, v := range held {
		if string(v) != fmt.Sprint("value-", i) {
			t.Fatalf("held value %d changed to %q", i, v)
		}
	}
}
