package listpack

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/sard-kv/sard/internal/lzf"
	"github.com/sard-kv/sard/internal/testutil"
	"pgregory.net/rapid"
)

// entries lists lp's entries as strings, front to back and checks the back walk agrees.
func entries(t interface{ Fatalf(string, ...any) }, lp []byte) []string {
	var out []string
	for p := First(lp); p >= 0; p = Next(lp, p) {
		out = append(out, string(GetBytes(lp, p, nil)))
	}
	i := len(out) - 1
	for p := Last(lp); p >= 0; p = Prev(lp, p) {
		if i < 0 || string(GetBytes(lp, p, nil)) != out[i] {
			t.Fatalf("backward walk disagrees at %d", i)
		}
		i--
	}
	if i != -1 {
		t.Fatalf("backward walk saw %d fewer entries", i+1)
	}
	return out
}

func TestEncodings(t *testing.T) {
	cases := []struct {
		in   string
		want []byte // entry bytes, backlen included
	}{
		{"0", []byte{0x00, 0x01}},
		{"127", []byte{0x7F, 0x01}},
		{"128", []byte{0xC0, 0x80, 0x02}},
		{"-1", []byte{0xDF, 0xFF, 0x02}},
		{"-4096", []byte{0xD0, 0x00, 0x02}},
		{"4095", []byte{0xCF, 0xFF, 0x02}},
		{"4096", []byte{0xF1, 0x00, 0x10, 0x03}},
		{"-32768", []byte{0xF1, 0x00, 0x80, 0x03}},
		{"8388607", []byte{0xF2, 0xFF, 0xFF, 0x7F, 0x04}},
		{"-8388608", []byte{0xF2, 0x00, 0x00, 0x80, 0x04}},
		{"2147483647", []byte{0xF3, 0xFF, 0xFF, 0xFF, 0x7F, 0x05}},
		{"-9223372036854775808", []byte{0xF4, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x09}},
		{"-0", []byte{0x82, '-', '0', 0x03}},
		{"007", []byte{0x83, '0', '0', '7', 0x04}},
		{"", []byte{0x80, 0x01}},
		{"9223372036854775808", append(append([]byte{0x80 | 19}, "9223372036854775808"...), 20)},
	}
	for _, c := range cases {
		lp := Append(New(), []byte(c.in))
		got := lp[HeaderSize : len(lp)-1]
		if !bytes.Equal(got, c.want) {
			t.Errorf("%q: got %x want %x", c.in, got, c.want)
		}
		if e := entries(t, lp); len(e) != 1 || e[0] != c.in {
			t.Errorf("%q: read back %q", c.in, e)
		}
		if err := Validate(lp, true); err != nil {
			t.Errorf("%q: %v", c.in, err)
		}
		if EntrySize([]byte(c.in)) != len(c.want) {
			t.Errorf("%q: EntrySize %d", c.in, EntrySize([]byte(c.in)))
		}
	}
	// long strings: 12-bit and 32-bit lengths, multi-byte backlens
	for _, n := range []int{63, 64, 125, 126, 4095, 4096, 16380, 16381, 20000} {
		s := bytes.Repeat([]byte{'x'}, n)
		lp := Append(Append(New(), s), []byte("tail"))
		if e := entries(t, lp); len(e) != 2 || e[0] != string(s) {
			t.Fatalf("len %d: bad read back", n)
		}
		if err := Validate(lp, true); err != nil {
			t.Fatalf("len %d: %v", n, err)
		}
	}
}

// model is a slice of strings mirroring a listpack.
func TestModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		elem := rapid.OneOf(
			rapid.StringMatching(`-?[0-9]{1,20}`),
			rapid.SampledFrom([]string{"0", "-0", "127", "128", "-4096", "4095", "32767", "-32769", "9223372036854775807", "-9223372036854775808", ""}),
			rapid.StringN(0, 200, -1),
		)
		lp := New()
		var m []string
		for range rapid.IntRange(0, 60).Draw(t, "ops") {
			switch op := rapid.IntRange(0, 7).Draw(t, "op"); {
			case op == 0:
				s := elem.Draw(t, "s")
				lp, m = Append(lp, []byte(s)), append(m, s)
			case op == 1:
				s := elem.Draw(t, "s")
				lp, m = Prepend(lp, []byte(s)), append([]string{s}, m...)
			case op == 2 && len(m) > 0:
				i := rapid.IntRange(0, len(m)-1).Draw(t, "i")
				s := elem.Draw(t, "s")
				where := rapid.IntRange(Before, After).Draw(t, "where")
				var np int
				lp, np = Insert(lp, Seek(lp, i), []byte(s), where)
				j := i + where
				m = append(m[:j], append([]string{s}, m[j:]...)...)
				if string(GetBytes(lp, np, nil)) != s {
					t.Fatalf("insert returned the wrong position")
				}
			case op == 3 && len(m) > 0:
				i := rapid.IntRange(-len(m), len(m)-1).Draw(t, "i")
				var next int
				lp, next = Delete(lp, Seek(lp, i))
				if i < 0 {
					i += len(m)
				}
				m = append(m[:i], m[i+1:]...)
				if (next < 0) != (i == len(m)) {
					t.Fatalf("delete's next position %d for index %d of %d", next, i, len(m))
				}
			case op == 4 && len(m) > 0:
				i := rapid.IntRange(0, len(m)-1).Draw(t, "i")
				s := elem.Draw(t, "s")
				lp = Replace(lp, Seek(lp, i), []byte(s))
				m[i] = s
			case op == 5 && len(m) > 0:
				i := rapid.IntRange(0, len(m)-1).Draw(t, "i")
				n := rapid.IntRange(0, len(m)).Draw(t, "n")
				lp = DeleteRange(lp, i, n)
				m = append(m[:i], m[min(len(m), i+n):]...)
			case op == 6:
				v := rapid.Int64().Draw(t, "v")
				lp, m = AppendInt(lp, v), append(m, strconv.FormatInt(v, 10))
			case op == 7 && len(m) > 0:
				s := m[rapid.IntRange(0, len(m)-1).Draw(t, "i")]
				p := Find(lp, First(lp), []byte(s), 0)
				if p < 0 || string(GetBytes(lp, p, nil)) != s || !Equal(lp, p, []byte(s)) {
					t.Fatalf("Find(%q) = %d", s, p)
				}
			}
			if err := Validate(lp, true); err != nil {
				t.Fatalf("validate: %v", err)
			}
			got := entries(t, lp)
			if Len(lp) != len(m) || len(got) != len(m) {
				t.Fatalf("len %d/%d want %d", Len(lp), len(got), len(m))
			}
			for i := range m {
				if got[i] != m[i] {
					t.Fatalf("entry %d: %q want %q", i, got[i], m[i])
				}
				if p := Seek(lp, i); string(GetBytes(lp, p, nil)) != m[i] {
					t.Fatalf("seek %d", i)
				}
				if p := Seek(lp, i-len(m)); string(GetBytes(lp, p, nil)) != m[i] {
					t.Fatalf("seek %d", i-len(m))
				}
			}
			if Seek(lp, len(m)) != -1 || Seek(lp, -len(m)-1) != -1 {
				t.Fatalf("seek out of range found something")
			}
		}
	})
}

// TestAppenderMatchesAppend: a batch through Tail ... Finish leaves the same bytes, the
// same capacity and the same count (including past 65534 entries, where the header says
// "unknown") as the same Append and AppendInt calls one by one.
func TestAppenderMatchesAppend(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		elem := rapid.OneOf(
			rapid.StringMatching(`-?[0-9]{1,20}`),
			rapid.StringN(0, 300, -1),
		)
		start := New()
		if rapid.Bool().Draw(t, "full") {
			for range CountUnknown - rapid.IntRange(1, 3).Draw(t, "short") {
				start = AppendInt(start, 1)
			}
		}
		one := append(make([]byte, 0, rapid.IntRange(len(start), len(start)+600).Draw(t, "cap")), start...)
		batch := append(make([]byte, 0, cap(one)), start...)
		for range rapid.IntRange(0, 5).Draw(t, "batches") {
			a := Tail(batch)
			for range rapid.IntRange(0, 8).Draw(t, "n") {
				if rapid.Bool().Draw(t, "int") {
					v := rapid.Int64().Draw(t, "v")
					one = AppendInt(one, v)
					a.Int(v)
				} else {
					s := []byte(elem.Draw(t, "s"))
					one = Append(one, s)
					a.Str(s)
				}
			}
			batch = a.Finish()
			if !bytes.Equal(one, batch) || cap(one) != cap(batch) {
				t.Fatalf("batch differs: len %d/%d cap %d/%d", len(batch), len(one), cap(batch), cap(one))
			}
			if err := Validate(batch, true); err != nil {
				t.Fatalf("validate: %v", err)
			}
		}
	})
}

func TestFindSkip(t *testing.T) {
	lp := New()
	for _, s := range []string{"a", "b", "b", "a", "c", "5", "5", "x"} {
		lp = Append(lp, []byte(s))
	}
	// fields are at even indexes: "b" as a field is at index 2, "5" at 6
	if p := Find(lp, First(lp), []byte("b"), 1); p != Seek(lp, 2) {
		t.Fatalf("field b at %d", p)
	}
	if p := Find(lp, First(lp), []byte("5"), 1); p != Seek(lp, 6) {
		t.Fatalf("field 5 at %d", p)
	}
	if p := Find(lp, First(lp), []byte("x"), 1); p != -1 {
		t.Fatalf("x is a value, found at %d", p)
	}
}

func TestValidateRejects(t *testing.T) {
	good := Append(Append(New(), []byte("hello")), []byte("12345"))
	if err := Validate(good, true); err != nil {
		t.Fatal(err)
	}
	bad := map[string][]byte{
		"short":      {1, 0, 0},
		"total":      append([]byte{99}, good[1:]...),
		"terminator": append(append([]byte{}, good[:len(good)-1]...), 0),
		"count":      append(append([]byte{}, good[:4]...), append([]byte{3, 0}, good[6:]...)...),
		"backlen":    append(append([]byte{}, good[:12]...), append([]byte{9}, good[13:]...)...),
		"encoding":   append(append([]byte{}, good[:6]...), append([]byte{0xF7}, good[7:]...)...),
		"strlen":     append(append([]byte{}, good[:6]...), append([]byte{0x80 | 60}, good[7:]...)...),
	}
	for name, b := range bad {
		if err := Validate(b, true); err == nil {
			t.Errorf("%s: accepted %x", name, b)
		}
	}
}

func FuzzValidate(f *testing.F) {
	f.Add(Append(Append(New(), []byte("hello")), []byte("-12345")))
	f.Add(Append(New(), bytes.Repeat([]byte("y"), 5000)))
	f.Fuzz(func(t *testing.T, b []byte) {
		if Validate(b, true) != nil {
			return
		}
		// a valid listpack can be walked both ways and edited without panics
		n := 0
		for p := First(b); p >= 0; p = Next(b, p) {
			GetBytes(b, p, nil)
			n++
		}
		if hc := headerCount(b); hc != CountUnknown && n != hc {
			t.Fatalf("walked %d entries, header says %d", n, hc)
		}
		for p := Last(b); p >= 0; p = Prev(b, p) {
			n--
		}
		if n != 0 {
			t.Fatalf("backward walk differs by %d", n)
		}
		c := Append(append([]byte(nil), b...), []byte("z"))
		if err := Validate(c, true); err != nil {
			t.Fatalf("after append: %v", err)
		}
	})
}

// TestMatchesRedis builds lists on redis-server with pushes, inserts, sets and removals,
// and compares the listpack bytes in its DUMP payload with the same edits made here.
func TestMatchesRedis(t *testing.T) {
	srv := testutil.StartRedis(t)
	rc := testutil.DialRaw(t, srv.Addr)
	defer rc.Close()
	r := rand.New(rand.NewPCG(3, 4))
	vals := []string{"0", "1", "-1", "127", "128", "4095", "-4096", "4096", "70000", "-9000000",
		"3000000000", "-0", "01", "abc", "", "9223372036854775807", "18446744073709551616"}
	pick := func() string {
		if r.IntN(4) == 0 {
			return string(bytes.Repeat([]byte{'v'}, r.IntN(300)))
		}
		return vals[r.IntN(len(vals))]
	}
	do := func(args ...string) {
		if out, err := rc.Do(args...); err != nil || out[0] == '-' {
			t.Fatalf("%v: %q %v", args, out, err)
		}
	}
	for round := 0; round < 40; round++ {
		do("DEL", "l")
		lp := New()
		n := 0
		for range 1 + r.IntN(25) {
			switch op := r.IntN(5); {
			case op == 0 || n == 0:
				s := pick()
				do("RPUSH", "l", s)
				lp, n = Append(lp, []byte(s)), n+1
			case op == 1:
				s := pick()
				do("LPUSH", "l", s)
				lp, n = Prepend(lp, []byte(s)), n+1
			case op == 2:
				i := r.IntN(n)
				s := pick()
				do("LSET", "l", strconv.Itoa(i), s)
				lp = Replace(lp, Seek(lp, i), []byte(s))
			case op == 3 && n > 1:
				do("LPOP", "l")
				lp, _ = Delete(lp, First(lp))
				n--
			case op == 4 && n > 1:
				do("RPOP", "l")
				lp, _ = Delete(lp, Last(lp))
				n--
			}
		}
		raw, err := rc.Do("DUMP", "l")
		if err != nil {
			t.Fatal(err)
		}
		got := redisNodeListpack(t, raw)
		if !bytes.Equal(got, lp) {
			t.Fatalf("round %d: listpack differs\nsard:  %x\nredis: %x", round, lp, got)
		}
	}
}

// redisNodeListpack extracts the single node's listpack from a DUMP of a quicklist.
func redisNodeListpack(t *testing.T, raw []byte) []byte {
	t.Helper()
	i := bytes.Index(raw, []byte("\r\n"))
	n, _ := strconv.Atoi(string(raw[1:i]))
	b := raw[i+2 : i+2+n]
	if b[0] != 18 || b[1] != 1 || b[2] != 2 {
		t.Fatalf("not a one-node quicklist: %x", b[:3])
	}
	p := 3
	if b[p] == 0xC3 {
		p++
		clen := rdbLen(b, &p)
		ulen := rdbLen(b, &p)
		out, err := lzf.Decompress(nil, b[p:p+clen], ulen)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	l := rdbLen(b, &p)
	return b[p : p+l]
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

func BenchmarkAppend(b *testing.B) {
	v := []byte("value-123")
	for b.Loop() {
		lp := New()
		for range 100 {
			lp = Append(lp, v)
		}
	}
}

func BenchmarkIterate(b *testing.B) {
	lp := New()
	for i := range 100 {
		lp = Append(lp, []byte("value-"+strconv.Itoa(i)))
	}
	var buf [20]byte
	for b.Loop() {
		for p := First(lp); p >= 0; p = Next(lp, p) {
			GetBytes(lp, p, buf[:0])
		}
	}
}
