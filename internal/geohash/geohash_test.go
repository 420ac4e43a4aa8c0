package geohash

import (
	"math"
	"math/rand/v2"
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

// BenchmarkDistance is one haversine distance, as GEODIST and every point a search
// checks compute it, between random points.
func BenchmarkDistance(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	var pts [4096][4]float64
	for i := range pts {
		for j := range pts[i] {
			pts[i][j] = 170 * (rng.Float64() - 0.5)
		}
	}
	sum := 0.0
	for i := 0; b.Loop(); i++ {
		p := &pts[i&4095]
		sum += Distance(p[0], p[1], p[2], p[3])
	}
	_ = sum
}

// containsExact is Shape.Contains without the Go math shortcuts: Redis's checks as written.
func containsExact(s *Shape, long, lat float64) (float64, bool) {
	if !s.Box {
		d := Distance(s.Long, s.Lat, long, lat)
		return d, !(d > s.Radius*s.Conversion)
	}
	if latDistance(lat, s.Lat) > s.Height*s.Conversion/2 {
		return 0, false
	}
	if Distance(long, lat, s.Long, lat) > s.Width*s.Conversion/2 {
		return 0, false
	}
	return Distance(s.Long, s.Lat, long, lat), true
}

// The shortcuts in Contains never change a decision, also for points exactly on the edge
// and one ulp either side of it.
func TestContainsShortcutsAreExact(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cl := rapid.Float64Range(-180, 180).Draw(t, "centre long")
		ca := rapid.Float64Range(-LatMax, LatMax).Draw(t, "centre lat")
		pl := cl + rapid.Float64Range(-30, 30).Draw(t, "dlong")
		pa := ca + rapid.Float64Range(-20, 20).Draw(t, "dlat")
		if rapid.Bool().Draw(t, "antipode") {
			pl, pa = cl+180-rapid.Float64Range(0, 1e-3).Draw(t, "off"), -ca
		}
		pl = math.Mod(pl+540, 360) - 180
		pa = max(min(pa, LatMax), -LatMax)
		box := rapid.Bool().Draw(t, "box")
		var limit float64
		if box {
			limit = 2 * Distance(pl, pa, cl, pa) // the point on the east or west edge
		} else {
			limit = Distance(cl, ca, pl, pa)
		}
		switch rapid.IntRange(0, 3).Draw(t, "nudge") {
		case 1:
			limit = math.Nextafter(limit, 0)
		case 2:
			limit = math.Nextafter(limit, math.Inf(1))
		case 3:
			limit *= rapid.Float64Range(0.5, 2).Draw(t, "scale")
		}
		sh := Shape{Long: cl, Lat: ca, Box: box, Radius: limit, Width: limit, Height: 2 * limit, Conversion: 1}
		if rapid.Bool().Draw(t, "km") {
			sh.Radius, sh.Width, sh.Height, sh.Conversion = limit/1000, limit/1000, limit/500, 1000
		}
		ref := sh
		wd, win := containsExact(&ref, pl, pa)
		gd, gin := sh.Contains(pl, pa)
		if win != gin || win && math.Float64bits(wd) != math.Float64bits(gd) {
			t.Fatalf("Contains = %v, %v; Redis's checks give %v, %v", gd, gin, wd, win)
		}
	})
}
