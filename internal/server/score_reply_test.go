package server

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sard-kv/sard/internal/resp"
)

// TestWriteScoreMatchesDouble: the sorted-set score replies are the bytes resp.Writer.Double
// writes, in RESP2 and RESP3, for integral scores on both sides of 2^53, -0, infinities,
// subnormals and random doubles.
func TestWriteScoreMatchesDouble(t *testing.T) {
	vals := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 0.1, 3, 1e15, 1e16, 1e17, 1e21,
		1 << 53, 1<<53 - 1, -(1<<53 - 1), 1<<53 + 2, -(1 << 53), 123456789012345678,
		math.Inf(1), math.Inf(-1), 5e-324, math.MaxFloat64, -math.MaxFloat64, 4503599627370495.5}
	r := rand.New(rand.NewPCG(7, 9))
	for range 200000 {
		f := math.Float64frombits(r.Uint64())
		if !math.IsNaN(f) {
			vals = append(vals, f)
		}
		vals = append(vals, float64(r.Int64N(1<<55)-1<<54), float64(r.Int64N(1<<20))/8)
	}
	for _, proto := range []int{2, 3} {
		for _, f := range vals {
			want := resp.Writer{Proto: proto}
			want.Double(f)
			got := resp.Writer{Proto: proto}
			writeScore(&got, f)
			if string(got.Buf) != string(want.Buf) {
				t.Fatalf("RESP%d %v: got %q, want %q", proto, f, got.Buf, want.Buf)
			}
		}
	}
}
