package resp

import (
	"math"
	"testing"
)

func TestDoubleNoAllocs(t *testing.T) {
	for _, proto := range []int{2, 3} {
		w := &Writer{Buf: make([]byte, 0, 256), Proto: proto}
		allocs := testing.AllocsPerRun(100, func() {
			w.Buf = w.Buf[:0]
			w.Double(3.141592653589793)
		})
		if allocs != 0 {
			t.Errorf("RESP%d Double: %v allocations per reply, want 0", proto, allocs)
		}
	}
}

func TestDoubleBytes(t *testing.T) {
	for _, tc := range []struct {
		proto int
		f     float64
		want  string
	}{
		{2, 1.5, "$3\r\n1.5\r\n"},
		{3, 1.5, ",1.5\r\n"},
		{2, math.Inf(-1), "$4\r\n-inf\r\n"},
		{3, math.Inf(1), ",inf\r\n"},
		{2, 0.1, "$19\r\n0.10000000000000001\r\n"},
	} {
		w := &Writer{Buf: []byte("x"), Proto: tc.proto}
		w.Double(tc.f)
		if got := string(w.Buf[1:]); got != tc.want {
			t.Errorf("RESP%d Double(%v) = %q, want %q", tc.proto, tc.f, got, tc.want)
		}
	}
}
