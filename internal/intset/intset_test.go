package intset

import (
	"bytes"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

func TestFormatBytes(t *testing.T) {
	s := New()
	for _, v := range []int64{5, -3, 1000} {
		s.Add(v)
	}
	// enc 2, len 3, -3 5 1000 as int16 LE
	if got, want := hex.EncodeToString(s), "0200000003000000fdff0500e803"; got != want {
		t.Fatalf("int16 blob %s, want %s", got, want)
	}
	s.Add(70000) // needs int32: every element is widened, the new one appended
	if got, want := hex.EncodeToString(s), "0400000004000000fdffffff05000000e803000070110100"; got != want {
		t.Fatalf("int32 blob %s, want %s", got, want)
	}
	s.Add(math.MinInt64) // int64, prepended
	if s.Encoding() != Enc64 || s.Len() != 5 || s.Get(0) != math.MinInt64 || s.Get(4) != 70000 {
		t.Fatalf("after int64 upgrade: enc %d len %d %v", s.Encoding(), s.Len(), s)
	}
	s.Remove(math.MinInt64)
	if s.Encoding() != Enc64 {
		t.Fatal("remove must not downgrade the encoding")
	}
	if err := Validate(s, true); err != nil {
		t.Fatal(err)
	}
}

func TestValueEncoding(t *testing.T) {
	cases := []struct {
		v   int64
		enc int
	}{
		{0, Enc16}, {math.MaxInt16, Enc16}, {math.MinInt16, Enc16},
		{math.MaxInt16 + 1, Enc32}, {math.MinInt16 - 1, Enc32},
		{math.MaxInt32, Enc32}, {math.MinInt32, Enc32},
		{math.MaxInt32 + 1, Enc64}, {math.MinInt32 - 1, Enc64},
		{math.MaxInt64, Enc64}, {math.MinInt64, Enc64},
	}
	for _, c := range cases {
		if got := ValueEncoding(c.v); got != c.enc {
			t.Errorf("ValueEncoding(%d) = %d, want %d", c.v, got, c.enc)
		}
	}
}

func TestFindAcrossEncodings(t *testing.T) {
	s := New()
	s.Add(1)
	if s.Find(1 << 40) {
		t.Fatal("found a value wider than the encoding")
	}
	if s.Remove(1 << 40) {
		t.Fatal("removed a value wider than the encoding")
	}
	if s.Add(1) {
		t.Fatal("duplicate add reported as new")
	}
}

func TestValidate(t *testing.T) {
	good := New()
	good.Add(1)
	good.Add(2)
	cases := []struct {
		name string
		b    []byte
		deep bool
		want error
	}{
		{"ok", good, true, nil},
		{"short", []byte{2, 0, 0}, false, ErrShort},
		{"bad encoding", []byte{3, 0, 0, 0, 0, 0, 0, 0}, false, ErrEncoding},
		{"empty", New(), false, ErrEmpty},
		{"length mismatch", append(bytes.Clone(good), 0), false, ErrLength},
		{"huge length", []byte{8, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, false, ErrLength},
		{"unsorted", []byte{2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 1, 0}, true, ErrOrder},
		{"unsorted shallow", []byte{2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 1, 0}, false, nil},
		{"duplicate", []byte{2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 1, 0}, true, ErrOrder},
	}
	for _, c := range cases {
		if got := Validate(c.b, c.deep); got != c.want {
			t.Errorf("%s: Validate = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestModel checks Add, Remove, Find and Get against a sorted slice, with values drawn so
// that every encoding upgrade happens.
func TestModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := New()
		var model []int64
		val := rapid.OneOf(
			rapid.Int64Range(-5, 5),
			rapid.Int64Range(math.MinInt16-2, math.MaxInt16+2),
			rapid.Int64Range(math.MinInt32-2, math.MaxInt32+2),
			rapid.Int64(),
		)
		for i := rapid.IntRange(0, 200).Draw(t, "ops"); i > 0; i-- {
			v := val.Draw(t, "v")
			pos, in := slices.BinarySearch(model, v)
			if rapid.Bool().Draw(t, "add") {
				if got := s.Add(v); got == in {
					t.Fatalf("Add(%d) = %v, model has it: %v", v, got, in)
				}
				if !in {
					model = slices.Insert(model, pos, v)
				}
			} else {
				if got := s.Remove(v); got != in {
					t.Fatalf("Remove(%d) = %v, model has it: %v", v, got, in)
				}
				if in {
					model = slices.Delete(model, pos, pos+1)
				}
			}
			if s.Len() != len(model) || len(s) != headerSize+len(model)*s.Encoding() {
				t.Fatalf("len %d blob %d, model %d", s.Len(), len(s), len(model))
			}
			for j, m := range model {
				if s.Get(j) != m || !s.Find(m) {
					t.Fatalf("element %d: got %d want %d", j, s.Get(j), m)
				}
				if ValueEncoding(m) > s.Encoding() {
					t.Fatalf("%d stored with encoding %d", m, s.Encoding())
				}
			}
			if len(model) > 0 {
				if err := Validate(s, true); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

func TestRandomCoversAll(t *testing.T) {
	s := New()
	for i := range int64(10) {
		s.Add(i * 3)
	}
	seen := map[int64]bool{}
	for range 1000 {
		seen[s.Random(rand.IntN)] = true
	}
	if len(seen) != 10 {
		t.Fatalf("Random reached %d of 10 elements", len(seen))
	}
}

func BenchmarkAddSequential512(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		s := New()
		for i := range int64(512) {
			s.Add(i)
		}
	}
}

func BenchmarkFind(b *testing.B) {
	s := New()
	for i := range int64(512) {
		s.Add(i * 7)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s.Find(int64(i % 4000))
	}
}

func TestGrowKeepsContents(t *testing.T) {
	s := New()
	s.Add(3)
	s.Add(-1)
	s.Grow(100)
	if cap(s) < headerSize+102*Enc16 || s.Len() != 2 || s.Get(0) != -1 || s.Get(1) != 3 {
		t.Fatalf("after Grow: cap %d %v", cap(s), s)
	}
	p := &s[0]
	for i := range int64(100) {
		s.Add(i + 10)
	}
	if &s[0] != p {
		t.Fatal("adding within the grown capacity reallocated")
	}
	s.Grow(-1)
	s.Grow(0)
}
