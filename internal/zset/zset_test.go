package zset

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"testing"

	"github.com/sard-kv/sard/internal/digest"
	"pgregory.net/rapid"
)

type elem struct {
	m string
	s float64
}

// model is a sorted slice of (score, member).
type model []elem

func (m model) sorted() model {
	c := append(model(nil), m...)
	sort.Slice(c, func(i, j int) bool {
		if c[i].s != c[j].s {
			return c[i].s < c[j].s
		}
		return c[i].m < c[j].m
	})
	return c
}

func (m model) find(member string) int {
	for i, e := range m {
		if e.m == member {
			return i
		}
	}
	return -1
}

func contents(s *Set) model {
	var out model
	s.Range(0, s.Len()-1, false, func(member []byte, score float64) bool {
		out = append(out, elem{string(member), score})
		return true
	})
	return out
}

func sameScore(a, b float64) bool { return a == b }

func checkEqual(t *rapid.T, s *Set, m model) {
	want := m.sorted()
	got := contents(s)
	if len(got) != len(want) || s.Len() != len(want) {
		t.Fatalf("len %d/%d want %d", len(got), s.Len(), len(want))
	}
	for i := range want {
		if got[i].m != want[i].m || !sameScore(got[i].s, want[i].s) {
			t.Fatalf("rank %d: got %v want %v", i, got[i], want[i])
		}
	}
	if !s.Check() {
		t.Fatalf("invariants broken")
	}
}

func TestSetModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		big := rapid.Bool().Draw(t, "big")
		s := New()
		if big {
			s = NewBig()
		}
		var m model
		members := rapid.SampledFrom([]string{"a", "b", "c", "10", "-3", "x", "yy", "zzz", "", "7", "m1", "m2", "m3"})
		memberGen := rapid.OneOf(members, rapid.StringMatching(`[a-e0-9]{0,4}`))
		scoreGen := rapid.OneOf(rapid.SampledFrom([]float64{0, 1, -1, 2.5, math.Inf(1), math.Inf(-1), 1e300, 3}),
			rapid.Float64Range(-100, 100))
		n := rapid.IntRange(0, 600).Draw(t, "ops")
		for i := 0; i < n; i++ {
			switch op := rapid.IntRange(0, 9).Draw(t, "op"); {
			case op < 5:
				mem := memberGen.Draw(t, "m")
				sc := scoreGen.Draw(t, "s")
				if j := m.find(mem); j >= 0 {
					s.Update([]byte(mem), sc)
					m[j].s = sc
				} else {
					s.Insert([]byte(mem), sc)
					m = append(m, elem{mem, sc})
				}
			case op < 7:
				mem := memberGen.Draw(t, "m")
				j := m.find(mem)
				if s.Remove([]byte(mem)) != (j >= 0) {
					t.Fatalf("remove %q", mem)
				}
				if j >= 0 {
					m = append(m[:j], m[j+1:]...)
				}
			case op == 7 && len(m) > 0:
				a := rapid.IntRange(0, len(m)-1).Draw(t, "a")
				b := rapid.IntRange(a, min(len(m)-1, a+40)).Draw(t, "b")
				ms := m.sorted()
				s.RemoveRange(a, b, nil)
				m = append(ms[:a:a], ms[b+1:]...)
			case op == 8:
				if s.IsBig() {
					s.ConvertToSmall()
				} else {
					s.ConvertToBig()
				}
			default:
				ms := m.sorted()
				for i, e := range ms {
					r, sc, ok := s.Rank([]byte(e.m))
					if !ok || r != i || sc != e.s {
						t.Fatalf("rank %q: %d %v %v want %d", e.m, r, sc, ok, i)
					}
				}
				lim := scoreGen.Draw(t, "lim")
				want := 0
				for _, e := range ms {
					if e.s < lim {
						want++
					}
				}
				if got := s.CountWhileScore(func(sc float64) bool { return sc < lim }); got != want {
					t.Fatalf("count < %v: %d want %d", lim, got, want)
				}
			}
		}
		// the listpack stores -0 as 0; normalise the model the same way before comparing
		if !s.IsBig() {
			for i := range m {
				if m[i].s == 0 {
					m[i].s = 0
				}
			}
		}
		checkEqual(t, s, m)
		// reverse iteration and clone agree
		fw := contents(s)
		var rv model
		s.Range(0, s.Len()-1, true, func(member []byte, score float64) bool {
			rv = append(rv, elem{string(member), score})
			return true
		})
		for i := range fw {
			if fw[i] != rv[len(rv)-1-i] {
				t.Fatalf("reverse differs at %d", i)
			}
		}
		c := s.CloneValue().(*Set)
		if fmt.Sprint(contents(c)) != fmt.Sprint(fw) {
			t.Fatalf("clone differs")
		}
		if s.Digest(digest.ForValue(), -1) != c.Digest(digest.ForValue(), -1) {
			t.Fatalf("digest differs")
		}
	})
}

// TestBigTree exercises many levels of the tree: random inserts and deletes against a
// model, with the invariants checked along the way.
func TestBigTree(t *testing.T) {
	s := NewBig()
	m := map[string]float64{}
	rnd := uint64(1)
	next := func() uint64 { rnd ^= rnd << 13; rnd ^= rnd >> 7; rnd ^= rnd << 17; return rnd }
	for i := 0; i < 60000; i++ {
		k := "k" + strconv.Itoa(int(next()%20000))
		sc := float64(next() % 1000)
		if _, ok := m[k]; ok {
			if next()%3 == 0 {
				s.Remove([]byte(k))
				delete(m, k)
			} else {
				s.Update([]byte(k), sc)
				m[k] = sc
			}
		} else {
			s.Insert([]byte(k), sc)
			m[k] = sc
		}
		if i%10000 == 0 && !s.Check() {
			t.Fatalf("invariants broken at %d", i)
		}
	}
	if s.Len() != len(m) || !s.Check() {
		t.Fatalf("len %d want %d", s.Len(), len(m))
	}
	// remove almost everything by rank and check the tree shrinks back
	s.RemoveRange(0, s.Len()-2, nil)
	if s.Len() != 1 || !s.Check() || s.big.t.height != 0 {
		t.Fatalf("after range removal: len %d height %d", s.Len(), s.big.t.height)
	}
}

func TestAscendingFill(t *testing.T) {
	s := NewBig()
	for i := 0; i < 100000; i++ {
		s.Insert([]byte("m:"+strconv.Itoa(i)), float64(i))
	}
	live := len(s.big.t.leaves) - len(s.big.t.freeL)
	if live > 100000/leafCap+2 {
		t.Fatalf("ascending inserts used %d leaves", live)
	}
	r, _, _ := s.Rank([]byte("m:77777"))
	if r != 77777 {
		t.Fatalf("rank %d", r)
	}
}

func TestListpackScores(t *testing.T) {
	s := New()
	s.Insert([]byte("a"), math.Copysign(0, -1))
	s.Insert([]byte("b"), 1.5)
	s.Insert([]byte("c"), math.Inf(1))
	s.Insert([]byte("d"), 1<<53)
	var got []string
	s.Scan(0, func(m, sc []byte) { got = append(got, string(m)+"="+string(sc)) })
	want := "[a=0 b=1.5 d=9007199254740992 c=inf]"
	if fmt.Sprint(got) != want {
		t.Fatalf("got %v want %s", got, want)
	}
}

func BenchmarkInsertRandom(b *testing.B) {
	s := NewBig()
	keys := make([][]byte, 1<<16)
	for i := range keys {
		keys[i] = []byte("member:" + strconv.Itoa(i))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := keys[i&(len(keys)-1)]
		if !s.Remove(k) {
			s.Insert(k, float64((i*7919)%100000))
		}
	}
}

func BenchmarkRank(b *testing.B) {
	s := NewBig()
	for i := 0; i < 100000; i++ {
		s.Insert([]byte("member:"+strconv.Itoa(i)), float64(i*31%1000))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Rank([]byte("member:" + strconv.Itoa(i%100000)))
	}
}

// TestMemoryPerMember measures the heap a 1,000,000-member set uses (SARD_MEMTEST=1).
func TestMemoryPerMember(t *testing.T) {
	if os.Getenv("SARD_MEMTEST") == "" {
		t.Skip("memory measurement: set SARD_MEMTEST=1")
	}
	var before, after runtime.MemStats
	runtime.GC()
	debug.FreeOSMemory()
	runtime.ReadMemStats(&before)
	s := NewBig()
	for i := 0; i < 1000000; i++ {
		s.Insert([]byte("member:"+strconv.Itoa(i)), float64(i)*1.5)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / 1e6
	t.Logf("1M members (\"member:N\"): %.1f bytes/member live heap", per)
	runtime.KeepAlive(s)
}
