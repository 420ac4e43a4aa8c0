package quicklist

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/sard-kv/sard/internal/listpack"
	"github.com/sard-kv/sard/internal/lzf"
	"github.com/sard-kv/sard/internal/testutil"
	"pgregory.net/rapid"
)

type fataler interface{ Fatalf(string, ...any) }

// check verifies q's structure and that it holds exactly m.
func check(t fataler, q *List, m []string) {
	total := 0
	var got []string
	for i := range q.nodes {
		n := &q.nodes[i]
		lp := n.data
		if n.compressed {
			var err error
			lp, err = lzf.Decompress(nil, n.data, int(n.sz))
			if err != nil {
				t.Fatalf("node %d: %v", i, err)
			}
		}
		if err := listpack.Validate(lp, true); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		if int(n.sz) != len(lp) || int(n.count) != listpack.Len(lp) || n.count == 0 {
			t.Fatalf("node %d: sz %d/%d count %d/%d", i, n.sz, len(lp), n.count, listpack.Len(lp))
		}
		inDepth := i < q.depth || i >= len(q.nodes)-q.depth
		if n.compressed && (q.depth == 0 || inDepth) {
			t.Fatalf("node %d of %d compressed within depth %d", i, len(q.nodes), q.depth)
		}
		for p := listpack.First(lp); p >= 0; p = listpack.Next(lp, p) {
			got = append(got, string(listpack.GetBytes(lp, p, nil)))
		}
		total += int(n.count)
	}
	if total != q.Len() || len(m) != q.Len() {
		t.Fatalf("count %d, nodes hold %d, model %d", q.Len(), total, len(m))
	}
	for i := range m {
		if got[i] != m[i] {
			t.Fatalf("element %d: %q want %q", i, got[i], m[i])
		}
	}
}

func TestModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fill := rapid.SampledFrom([]int{-5, -2, -1, 1, 2, 3, 5, 128}).Draw(t, "fill")
		depth := rapid.IntRange(0, 3).Draw(t, "depth")
		q := New(fill, depth)
		elem := rapid.OneOf(
			rapid.StringMatching(`[0-9]{1,4}`),
			rapid.StringMatching(`(abc|xyz){0,40}`),
			rapid.Just(string(bytes.Repeat([]byte("z"), 2000))),
		)
		var m []string
		for range rapid.IntRange(0, 120).Draw(t, "ops") {
			switch op := rapid.IntRange(0, 9).Draw(t, "op"); {
			case op <= 1:
				s := elem.Draw(t, "s")
				q.Push([]byte(s), Head)
				m = append([]string{s}, m...)
			case op <= 3:
				s := elem.Draw(t, "s")
				q.Push([]byte(s), Tail)
				m = append(m, s)
			case op == 4:
				where := rapid.IntRange(Head, Tail).Draw(t, "where")
				v, ok := q.Pop(where, nil)
				if ok != (len(m) > 0) {
					t.Fatalf("pop ok %v with %d", ok, len(m))
				}
				if ok {
					want := m[0]
					if where == Tail {
						want = m[len(m)-1]
						m = m[:len(m)-1]
					} else {
						m = m[1:]
					}
					if string(v) != want {
						t.Fatalf("pop %q want %q", v, want)
					}
				}
			case op == 5 && len(m) > 0:
				i := rapid.IntRange(-len(m), len(m)-1).Draw(t, "i")
				s := elem.Draw(t, "s")
				if !q.Replace(i, []byte(s)) {
					t.Fatalf("replace %d failed", i)
				}
				if i < 0 {
					i += len(m)
				}
				m[i] = s
			case op == 6 && len(m) > 0:
				start := rapid.IntRange(0, len(m)-1).Draw(t, "start")
				n := rapid.IntRange(1, len(m)).Draw(t, "n")
				got := q.DelRange(start, n)
				n = min(n, len(m)-start)
				if got != n {
					t.Fatalf("delrange removed %d want %d", got, n)
				}
				m = append(m[:start], m[start+n:]...)
			case op == 7 && len(m) > 0:
				// LREM-like: delete every element equal to a target, either direction
				target := m[rapid.IntRange(0, len(m)-1).Draw(t, "t")]
				reverse := rapid.Bool().Draw(t, "rev")
				start := 0
				if reverse {
					start = -1
				}
				it := q.Iterator(start, reverse)
				seen := 0
				for e, ok := it.Next(); ok; e, ok = it.Next() {
					seen++
					if string(e.Bytes(nil)) == target {
						it.Delete()
					}
				}
				it.Done()
				if seen != len(m) {
					t.Fatalf("iterated %d of %d", seen, len(m))
				}
				var nm []string
				for _, s := range m {
					if s != target {
						nm = append(nm, s)
					}
				}
				m = nm
			case op == 8 && len(m) > 0:
				i := rapid.IntRange(0, len(m)-1).Draw(t, "i")
				after := rapid.Bool().Draw(t, "after")
				s := elem.Draw(t, "s")
				it := q.Iterator(i, false)
				if _, ok := it.Next(); !ok {
					t.Fatalf("no element %d", i)
				}
				it.Insert([]byte(s), after)
				j := i
				if after {
					j++
				}
				m = append(m[:j], append([]string{s}, m[j:]...)...)
			case op == 9 && len(m) > 0:
				i := rapid.IntRange(-len(m), len(m)-1).Draw(t, "i")
				e, ok := q.Index(i)
				if i < 0 {
					i += len(m)
				}
				if !ok || string(e.Bytes(nil)) != m[i] {
					t.Fatalf("index %d: %q", i, e.Bytes(nil))
				}
				// a reverse walk from here sees the model's prefix backwards
				it := q.Iterator(i, true)
				for j := i; j >= 0; j-- {
					e, ok := it.Next()
					if !ok || string(e.Bytes(nil)) != m[j] {
						t.Fatalf("reverse walk at %d", j)
					}
				}
				if _, ok := it.Next(); ok {
					t.Fatalf("reverse walk went past the head")
				}
			}
			check(t, q, m)
		}
		c := q.Clone()
		check(t, c, m)
	})
}

// TestNodeLayoutMatchesRedis pushes, inserts and trims on redis-server with small node
// limits and compression, and compares every node of the DUMP payload (listpack bytes,
// and whether Redis stored it compressed) with ours.
func TestNodeLayoutMatchesRedis(t *testing.T) {
	srv := testutil.StartRedis(t)
	rc := testutil.DialRaw(t, srv.Addr)
	defer rc.Close()
	do := func(args ...string) []byte {
		out, err := rc.Do(args...)
		if err != nil || out[0] == '-' {
			t.Fatalf("%v: %q %v", args, out, err)
		}
		return out
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, cfg := range []struct{ fill, depth int }{{3, 0}, {5, 1}, {-1, 1}, {4, 2}, {-2, 0}} {
		do("CONFIG", "SET", "list-max-listpack-size", strconv.Itoa(cfg.fill))
		do("CONFIG", "SET", "list-compress-depth", strconv.Itoa(cfg.depth))
		for round := 0; round < 15; round++ {
			do("DEL", "l")
			q := New(cfg.fill, cfg.depth)
			val := func() string {
				if r.IntN(3) == 0 {
					return strconv.Itoa(r.IntN(100000))
				}
				return fmt.Sprintf("element-%d-%s", r.IntN(1000), bytes.Repeat([]byte("ab"), r.IntN(300)))
			}
			for step := 0; step < 60; step++ {
				switch op := r.IntN(10); {
				case op < 3 || q.Len() == 0:
					v := val()
					do("RPUSH", "l", v)
					q.Push([]byte(v), Tail)
				case op < 5:
					v := val()
					do("LPUSH", "l", v)
					q.Push([]byte(v), Head)
				case op < 7:
					// LINSERT at a random pivot: make the pivot unique first
					i := r.IntN(q.Len())
					pivot := fmt.Sprintf("pivot-%d-%d", round, step)
					do("LSET", "l", strconv.Itoa(i), pivot)
					q.Replace(i, []byte(pivot))
					v := val()
					after := r.IntN(2) == 0
					where := "BEFORE"
					if after {
						where = "AFTER"
					}
					do("LINSERT", "l", where, pivot, v)
					it := q.Iterator(i, false)
					it.Next()
					it.Insert([]byte(v), after)
				case op == 7:
					do("RPOP", "l")
					q.Pop(Tail, nil)
				case op == 8:
					do("LPOP", "l")
					q.Pop(Head, nil)
				case op == 9 && q.Len() > 4:
					do("LTRIM", "l", "1", "-2")
					q.DelRange(0, 1)
					q.DelRange(-1, 1)
				}
			}
			compareDump(t, do("DUMP", "l"), q, fmt.Sprintf("fill %d depth %d round %d", cfg.fill, cfg.depth, round))
		}
	}
}

func compareDump(t *testing.T, raw []byte, q *List, what string) {
	t.Helper()
	i := bytes.Index(raw, []byte("\r\n"))
	n, _ := strconv.Atoi(string(raw[1:i]))
	b := raw[i+2 : i+2+n]
	if b[0] != 18 {
		t.Fatalf("%s: type %d", what, b[0])
	}
	p := 1
	nodes := rdbLen(b, &p)
	if nodes != q.NodeCount() {
		t.Fatalf("%s: redis has %d nodes, we have %d", what, nodes, q.NodeCount())
	}
	for k := 0; k < nodes; k++ {
		if container := rdbLen(b, &p); container != 2 {
			t.Fatalf("container %d", container)
		}
		redisCompressed := false
		var lp []byte
		if b[p] == 0xC3 {
			p++
			clen := rdbLen(b, &p)
			ulen := rdbLen(b, &p)
			var err error
			lp, err = lzf.Decompress(nil, b[p:p+clen], ulen)
			if err != nil {
				t.Fatal(err)
			}
			p += clen
			redisCompressed = true
		} else {
			l := rdbLen(b, &p)
			lp = b[p : p+l]
			p += l
		}
		data, compressed, sz := q.Node(k)
		ours := data
		if compressed {
			ours, _ = lzf.Decompress(nil, data, sz)
		}
		if !bytes.Equal(ours, lp) {
			t.Fatalf("%s: node %d of %d differs\nsard:  %d entries %d bytes\nredis: %d entries %d bytes",
				what, k, nodes, listpack.Len(ours), len(ours), listpack.Len(lp), len(lp))
		}
		// RDB compresses any string over 20 bytes it can, so a raw node of ours may be
		// compressed in the dump; a compressed node of ours must be compressed there too
		if compressed && !redisCompressed {
			t.Fatalf("%s: node %d compressed here, not in redis", what, k)
		}
	}
}

func rdbLen(b []byte, p *int) int {
	c := b[*p]
	switch c >> 6 {
	case 0:
		*p++
		return int(c & 0x3F)
	case 1:
		v := int(c&0x3F)<<8 | int(b[*p+1])
		*p += 2
		return v
	}
	v := int(b[*p+1])<<24 | int(b[*p+2])<<16 | int(b[*p+3])<<8 | int(b[*p+4])
	*p += 5
	return v
}

func BenchmarkPushTail(b *testing.B) {
	v := []byte("some-value-of-moderate-size")
	q := New(-2, 0)
	for b.Loop() {
		q.Push(v, Tail)
	}
}

func BenchmarkPushPop(b *testing.B) {
	v := []byte("some-value")
	q := New(-2, 0)
	for range 1000 {
		q.Push(v, Tail)
	}
	var buf []byte
	for b.Loop() {
		q.Push(v, Head)
		buf, _ = q.Pop(Tail, buf)
	}
}
