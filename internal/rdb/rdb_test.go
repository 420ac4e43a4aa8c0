package rdb

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/sard-kv/sard/internal/crc64"
	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/listpack"
	"github.com/sard-kv/sard/internal/stream"
)

var testLimits = Limits{ListFill: -2, ListDepth: 0, SetMaxIntset: 512, HashMaxEntries: 128,
	HashMaxValue: 64, ZSetMaxEntries: 128, ZSetMaxValue: 64, Databases: 16}

func TestLenEncoding(t *testing.T) {
	cases := []struct {
		v    uint64
		size int
	}{{0, 1}, {63, 1}, {64, 2}, {16383, 2}, {16384, 5}, {math.MaxUint32, 5}, {math.MaxUint32 + 1, 9}, {math.MaxUint64, 9}}
	for _, c := range cases {
		b := AppendLen(nil, c.v)
		if len(b) != c.size {
			t.Errorf("%d: %d bytes, want %d", c.v, len(b), c.size)
		}
		d := NewBytesDecoder(b)
		if got := d.Len(); got != c.v || d.Err() != nil {
			t.Errorf("%d: decoded %d (%v)", c.v, got, d.Err())
		}
	}
}

func TestStringEncodings(t *testing.T) {
	long := bytes.Repeat([]byte("abcd"), 50)
	cases := []struct {
		in    string
		first byte // first encoded byte
		size  int  // total encoded size, 0: do not check
	}{
		{"12", 0xC0, 2}, {"-128", 0xC0, 2}, {"-129", 0xC1, 3}, {"32767", 0xC1, 3},
		{"32768", 0xC2, 5}, {"-2147483648", 0xC2, 5}, {"2147483648", 10, 11},
		{"007", 3, 4}, {"-0", 2, 3}, {"", 0, 1}, {"hello", 5, 6},
		{string(long), 0xC3, 0},
	}
	for _, c := range cases {
		e := Encoder{Compress: true}
		e.String([]byte(c.in))
		if e.Buf[0] != c.first || (c.size != 0 && len(e.Buf) != c.size) {
			t.Errorf("%q: encoded % x", c.in, e.Buf)
		}
		d := NewBytesDecoder(e.Buf)
		if got := d.String(); string(got) != c.in || d.Err() != nil {
			t.Errorf("%q: decoded %q (%v)", c.in, got, d.Err())
		}
	}
	e := Encoder{}
	e.String(long)
	if e.Buf[0] == 0xC3 {
		t.Error("compressed with rdbcompression off")
	}
}

// seedFiles are dumps written by redis-server 7.0.15 and by sard from the same dataset
// (TestRDBInterop in internal/server regenerates them with SARD_RDB_SEEDS set).
func seedFiles(t testing.TB) map[string][]byte {
	paths, _ := filepath.Glob("testdata/*.rdb")
	if len(paths) == 0 {
		t.Fatal("no seed dumps in testdata")
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

// exercise walks every part of a loaded value the way commands would, so a value that
// passed validation but would crash the server later is caught here.
func exercise(o *Object) {
	switch {
	case o.List != nil:
		it := o.List.Iterator(0, false)
		for _, ok := it.Next(); ok; _, ok = it.Next() {
		}
		it = o.List.Iterator(-1, true)
		for _, ok := it.Next(); ok; _, ok = it.Next() {
		}
	case o.Table != nil:
		o.Table.ForEach(func(r keyspace.Ref) bool { _ = o.Table.Str(r); return true })
	case o.Listpack != nil:
		for p := listpack.First(o.Listpack); p >= 0; p = listpack.Next(o.Listpack, p) {
			listpack.GetBytes(o.Listpack, p, nil)
		}
	case o.ZSet != nil:
		o.ZSet.Range(0, o.ZSet.Len()-1, false, func([]byte, float64) bool { return true })
		o.ZSet.Range(0, o.ZSet.Len()-1, true, func([]byte, float64) bool { return true })
	case o.Stream != nil:
		s := o.Stream
		s.Range(stream.ID{}, stream.MaxID, false, func(stream.ID, [][]byte) bool { return true })
		s.Range(stream.ID{}, stream.MaxID, true, func(stream.ID, [][]byte) bool { return true })
		s.FirstLive()
		s.LastLive()
		for _, g := range s.Groups() {
			g.PEL.Ascend(stream.ID{}, func(_ stream.ID, n *stream.NACK) bool { _ = n.Consumer.Name; return true })
			s.Lag(g)
		}
	case o.Intset != nil:
		for i := 0; i < o.Intset.Len(); i++ {
			o.Intset.Get(i)
		}
	}
}

func loadAll(b []byte, lim Limits) (int64, error) {
	st, err := Load(bytes.NewReader(b), lim, Handler{
		Function: func([]byte) error { return nil },
		Key: func(_ []byte, o *Object, _ KeyInfo) error {
			exercise(o)
			return nil
		},
	})
	return st.Keys, err
}

func TestLoadSeeds(t *testing.T) {
	for name, b := range seedFiles(t) {
		n, err := loadAll(b, testLimits)
		if err != nil || n < 60 {
			t.Errorf("%s: %d keys, %v", name, n, err)
		}
	}
}

// TestTruncatedFiles cuts a real dump at every offset: each must fail with an error naming
// an offset within the data, never load partially without saying so, never panic.
func TestTruncatedFiles(t *testing.T) {
	b := seedFiles(t)["redis-yes.rdb"]
	for n := 0; n < len(b); n++ {
		_, err := loadAll(b[:n], testLimits)
		if err == nil {
			t.Fatalf("truncated at %d of %d: no error", n, len(b))
		}
		if re, ok := err.(*Error); !ok || re.Offset > int64(n) {
			t.Fatalf("truncated at %d: error %v", n, err)
		}
	}
}

// TestCorruptedFiles flips random bytes: with the checksum on every flip is refused; with
// it off (rdbchecksum no) the structural checks alone must keep loading from panicking.
func TestCorruptedFiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rounds := 3000
	if testing.Short() {
		rounds = 200
	}
	for name, orig := range seedFiles(t) {
		for i := 0; i < rounds; i++ {
			b := bytes.Clone(orig)
			for k := rng.IntN(3) + 1; k > 0; k-- {
				b[9+rng.IntN(len(b)-9)] ^= byte(rng.IntN(255) + 1)
			}
			if _, err := loadAll(b, testLimits); err == nil {
				t.Fatalf("%s: corrupted copy %d loaded without error", name, i)
			}
			lim := testLimits
			lim.SkipChecksum = true
			loadAll(b, lim)
		}
	}
}

func TestChecksumMismatch(t *testing.T) {
	b := bytes.Clone(seedFiles(t)["sard-yes.rdb"])
	b[len(b)-1] ^= 1
	if _, err := loadAll(b, testLimits); err == nil {
		t.Fatal("wrong checksum accepted")
	}
	lim := testLimits
	lim.SkipChecksum = true
	if _, err := loadAll(b, lim); err != nil {
		t.Fatalf("rdbchecksum no still checked: %v", err)
	}
	binary.LittleEndian.PutUint64(b[len(b)-8:], 0) // a file saved with rdbchecksum no
	if _, err := loadAll(b, testLimits); err != nil {
		t.Fatalf("zero checksum refused: %v", err)
	}
}

// fileWith builds a version-9 file holding one key of type t with the given value bytes.
func fileWith(t byte, key string, value []byte) []byte {
	b := []byte("REDIS0009")
	b = append(b, OpSelectDB, 0, t)
	b = AppendLen(b, uint64(len(key)))
	b = append(b, key...)
	b = append(b, value...)
	b = append(b, OpEOF)
	return binary.LittleEndian.AppendUint64(b, crc64.Checksum(b))
}

func str(s string) []byte { return append(AppendLen(nil, uint64(len(s))), s...) }

// ziplist builds a ziplist of strings, storing canonical small integers as int16 entries.
func ziplist(elems ...string) []byte {
	var body []byte
	prev, tail := 0, 10
	for _, e := range elems {
		start := len(body)
		tail = 10 + start
		body = append(body, byte(prev))
		if v, err := strconv.ParseInt(e, 10, 16); err == nil && strconv.FormatInt(v, 10) == e {
			body = append(body, 0xC0)
			body = binary.LittleEndian.AppendUint16(body, uint16(v))
		} else {
			body = append(body, byte(len(e)))
			body = append(body, e...)
		}
		prev = len(body) - start
	}
	zl := binary.LittleEndian.AppendUint32(nil, uint32(10+len(body)+1))
	zl = binary.LittleEndian.AppendUint32(zl, uint32(tail))
	zl = binary.LittleEndian.AppendUint16(zl, uint16(len(elems)))
	zl = append(zl, body...)
	return append(zl, 0xFF)
}

func loadOne(t *testing.T, file []byte) *Object {
	t.Helper()
	var got *Object
	_, err := Load(bytes.NewReader(file), testLimits, Handler{Key: func(_ []byte, o *Object, _ KeyInfo) error {
		got = o
		return nil
	}})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if got == nil {
		t.Fatal("no key loaded")
	}
	exercise(got)
	return got
}

// TestOldEncodings reads the encodings of files written by Redis 2.x to 6.x.
func TestOldEncodings(t *testing.T) {
	t.Run("list-ziplist", func(t *testing.T) {
		o := loadOne(t, fileWith(TypeListZiplist, "l", str(string(ziplist("a", "12", "bcd")))))
		if o.List.Len() != 3 {
			t.Errorf("len %d", o.List.Len())
		}
	})
	t.Run("list-quicklist-v1", func(t *testing.T) {
		v := append(AppendLen(nil, 2), str(string(ziplist("a", "b")))...)
		v = append(v, str(string(ziplist("-5", "x")))...)
		o := loadOne(t, fileWith(TypeListQuicklist, "l", v))
		if o.List.Len() != 4 || o.List.NodeCount() != 2 {
			t.Errorf("len %d nodes %d", o.List.Len(), o.List.NodeCount())
		}
	})
	t.Run("list-linked", func(t *testing.T) {
		v := append(AppendLen(nil, 2), str("x")...)
		v = append(v, str("y")...)
		if o := loadOne(t, fileWith(TypeList, "l", v)); o.List.Len() != 2 {
			t.Errorf("len %d", o.List.Len())
		}
	})
	t.Run("hash-ziplist", func(t *testing.T) {
		o := loadOne(t, fileWith(TypeHashZiplist, "h", str(string(ziplist("f", "1", "g", "v")))))
		if listpack.Len(o.Listpack) != 4 {
			t.Errorf("listpack len %d", listpack.Len(o.Listpack))
		}
	})
	t.Run("hash-zipmap", func(t *testing.T) {
		zm := []byte{2, 1, 'f', 2, 0, 'v', 'w', 1, 'g', 1, 1, 'x', 0, 0xFF}
		o := loadOne(t, fileWith(TypeHashZipmap, "h", str(string(zm))))
		if listpack.Len(o.Listpack) != 4 {
			t.Errorf("listpack len %d", listpack.Len(o.Listpack))
		}
	})
	t.Run("zset-ziplist", func(t *testing.T) {
		o := loadOne(t, fileWith(TypeZSetZiplist, "z", str(string(ziplist("b", "2", "a", "1.5")))))
		m, s := o.ZSet.At(0)
		if o.ZSet.Len() != 2 || string(m) != "a" || s != 1.5 {
			t.Errorf("len %d first %s %v", o.ZSet.Len(), m, s)
		}
	})
	t.Run("zset-v1", func(t *testing.T) {
		v := append(AppendLen(nil, 2), str("a")...)
		v = append(v, 3, '1', '.', '5')
		v = append(v, str("b")...)
		v = append(v, 254) // +inf
		o := loadOne(t, fileWith(TypeZSet, "z", v))
		if sc, _ := o.ZSet.Score([]byte("b")); !math.IsInf(sc, 1) {
			t.Errorf("score %v", sc)
		}
	})
	t.Run("set-plain-converts", func(t *testing.T) {
		v := append(AppendLen(nil, 2), str("1")...)
		v = append(v, str("x")...)
		if o := loadOne(t, fileWith(TypeSet, "s", v)); o.Table == nil || o.Table.Len() != 2 {
			t.Error("mixed set not a hashtable")
		}
	})
}

// TestInvalidValues checks values Redis refuses are refused here too.
func TestInvalidValues(t *testing.T) {
	dupSet := append(AppendLen(nil, 2), str("x")...)
	dupSet = append(dupSet, str("x")...)
	cases := map[string][]byte{
		"dup-set":     fileWith(TypeSet, "s", dupSet),
		"bad-ziplist": fileWith(TypeListZiplist, "l", str("\x0b\x00\x00\x00\x0a\x00\x00\x00\x01\x00\xff")),
		"odd-hash":    fileWith(TypeHashZiplist, "h", str(string(ziplist("f", "v", "g")))),
		"bad-intset":  fileWith(TypeSetIntset, "s", str("\x02\x00\x00\x00\x02\x00\x00\x00\x05\x00\x01\x00")),
		"unknown":     fileWith(42, "k", str("v")),
		"module":      fileWith(TypeModule2, "k", str("v")),
	}
	for name, b := range cases {
		if _, err := loadAll(b, testLimits); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Empty collections are skipped, not errors.
	st, err := Load(bytes.NewReader(fileWith(TypeSet, "s", AppendLen(nil, 0))), testLimits, Handler{})
	if err != nil || st.EmptySkipped != 1 {
		t.Errorf("empty set: %v %+v", err, st)
	}
}

func TestDumpPayload(t *testing.T) {
	e := Encoder{}
	e.Byte(TypeString)
	e.String([]byte("hello"))
	p := AppendDumpFooter(e.Buf)
	if !VerifyPayload(p, false) {
		t.Fatal("own payload refused")
	}
	o, err := DecodePayload(p, testLimits)
	if err != nil || string(o.Str) != "hello" {
		t.Fatalf("decoded %v %v", o, err)
	}
	bad := bytes.Clone(p)
	bad[2] ^= 1
	if VerifyPayload(bad, false) {
		t.Error("corrupt payload verified")
	}
	newer := bytes.Clone(p)
	newer[len(newer)-10] = Version + 1
	if VerifyPayload(newer, true) {
		t.Error("payload of a newer RDB version accepted")
	}
}

func FuzzLoad(f *testing.F) {
	for _, b := range seedFiles(f) {
		f.Add(b)
	}
	lim := testLimits
	lim.SkipChecksum = true
	f.Fuzz(func(t *testing.T, b []byte) {
		loadAll(b, lim)
	})
}

func FuzzRestore(f *testing.F) {
	// Seeds: every key of the seed dumps as a DUMP payload.
	for _, b := range seedFiles(f) {
		d := NewBytesDecoder(b)
		d.next(9)
		for d.err == nil {
			start := d.pos
			t := d.Byte()
			switch t {
			case OpAux:
				d.String()
				d.String()
				continue
			case OpSelectDB:
				d.Len()
				continue
			case OpResizeDB:
				d.Len()
				d.Len()
				continue
			case OpExpireTimeMs:
				d.Millis()
				continue
			case OpEOF:
			}
			if t == OpEOF || !ValidType(t) {
				break
			}
			d.String()
			vstart := d.pos
			if d.Object(t, &testLimits) == nil {
				break
			}
			payload := append([]byte{t}, b[vstart:d.pos]...)
			f.Add(AppendDumpFooter(payload))
			_ = start
		}
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		if !VerifyPayload(p, true) {
			return
		}
		if o, err := DecodePayload(p, testLimits); err == nil {
			exercise(o)
		}
	})
}
