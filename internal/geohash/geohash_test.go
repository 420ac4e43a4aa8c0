package geohash

import (
	"math"
	"testing"

	"pgregory.net/rapid"
)

// Values as redis-server 7.0 reports them for GEOADD Sicily 13.361389 38.115556 Palermo
// 15.087269 37.502669 Catania.
func TestKnownPoints(t *testing.T) {
	pal, ok := Encode(13.361389, 38.115556)
	if !ok || pal != 3479099956230698 {
		t.Fatalf("Encode(Palermo) = %d, %v", pal, ok)
	}
	cat, _ := Encode(15.087269, 37.502669)
	if cat != 3479447370796909 {
		t.Fatalf("Encode(Catania) = %d", cat)
	}
	long, lat := Decode(float64(pal))
	if g, w := FormatCoord(long), "13.36138933897018433"; g != w {
		t.Errorf("longitude %s, want %s", g, w)
	}
	if g, w := FormatCoord(lat), "38.11555639549629859"; g != w {
		t.Errorf("latitude %s, want %s", g, w)
	}
	if g, w := String(float64(pal)), "sqc8b49rny0"; g != w {
		t.Errorf("String = %s, want %s", g, w)
	}
	l2, a2 := Decode(float64(cat))
	if g, w := FormatDistance(Distance(long, lat, l2, a2)), "166274.1516"; g != w {
		t.Errorf("distance %s, want %s", g, w)
	}
}

func TestLimits(t *testing.T) {
	for _, p := range [][2]float64{{180.1, 0}, {-180.1, 0}, {0, 85.06}, {0, -85.06}} {
		if _, ok := Encode(p[0], p[1]); ok {
			t.Errorf("Encode(%v) accepted", p)
		}
	}
	if _, ok := Encode(180, LatMax); !ok {
		t.Error("Encode rejected the corner")
	}
}

func TestFormatCoord(t *testing.T) {
	for in, want := range map[float64]string{0: "0", math.Copysign(0, -1): "0", 1.5: "1.5", -2: "-2", math.Inf(1): "inf"} {
		if got := FormatCoord(in); got != want {
			t.Errorf("FormatCoord(%v) = %q, want %q", in, got, want)
		}
	}
}

// TestRoundTrip checks that a point decodes to within one cell of where it was encoded and
// that a radius search's cells always contain the centre's own cell.
func TestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		long := rapid.Float64Range(LongMin, LongMax).Draw(t, "long")
		lat := rapid.Float64Range(LatMin, LatMax).Draw(t, "lat")
		bits, ok := Encode(long, lat)
		if !ok {
			t.Fatalf("Encode(%v, %v) failed", long, lat)
		}
		l2, a2 := Decode(float64(bits))
		if math.Abs(l2-long) > 360.0/(1<<26) || math.Abs(a2-lat) > 171.0/(1<<26) {
			t.Fatalf("(%v,%v) decoded as (%v,%v)", long, lat, l2, a2)
		}
		if d := Distance(long, lat, l2, a2); d > 1 {
			t.Fatalf("round trip moved the point %v m", d)
		}
		sh := Shape{Long: long, Lat: lat, Radius: rapid.Float64Range(0, 5e6).Draw(t, "r"), Conversion: 1}
		cells := sh.Cells()
		lo, hi := cells[0].ScoreRange()
		if float64(bits) < lo || float64(bits) >= hi {
			t.Fatalf("centre score %d outside its cell [%v, %v)", bits, lo, hi)
		}
	})
}

func BenchmarkDistance(b *testing.B) {
	for b.Loop() {
		Distance(13.361389, 38.115556, 15.087269, 37.502669)
	}
}
