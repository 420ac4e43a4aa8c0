package server

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/sard-kv/sard/internal/digest"
	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/testutil"
)

func TestSetPropagation(t *testing.T) {
	e := newKVEnv(t)
	e.expect(kvInt(3), "SADD", "s", "1", "2", "3")
	e.expect(kvInt(0), "SADD", "s", "1")
	e.expectStream("SELECT 0", "SADD s 1 2 3")

	// SPOP is propagated as SREM of the member it popped.
	m := strings.Split(e.do("SPOP", "s"), "\r\n")[1]
	e.expectStream("SREM s " + m)

	// SPOP with a count: one SREM per member, in a MULTI/EXEC when there are several.
	e.do("SADD", "t", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j")
	e.stream.take(t)
	e.do("SPOP", "t", "1")
	if got := e.stream.take(t); len(got) != 1 || !strings.HasPrefix(got[0], "SREM t ") {
		t.Fatalf("SPOP t 1 propagated %q", got)
	}
	for _, n := range []string{"3", "5"} { // the pop-one-by-one and the rebuild strategies
		e.do("SPOP", "t", n)
		got := e.stream.take(t)
		k, _ := strconv.Atoi(n)
		if len(got) != k+2 || got[0] != "MULTI" || got[len(got)-1] != "EXEC" {
			t.Fatalf("SPOP t %s propagated %q", n, got)
		}
		for _, c := range got[1 : len(got)-1] {
			if !strings.HasPrefix(c, "SREM t ") {
				t.Fatalf("SPOP t %s propagated %q", n, got)
			}
		}
	}
	e.expect(kvInt(1), "SCARD", "t")
	// Popping at least the whole set deletes it: DEL.
	e.do("SPOP", "t", "10")
	e.expectStream("DEL t")
	e.expect(kvInt(0), "EXISTS", "t")
	// Nothing popped, nothing propagated.
	e.do("SPOP", "t", "3")
	e.do("SPOP", "t")
	e.expectStream()

	e.do("SADD", "a", "x", "y")
	e.expect(kvInt(1), "SMOVE", "a", "b", "x")
	e.expect(kvInt(0), "SMOVE", "a", "b", "x")
	e.expect(kvInt(1), "SINTERSTORE", "c", "a", "a")
	e.expect(kvInt(0), "SINTERSTORE", "nothing", "a", "b")
	e.expect(kvInt(1), "SREM", "a", "y", "z")
	e.expectStream("SADD a x y", "SMOVE a b x", "SINTERSTORE c a a", "SREM a y z")
	e.expect(kvInt(0), "EXISTS", "a")
}

func TestHashPropagation(t *testing.T) {
	e := newKVEnv(t)
	e.expect(kvInt(2), "HSET", "h", "f", "1", "g", "2")
	e.expect(kvBulk("1.5"), "HINCRBYFLOAT", "h", "f", "0.5")
	e.expect(kvBulk("10.5"), "HINCRBYFLOAT", "h", "new", "10.5")
	e.expect(kvInt(1), "HSETNX", "h", "s", "abc")
	e.expect("-ERR hash value is not a float\r\n", "HINCRBYFLOAT", "h", "s", "1")
	e.expect(kvInt(3), "HINCRBY", "h", "g", "1")
	e.expect(kvInt(0), "HSETNX", "h", "g", "9")
	e.expect(kvInt(0), "HDEL", "h", "nope")
	e.expect(kvInt(3), "HDEL", "h", "f", "g", "new")
	e.expect(kvInt(1), "HDEL", "h", "s")
	e.expectStream("SELECT 0", "HSET h f 1 g 2", "HSET h f 1.5", "HSET h new 10.5", "HSETNX h s abc", "HINCRBY h g 1", "HDEL h f g new", "HDEL h s")
	e.expect(kvInt(0), "EXISTS", "h")
}

func TestSetHashEncodingsAndDirty(t *testing.T) {
	e := newKVEnv(t, "set-max-intset-entries", "3", "hash-max-listpack-entries", "2", "hash-max-listpack-value", "4")
	enc := func(key, want string) {
		t.Helper()
		e.expect(kvBulk(want), "OBJECT", "ENCODING", key)
	}
	e.do("SADD", "s", "1", "2", "3")
	enc("s", "intset")
	e.do("SADD", "s", "4")
	enc("s", "hashtable")
	e.do("HSET", "h", "a", "1", "b", "2")
	enc("h", "listpack")
	e.do("HSET", "h", "c", "3")
	enc("h", "hashtable")
	e.do("HSET", "v", "a", "12345")
	enc("v", "hashtable")

	dirty := e.s.dirty
	e.do("SADD", "d", "1", "2", "2")
	e.do("SPOP", "d", "5") // counts the 5 asked for, as Redis does
	e.do("HSET", "hd", "a", "1", "a", "2")
	if got := e.s.dirty - dirty; got != 2+5+2 {
		t.Fatalf("dirty grew by %d, want 9", got)
	}
}

// TestSetHashCopyAndDigest checks COPY gives independent values with the same digest in
// both encodings.
func TestSetHashCopyAndDigest(t *testing.T) {
	e := newKVEnv(t, "set-max-intset-entries", "4", "hash-max-listpack-entries", "4")
	e.do("SADD", "si", "1", "2", "3")
	e.do("SADD", "sh", "a", "b", "1")
	e.do("HSET", "hl", "f", "1", "g", "x")
	e.do("HSET", "hh", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10")
	for _, k := range []string{"si", "sh", "hl", "hh"} {
		e.expect(kvInt(1), "COPY", k, k+"2")
		db := e.s.dbs[0]
		if a, b := db.valueDigest([]byte(k)), db.valueDigest([]byte(k+"2")); a != b || a.IsZero() {
			t.Fatalf("%s: digest %s, copy %s", k, a, b)
		}
		if a, b := e.do("OBJECT", "ENCODING", k), e.do("OBJECT", "ENCODING", k+"2"); a != b {
			t.Fatalf("%s: encoding %q, copy %q", k, a, b)
		}
	}
	e.do("SADD", "si2", "9")
	e.do("HSET", "hh2", "new", "v")
	e.expect(kvInt(3), "SCARD", "si")
	e.expect(kvInt(5), "HLEN", "hh")
	if e.do("MEMORY", "USAGE", "hh")[0] != ':' || e.do("MEMORY", "USAGE", "si")[0] != ':' {
		t.Fatal("MEMORY USAGE of a collection is not an integer")
	}
}

// TestCollectionScanGuarantee checks SSCAN and HSCAN over hashtables return every element
// present from start to end, while elements are added and removed between calls.
func TestCollectionScanGuarantee(t *testing.T) {
	e := newKVEnv(t)
	for i := range 1000 {
		e.do("SADD", "s", "m"+strconv.Itoa(i))
		e.do("HSET", "h", "f"+strconv.Itoa(i), "v")
	}
	for _, cmd := range []string{"SSCAN", "HSCAN"} {
		key := strings.ToLower(cmd[:1])
		seen := map[string]bool{}
		cursor := "0"
		for round := 0; ; round++ {
			r := e.do(cmd, key, cursor, "COUNT", "20")
			cur, elems := parseScanReply(t, r)
			step := 1
			if cmd == "HSCAN" {
				step = 2
			}
			for i := 0; i < len(elems); i += step {
				seen[elems[i]] = true
			}
			// Churn: the table grows and shrinks under the cursor.
			if round%3 == 0 {
				for j := range 50 {
					e.do("SADD", "s", fmt.Sprintf("x%d_%d", round, j))
					e.do("HSET", "h", fmt.Sprintf("x%d_%d", round, j), "v")
				}
			}
			cursor = cur
			if cursor == "0" {
				break
			}
		}
		prefix := "m"
		if cmd == "HSCAN" {
			prefix = "f"
		}
		for i := range 1000 {
			if !seen[prefix+strconv.Itoa(i)] {
				t.Fatalf("%s missed %s%d", cmd, prefix, i)
			}
		}
	}
}

// setModel and hashModel drive the values directly against maps, with thresholds small
// enough that conversions happen on the way.
func TestSetValueModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		maxIntset := rapid.IntRange(0, 20).Draw(t, "maxIntset")
		s := &setValue{is: nil}
		model := map[string]bool{}
		member := rapid.OneOf(
			rapid.Map(rapid.Int64Range(-40, 40), func(v int64) string { return strconv.FormatInt(v, 10) }),
			rapid.SampledFrom([]string{"a", "b", "01", "-0", "", "9223372036854775808", "70000", "-9223372036854775808"}),
		)
		for i := rapid.IntRange(1, 150).Draw(t, "ops"); i > 0; i-- {
			m := member.Draw(t, "m")
			if s.is == nil && s.ht == nil {
				s = setCreateFor([]byte(m))
			}
			switch rapid.IntRange(0, 2).Draw(t, "op") {
			case 0, 1:
				if got := s.add([]byte(m), maxIntset); got == model[m] {
					t.Fatalf("add(%q) = %v with model %v", m, got, model[m])
				}
				model[m] = true
			case 2:
				if got := s.remove([]byte(m)); got != model[m] {
					t.Fatalf("remove(%q) = %v with model %v", m, got, model[m])
				}
				delete(model, m)
			}
			if s.size() != len(model) {
				t.Fatalf("size %d, model %d", s.size(), len(model))
			}
			allInts := true
			for k := range model {
				if !s.has([]byte(k)) {
					t.Fatalf("lost %q", k)
				}
				if _, err := strconv.ParseInt(k, 10, 64); err != nil || k == "-0" || (len(k) > 1 && k[0] == '0') {
					allInts = false
				}
			}
			if s.ht == nil && (!allInts || s.size() > maxIntset) {
				t.Fatalf("intset with members %v (max %d)", model, maxIntset)
			}
			var got []string
			s.each(func(m []byte, _ int64, _ bool) bool {
				got = append(got, string(m))
				return true
			})
			if len(got) != len(model) {
				t.Fatalf("each gave %d members, model %d", len(got), len(model))
			}
		}
	})
}

func TestHashValueModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		lim := hashLimits{rapid.IntRange(0, 12).Draw(t, "entries"), rapid.IntRange(0, 12).Draw(t, "value")}
		h := newHashValue()
		model := map[string]string{}
		str := rapid.OneOf(rapid.StringMatching(`[a-c]{0,3}`), rapid.StringMatching(`-?[0-9]{1,14}`))
		for i := rapid.IntRange(1, 150).Draw(t, "ops"); i > 0; i-- {
			f, v := str.Draw(t, "f"), str.Draw(t, "v")
			if rapid.IntRange(0, 2).Draw(t, "op") < 2 {
				_, had := model[f]
				h.tryConversion([][]byte{[]byte(f), []byte(v)}, lim)
				if got := h.set([]byte(f), []byte(v), lim); got != had {
					t.Fatalf("set(%q) = %v with model %v", f, got, had)
				}
				model[f] = v
			} else {
				_, had := model[f]
				if got := h.del([]byte(f)); got != had {
					t.Fatalf("del(%q) = %v with model %v", f, got, had)
				}
				delete(model, f)
			}
			if h.length() != len(model) {
				t.Fatalf("length %d, model %d", h.length(), len(model))
			}
			fits := len(model) <= lim.entries
			for k, want := range model {
				got, ok := h.get([]byte(k), nil)
				if !ok || string(got) != want {
					t.Fatalf("get(%q) = %q %v, want %q", k, got, ok, want)
				}
				if len(k) > lim.value || len(want) > lim.value {
					fits = false
				}
			}
			if h.ht == nil && !fits {
				t.Fatalf("listpack holding %v with limits %+v", model, lim)
			}
			n := 0
			h.each(func(f, v []byte) bool {
				if model[string(f)] != string(v) {
					t.Fatalf("each gave %q=%q", f, v)
				}
				n++
				return true
			})
			if n != len(model) {
				t.Fatalf("each gave %d pairs, model %d", n, len(model))
			}
		}
	})
}

// TestSetHashDigestMatchesEncodings checks a value digests the same in both encodings, which
// DEBUG DIGEST needs (Redis's digest does not depend on the encoding).
func TestSetHashDigestMatchesEncodings(t *testing.T) {
	small := setCreateFor([]byte("1"))
	big := setCreateFor([]byte("1"))
	for i := range 10 {
		small.add([]byte(strconv.Itoa(i)), 512)
		big.add([]byte(strconv.Itoa(i)), 0)
	}
	if small.enc() == big.enc() || small.Digest(digest.ForValue(), -1) != big.Digest(digest.ForValue(), -1) {
		t.Fatal("a set's digest depends on its encoding")
	}
	lp, ht := newHashValue(), newHashValue()
	for i := range 10 {
		lp.set([]byte(strconv.Itoa(i)), []byte("v"+strconv.Itoa(i)), hashLimits{512, 64})
		ht.set([]byte(strconv.Itoa(i)), []byte("v"+strconv.Itoa(i)), hashLimits{0, 64})
	}
	if lp.enc() == ht.enc() || lp.Digest(digest.ForValue(), -1) != ht.Digest(digest.ForValue(), -1) {
		t.Fatal("a hash's digest depends on its encoding")
	}
}

// TestHashMemory reports the bytes per field of a 1,000,000-field hash and of 100,000 small
// hashes, measured as Go heap growth (set SARD_MEMTEST=1; compare with redis-server's
// used_memory for the same data: ~72 B per big-hash field and ~210 B per 10-field hash
// with Redis 7.0 on 64-bit Linux).
func TestHashMemory(t *testing.T) {
	if os.Getenv("SARD_MEMTEST") == "" {
		t.Skip("memory measurement: set SARD_MEMTEST=1")
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	lim := hashLimits{512, 64}
	before := heap()
	h := newHashValue()
	var fb []byte
	for i := range 1_000_000 {
		fb = strconv.AppendInt(append(fb[:0], "f:"...), int64(i), 10)
		h.set(fb, []byte("v"), lim)
	}
	after := heap()
	t.Logf("1M-field hash (%s): %.1f bytes per field", h.EncodingName(), float64(after-before)/1e6)
	runtime.KeepAlive(h)
	h = nil

	before = heap()
	ks := keyspace.New(keyspace.Options{})
	for i := range 100_000 {
		sh := newHashValue()
		for j := range 10 {
			sh.set([]byte("field:"+strconv.Itoa(j)), []byte("value:"+strconv.Itoa(i)), lim)
		}
		key := []byte("hash:" + strconv.Itoa(i))
		ks.SetObj(key, 0, keyspace.TypeHash, sh.enc(), sh, false)
	}
	after = heap()
	t.Logf("100k 10-field hashes (listpack): %.1f bytes per hash, key included", float64(after-before)/1e5)
	runtime.KeepAlive(ks)

	before = heap()
	s := setCreateFor([]byte("m"))
	for i := range 1_000_000 {
		fb = strconv.AppendInt(append(fb[:0], "m:"...), int64(i), 10)
		s.add(fb, 512)
	}
	after = heap()
	t.Logf("1M-member set (%s): %.1f bytes per member", s.EncodingName(), float64(after-before)/1e6)
	runtime.KeepAlive(s)
}

func BenchmarkHashSetGetListpack(b *testing.B) {
	h := newHashValue()
	lim := hashLimits{512, 64}
	fields := make([][]byte, 100)
	for i := range fields {
		fields[i] = []byte("field:" + strconv.Itoa(i))
		h.set(fields[i], []byte("value"), lim)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		f := fields[i%len(fields)]
		h.set(f, []byte("other"), lim)
		h.get(f, nil)
	}
}

func BenchmarkSetAddHashtable(b *testing.B) {
	s := setCreateFor([]byte("a"))
	var buf []byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf = strconv.AppendInt(append(buf[:0], 'm'), int64(i%100000), 10)
		s.add(buf, 512)
	}
}

// TestSetHashDigestMatchesRedis builds the same random sets and hashes, in both encodings,
// with TTLs and deletions, on sard and redis-server, then compares DEBUG DIGEST, DEBUG
// DIGEST-VALUE and OBJECT ENCODING of every key.
func TestSetHashDigestMatchesRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sard-server and redis-server; skipped with -short")
	}
	sard, redis := debugPair(t)
	rng := rand.New(rand.NewPCG(3, 5))
	conns := []*testutil.RawConn{sard.Raw(), redis.Raw()}
	member := func() string {
		switch rng.IntN(5) {
		case 0:
			return strconv.FormatInt(rng.Int64N(1<<40)-1<<39, 10)
		case 1:
			return strconv.Itoa(rng.IntN(100))
		case 2:
			return fmt.Sprintf("m%d", rng.IntN(60))
		case 3:
			return strings.Repeat("x", rng.IntN(80)) // past hash-max-listpack-value sometimes
		}
		return strconv.Itoa(rng.IntN(2000))
	}
	for _, rc := range conns {
		rc.Do("CONFIG", "SET", "set-max-intset-entries", "20")
		rc.Do("CONFIG", "SET", "hash-max-listpack-entries", "20")
	}
	var keys []string
	for i := 0; i < 1500; i++ {
		var cmds [][]string
		switch rng.IntN(8) {
		case 0, 1, 2:
			key := fmt.Sprintf("s%d", rng.IntN(40))
			cmd := []string{"SADD", key}
			for range 1 + rng.IntN(6) {
				cmd = append(cmd, member())
			}
			cmds = append(cmds, cmd)
		case 3:
			cmds = append(cmds, []string{"SREM", fmt.Sprintf("s%d", rng.IntN(40)), member(), member()})
		case 4, 5:
			key := fmt.Sprintf("h%d", rng.IntN(40))
			cmd := []string{"HSET", key}
			for range 1 + rng.IntN(4) {
				cmd = append(cmd, member(), member())
			}
			cmds = append(cmds, cmd)
		case 6:
			key := fmt.Sprintf("h%d", rng.IntN(40))
			cmds = append(cmds, []string{"HDEL", key, member()}, []string{"HINCRBY", key, "n" + strconv.Itoa(rng.IntN(5)), "3"})
		default:
			k := fmt.Sprintf("%c%d", "sh"[rng.IntN(2)], rng.IntN(40))
			cmds = append(cmds, []string{"EXPIRE", k, "1000"})
			if rng.IntN(3) == 0 {
				cmds = append(cmds, []string{"SUNIONSTORE", fmt.Sprintf("s%d", rng.IntN(40)), fmt.Sprintf("s%d", rng.IntN(40)), fmt.Sprintf("s%d", rng.IntN(40))})
			}
		}
		for _, rc := range conns {
			for _, c := range cmds {
				if _, err := rc.Do(c...); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for i := range 40 {
		keys = append(keys, fmt.Sprintf("s%d", i), fmt.Sprintf("h%d", i))
	}
	var out [2]string
	for i, rc := range conns {
		d, _ := rc.Do("DEBUG", "DIGEST")
		v, _ := rc.Do(append([]string{"DEBUG", "DIGEST-VALUE"}, keys...)...)
		out[i] = string(d) + string(v)
		for _, k := range keys {
			e, _ := rc.Do("OBJECT", "ENCODING", k)
			out[i] += k + "=" + string(e)
		}
		rc.Do("CONFIG", "SET", "set-max-intset-entries", "512")
		rc.Do("CONFIG", "SET", "hash-max-listpack-entries", "512")
	}
	if out[0] != out[1] {
		t.Errorf("digests or encodings differ:\n  sard:  %q\n  redis: %q", out[0], out[1])
	}
	if strings.HasPrefix(out[0], "+0000000000000000000000000000000000000000") {
		t.Errorf("dataset digest is zero")
	}
}
