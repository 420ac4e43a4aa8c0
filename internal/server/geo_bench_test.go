package server

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/sard-kv/sard/internal/geohash"
	"github.com/sard-kv/sard/internal/zset"
)

// BenchmarkGeoSearch is the search part of GEOSEARCH (cell scan, decoding and distance
// checks, no reply) over 100,000 points spread over Europe: a 50 km radius that finds
// 80 of them, and a 100 x 100 km box.
func BenchmarkGeoSearch(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	z := zset.NewBig()
	for i := range 100000 {
		long := -10 + 40*rng.Float64()
		lat := 35 + 25*rng.Float64()
		bits, _ := geohash.Encode(long, lat)
		z.Insert([]byte("p"+strconv.Itoa(i)), float64(bits))
	}
	for _, bc := range []struct {
		name string
		sh   geohash.Shape
	}{
		{"radius", geohash.Shape{Long: 10, Lat: 47, Radius: 50, Conversion: 1000}},
		{"box", geohash.Shape{Long: 10, Lat: 47, Box: true, Width: 100, Height: 100, Conversion: 1000}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			found := 0
			for b.Loop() {
				sh := bc.sh
				found = len(geoSearch(z, &sh, 0))
			}
			b.ReportMetric(float64(found), "points")
		})
	}
}
