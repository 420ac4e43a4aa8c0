package hll

import (
	"bytes"
	"encoding/binary"
	"testing"

	"pgregory.net/rapid"
)

func TestNewIsRedisEmptyHLL(t *testing.T) {
	want := []byte("HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff")
	if got := New(); !bytes.Equal(got, want) {
		t.Fatalf("New() = %q, want %q", got, want)
	}
	if n, err := Count(New()); err != nil || n != 0 {
		t.Fatalf("Count(New()) = %d, %v", n, err)
	}
}

// TestKnownBytes checks bytes produced by redis-server 7.0 for PFADD h a b c.
func TestKnownBytes(t *testing.T) {
	b := New()
	for _, e := range []string{"a", "b", "c"} {
		b, _, _ = Add(b, []byte(e), 3000)
	}
	Invalidate(b)
	want := []byte("HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x60\xf3\x80\x50\xb1\x84\x4b\xfb\x80\x42\x5a")
	if !bytes.Equal(b, want) {
		t.Fatalf("got % x\nwant % x", b, want)
	}
	if n, _ := Count(b); n != 3 {
		t.Fatalf("Count = %d, want 3", n)
	}
}

func TestValid(t *testing.T) {
	dense, _ := ToDense(New())
	for _, tc := range []struct {
		b    []byte
		want bool
	}{
		{New(), true},
		{dense, true},
		{dense[:len(dense)-1], false},
		{[]byte("HYLL\x01"), false},
		{[]byte("HYLX\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"), false},
		{[]byte("HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"), false},
	} {
		if got := Valid(tc.b); got != tc.want {
			t.Errorf("Valid(%q) = %v", tc.b, got)
		}
	}
}

func TestCorruptSparse(t *testing.T) {
	short := []byte("HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\x00")
	if _, err := Count(short); err == nil {
		t.Error("Count accepted a sparse value covering one register")
	}
	if _, err := ToDense(short); err == nil {
		t.Error("ToDense accepted a corrupt value")
	}
	var regs [Registers]uint8
	if err := Merge(&regs, short); err == nil {
		t.Error("Merge accepted a corrupt value")
	}
	// a truncated XZERO reads a zero second byte instead of panicking
	trunc := []byte("HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f")
	if _, err := Count(trunc); err == nil {
		t.Error("Count accepted a truncated opcode")
	}
	if _, _, err := Add(append([]byte(nil), short...), []byte("x"), 3000); err == nil {
		// the element may land in the covered register: then no error is due
		t.Log("Add on a corrupt value found its register")
	}
}

// TestDenseRegisters round-trips every register value through the 6-bit packing.
func TestDenseRegisters(t *testing.T) {
	if err := SelfTest(); err != nil {
		t.Fatal(err)
	}
}

// TestSparseMatchesModel checks, against a plain register array, that random updates of
// the sparse encoding (with promotion at random limits) keep every register right, that
// the encoding stays canonical enough to be decoded, and that the estimate equals the one
// computed from the model.
func TestSparseMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		sparseMax := rapid.IntRange(HdrSize, 4000).Draw(t, "sparseMax")
		b := New()
		var model [Registers]uint8
		n := rapid.IntRange(0, 300).Draw(t, "n")
		for i := 0; i < n; i++ {
			idx := rapid.IntRange(0, Registers-1).Draw(t, "idx")
			if rapid.Bool().Draw(t, "near") && i > 0 {
				idx = rapid.IntRange(0, 40).Draw(t, "low")
			}
			v := uint8(rapid.IntRange(1, Q+1).Draw(t, "v"))
			var changed bool
			var err error
			b, changed, err = Set(b, idx, v, sparseMax)
			if err != nil {
				t.Fatalf("Set: %v", err)
			}
			if changed != (v > model[idx]) {
				t.Fatalf("Set(%d, %d) changed=%v with old %d", idx, v, changed, model[idx])
			}
			model[idx] = max(model[idx], v)
			if !IsDense(b) && len(b) > sparseMax {
				t.Fatalf("sparse value of %d bytes over limit %d", len(b), sparseMax)
			}
		}
		var got [Registers]uint8
		if err := Merge(&got, b); err != nil {
			t.Fatalf("Merge: %v", err)
		}
		if got != model {
			t.Fatalf("registers differ from the model")
		}
		est, err := Count(b)
		if err != nil {
			t.Fatal(err)
		}
		if want := CountRegisters(&model); est != want {
			t.Fatalf("Count = %d, from model %d", est, want)
		}
		d, err := ToDense(b)
		if err != nil {
			t.Fatal(err)
		}
		if e2, _ := Count(d); e2 != est {
			t.Fatalf("dense estimate %d, sparse %d", e2, est)
		}
	})
}

func TestEstimateError(t *testing.T) {
	b := New()
	var ele [8]byte
	for n := 1; n <= 200000; n++ {
		binary.LittleEndian.PutUint64(ele[:], uint64(n))
		b, _, _ = Add(b, ele[:], 3000)
		if n%50000 == 0 {
			est, _ := Count(b)
			if d := float64(est)/float64(n) - 1; d > 0.03 || d < -0.03 {
				t.Errorf("n=%d estimate %d", n, est)
			}
		}
	}
	if !IsDense(b) {
		t.Error("200000 elements still sparse")
	}
}

func TestDecode(t *testing.T) {
	b := New()
	b, _, _ = Set(b, 0, 3, 3000)
	b, _, _ = Set(b, 1, 3, 3000)
	b, _, _ = Set(b, 100, 1, 3000)
	want := "v:3,2 Z:98 v:1,1 Z:16283"
	if got := Decode(b); got != want {
		t.Fatalf("Decode = %q, want %q", got, want)
	}
}

func BenchmarkPFAddSparse(b *testing.B) {
	var ele [8]byte
	for b.Loop() {
		h := New()
		for i := range 200 {
			binary.LittleEndian.PutUint64(ele[:], uint64(i))
			h, _, _ = Add(h, ele[:], 3000)
		}
	}
}

func BenchmarkPFAddDense(b *testing.B) {
	h, _ := ToDense(New())
	var ele [8]byte
	i := 0
	for b.Loop() {
		binary.LittleEndian.PutUint64(ele[:], uint64(i))
		i++
		h, _, _ = Add(h, ele[:], 3000)
	}
}

func BenchmarkPFCountDense(b *testing.B) {
	h, _ := ToDense(New())
	var ele [8]byte
	for i := range 100000 {
		binary.LittleEndian.PutUint64(ele[:], uint64(i))
		h, _, _ = Add(h, ele[:], 3000)
	}
	for b.Loop() {
		Count(h)
	}
}

func BenchmarkPFCountUnion(b *testing.B) {
	h, _ := ToDense(New())
	for b.Loop() {
		var regs [Registers]uint8
		Merge(&regs, h)
		Merge(&regs, New())
		CountRegisters(&regs)
	}
}
