// Package geohash is the geometry behind Redis's GEO commands: 52-bit interleaved geohashes
// over Redis's latitude limits, neighbour cells, haversine distances on Redis's earth
// radius, the cells a radius or box search scans, and the output formats of coordinates.
package geohash

import (
	"math"
	"strconv"
	"strings"
)

// Limits and constants, as Redis defines them.
const (
	LatMin    = -85.05112878
	LatMax    = 85.05112878
	LongMin   = -180.0
	LongMax   = 180.0
	StepMax   = 26 // 52 bits
	EarthR    = 6372797.560856
	mercMax   = 20037726.37
	base32    = "0123456789bcdefghjkmnpqrstuvwxyz"
	evenBits  = 0x5555555555555555
	oddBits   = 0xaaaaaaaaaaaaaaaa
	hashChars = 11
)

// degToRad is C's M_PI / 180.0: computed at run time from the rounded pi so that it has
// the same last bit as Redis's (a Go constant expression would be rounded only once).
var (
	pi       = math.Pi
	degToRad = pi / 180.0
)

// Range is an interval of one coordinate.
type Range struct{ Min, Max float64 }

// Bits is a geohash of 2*Step bits: latitude in the even bits, longitude in the odd ones.
type Bits struct {
	Bits uint64
	Step uint8
}

// IsZero reports an unused cell (Redis's HASHISZERO).
func (b Bits) IsZero() bool { return b.Bits == 0 && b.Step == 0 }

// Area is the cell a hash stands for.
type Area struct {
	Hash      Bits
	Lat, Long Range
}

// WGS84 ranges with Redis's latitude limits, and the standard ones GEOHASH strings use.
var (
	longRange = Range{LongMin, LongMax}
	latRange  = Range{LatMin, LatMax}
	stdLat    = Range{-90, 90}
)

func degRad(d float64) float64 { return d * degToRad }
func radDeg(r float64) float64 { return r / degToRad }

// spread puts the low 32 bits of v in the even bit positions.
func spread(v uint64) uint64 {
	v &= 0xffffffff
	v = (v | v<<16) & 0x0000ffff0000ffff
	v = (v | v<<8) & 0x00ff00ff00ff00ff
	v = (v | v<<4) & 0x0f0f0f0f0f0f0f0f
	v = (v | v<<2) & 0x3333333333333333
	v = (v | v<<1) & 0x5555555555555555
	return v
}

// squash is spread's inverse: the even bits of v packed into the low 32.
func squash(v uint64) uint64 {
	v &= 0x5555555555555555
	v = (v | v>>1) & 0x3333333333333333
	v = (v | v>>2) & 0x0f0f0f0f0f0f0f0f
	v = (v | v>>4) & 0x00ff00ff00ff00ff
	v = (v | v>>8) & 0x0000ffff0000ffff
	v = (v | v>>16) & 0x00000000ffffffff
	return v
}

// encode hashes a point at step precision within the given ranges; ok is false for a
// point outside them or outside Redis's WGS84 limits.
func encode(lr, ar Range, long, lat float64, step uint8) (Bits, bool) {
	h := Bits{Step: step}
	if long > LongMax || long < LongMin || lat > LatMax || lat < LatMin {
		return Bits{}, false
	}
	if lat < ar.Min || lat > ar.Max || long < lr.Min || long > lr.Max {
		return h, false
	}
	latOff := (lat - ar.Min) / (ar.Max - ar.Min)
	longOff := (long - lr.Min) / (lr.Max - lr.Min)
	latOff *= float64(uint64(1) << step)
	longOff *= float64(uint64(1) << step)
	h.Bits = spread(uint64(uint32(latOff))) | spread(uint64(uint32(longOff)))<<1
	return h, true
}

// Encode hashes a WGS84 point at full precision; the result is the sorted-set score GEOADD
// stores. ok is false outside the limits.
func Encode(long, lat float64) (uint64, bool) {
	h, ok := encode(longRange, latRange, long, lat, StepMax)
	return h.Bits, ok
}

func decode(lr, ar Range, h Bits) Area {
	latI := squash(h.Bits)
	longI := squash(h.Bits >> 1)
	cells := float64(uint64(1) << h.Step)
	latScale, longScale := ar.Max-ar.Min, lr.Max-lr.Min
	// explicit conversions keep each product rounded, as in C (no fused multiply-add)
	return Area{
		Hash: h,
		Lat: Range{
			ar.Min + float64(float64(float64(latI)/cells)*latScale),
			ar.Min + float64(float64(float64(latI+1)/cells)*latScale),
		},
		Long: Range{
			lr.Min + float64(float64(float64(longI)/cells)*longScale),
			lr.Min + float64(float64(float64(longI+1)/cells)*longScale),
		},
	}
}

// center is the middle of a cell, clamped to the WGS84 limits.
func (a Area) center() (long, lat float64) {
	long = (a.Long.Min + a.Long.Max) / 2
	long = min(max(long, LongMin), LongMax)
	lat = (a.Lat.Min + a.Lat.Max) / 2
	lat = min(max(lat, LatMin), LatMax)
	return long, lat
}

// ScoreBits converts a sorted-set score to hash bits the way C's (uint64_t) cast does on
// x86-64, so that odd scores decode as they do in Redis.
func ScoreBits(score float64) uint64 {
	switch {
	case score != score || score <= -(1<<63) || score >= 1<<64:
		return 1 << 63 // the "integer indefinite" value
	case score < 1<<63:
		return uint64(int64(score))
	}
	return uint64(score)
}

// Decode returns the centre of the full-precision cell of a score.
func Decode(score float64) (long, lat float64) {
	return decode(longRange, latRange, Bits{ScoreBits(score), StepMax}).center()
}

// String is GEOHASH's 11-character form: the point re-encoded over the standard latitude
// range -90..90, with an eleventh character that is always '0' since only 52 bits exist.
func String(score float64) string {
	long, lat := Decode(score)
	h, _ := encode(longRange, stdLat, long, lat, StepMax)
	var buf [hashChars]byte
	for i := range buf {
		idx := 0
		if i < hashChars-1 {
			idx = int(h.Bits>>(52-(i+1)*5)) & 0x1f
		}
		buf[i] = base32[idx]
	}
	return string(buf[:])
}

// Distance is the haversine distance in metres between two points, computed as Redis does
// (the same operations in the same order, with correctly rounded sin, cos and asin where
// Redis calls the C library's).
func Distance(long1, lat1, long2, lat2 float64) float64 {
	return distance(long1, lat1, long2, lat2, math.NaN())
}

// distance is Distance with cos(lat1) given when known (NaN otherwise).
func distance(long1, lat1, long2, lat2, cosLat1 float64) float64 {
	lon1r, lon2r := degRad(long1), degRad(long2)
	v := Sin((lon2r - lon1r) / 2)
	if v == 0 {
		// same meridian: the latitude difference alone
		return latDistance(lat1, lat2)
	}
	lat1r, lat2r := degRad(lat1), degRad(lat2)
	u := Sin((lat2r - lat1r) / 2)
	if cosLat1 != cosLat1 {
		cosLat1 = Cos(lat1r)
	}
	a := float64(u*u) + float64(float64(float64(cosLat1*Cos(lat2r))*v)*v)
	return 2.0 * EarthR * Asin(math.Sqrt(a))
}

func latDistance(lat1, lat2 float64) float64 {
	return EarthR * math.Abs(degRad(lat2)-degRad(lat1))
}

// A search computes exact distances only where a cheaper haversine term a (distance =
// 2R asin(sqrt(a))), computed with Go's math functions, cannot decide a comparison with a
// limit. The two computations of a differ by a few ulps, and sqrt and the correctly
// rounded asin are monotonic, so a point whose approximate a exceeds the limit's term by
// farMargin (relative) is certainly beyond the limit, and one below it by farMargin is
// certainly within.
const farMargin = 1e-9

// limitTerms returns the haversine term of a distance in metres, raised and lowered by
// farMargin. Near half the circumference or more there is no shortcut: a rounds to 1 or
// beyond there, and Redis's asin of a square root above 1 gives NaN, which no comparison
// rejects.
func limitTerms(meters float64) (out, in float64) {
	half := meters / (2 * EarthR)
	if !(half < 1.5) {
		return math.Inf(1), math.Inf(-1)
	}
	s := math.Sin(half)
	return s * s * (1 + farMargin), s * s * (1 - farMargin)
}

// approxTerm is the haversine term between two points with Go's math functions, cosLat1
// being math.Cos of lat1 in radians; ok is false on one meridian, where the exact
// distance needs no trigonometry and the estimate has nothing to save.
func approxTerm(long1, lat1, long2, lat2, cosLat1 float64) (a float64, ok bool) {
	v := math.Sin((degRad(long2) - degRad(long1)) / 2)
	if v == 0 {
		return 0, false
	}
	lat1r, lat2r := degRad(lat1), degRad(lat2)
	u := math.Sin((lat2r - lat1r) / 2)
	a = u*u + cosLat1*math.Cos(lat2r)*v*v
	return a, a < 1-1e-6 // near antipodes: always the exact path
}

// Shape is a search area: a circle of Radius or a Width x Height box around (Long, Lat);
// lengths are in units of Conversion metres.
type Shape struct {
	Long, Lat     float64
	Box           bool
	Radius        float64
	Width, Height float64
	Conversion    float64

	prepared  bool
	cosLat    float64 // Cos of the centre's latitude in radians
	approxCos float64 // the same from Go's math.Cos, for approxTerm
	out, in   float64 // limitTerms of the radius or half the width
}

func (s *Shape) prepare() {
	latr := degRad(s.Lat)
	s.cosLat, s.approxCos = Cos(latr), math.Cos(latr)
	if s.Box {
		s.out, s.in = limitTerms(s.Width * s.Conversion / 2)
	} else {
		s.out, s.in = limitTerms(s.Radius * s.Conversion)
	}
	s.prepared = true
}

// Contains reports whether a point lies in the shape and its distance from the centre in
// metres, decided as Redis decides it.
func (s *Shape) Contains(long, lat float64) (float64, bool) {
	if !s.prepared {
		s.prepare()
	}
	if !s.Box {
		if a, ok := approxTerm(s.Long, s.Lat, long, lat, s.approxCos); ok && a > s.out {
			return 0, false
		}
		d := distance(s.Long, s.Lat, long, lat, s.cosLat)
		return d, !(d > s.Radius*s.Conversion) // a NaN distance is in, as in Redis
	}
	w, h := s.Width*s.Conversion, s.Height*s.Conversion
	if latDistance(lat, s.Lat) > h/2 {
		return 0, false
	}
	// the east-west distance at the point's latitude against half the width
	a, ok := approxTerm(long, lat, s.Long, lat, math.Cos(degRad(lat)))
	switch {
	case ok && a > s.out:
		return 0, false
	case ok && a < s.in:
	case Distance(long, lat, s.Long, lat) > w/2:
		return 0, false
	}
	return distance(s.Long, s.Lat, long, lat, s.cosLat), true
}

// boundingBox is the shape's extent in degrees: min long, min lat, max long, max lat.
func (s *Shape) boundingBox() (minLong, minLat, maxLong, maxLat float64) {
	height, width := s.Radius, s.Radius
	if s.Box {
		height, width = s.Height/2, s.Width/2
	}
	height *= s.Conversion
	width *= s.Conversion
	latDelta := radDeg(height / EarthR)
	topDelta := radDeg(width / EarthR / Cos(degRad(s.Lat+latDelta)))
	bottomDelta := radDeg(width / EarthR / Cos(degRad(s.Lat-latDelta)))
	// the edge nearer the pole is the narrower one, on either hemisphere
	if s.Lat < 0 {
		return s.Long - bottomDelta, s.Lat - latDelta, s.Long + bottomDelta, s.Lat + latDelta
	}
	return s.Long - topDelta, s.Lat - latDelta, s.Long + topDelta, s.Lat + latDelta
}

// stepsForRadius picks the cell size so that the 3x3 cells around the centre cover a
// radius (Redis's geohashEstimateStepsByRadius).
func stepsForRadius(meters, lat float64) uint8 {
	if meters == 0 {
		return StepMax
	}
	step := 1
	for meters < mercMax {
		meters *= 2
		step++
	}
	step -= 2
	if lat > 66 || lat < -66 {
		step--
		if lat > 80 || lat < -80 {
			step--
		}
	}
	return uint8(min(max(step, 1), StepMax))
}

func moveX(h Bits, d int) Bits {
	x, y := h.Bits&oddBits, h.Bits&evenBits
	zz := uint64(evenBits) >> (64 - uint(h.Step)*2)
	if d > 0 {
		x += zz + 1
	} else {
		x |= zz
		x -= zz + 1
	}
	x &= uint64(oddBits) >> (64 - uint(h.Step)*2)
	return Bits{x | y, h.Step}
}

func moveY(h Bits, d int) Bits {
	x, y := h.Bits&oddBits, h.Bits&evenBits
	zz := uint64(oddBits) >> (64 - uint(h.Step)*2)
	if d > 0 {
		y += zz + 1
	} else {
		y |= zz
		y -= zz + 1
	}
	y &= uint64(evenBits) >> (64 - uint(h.Step)*2)
	return Bits{x | y, h.Step}
}

// Neighbour indexes in the order Redis scans them after the centre cell.
const (
	North = iota
	South
	East
	West
	NorthEast
	NorthWest
	SouthEast
	SouthWest
)

func neighbours(h Bits) [8]Bits {
	var n [8]Bits
	n[East] = moveX(h, 1)
	n[West] = moveX(h, -1)
	n[South] = moveY(h, -1)
	n[North] = moveY(h, 1)
	n[NorthWest] = moveY(moveX(h, -1), 1)
	n[SouthWest] = moveY(moveX(h, -1), -1)
	n[NorthEast] = moveY(moveX(h, 1), 1)
	n[SouthEast] = moveY(moveX(h, 1), -1)
	return n
}

// Cells returns the nine cells a search scans, in Redis's order (centre, N, S, E, W, NE,
// NW, SE, SW), zero where a cell cannot hold matches.
func (s *Shape) Cells() [9]Bits {
	minLong, minLat, maxLong, maxLat := s.boundingBox()
	radius := s.Radius
	if s.Box {
		radius = math.Sqrt(float64((s.Width/2)*(s.Width/2)) + float64((s.Height/2)*(s.Height/2)))
	}
	radius *= s.Conversion
	steps := stepsForRadius(radius, s.Lat)
	hash, _ := encode(longRange, latRange, s.Long, s.Lat, steps)
	nb := neighbours(hash)
	area := decode(longRange, latRange, hash)

	// Near a cell edge the estimated step can be too fine for the neighbours to cover the
	// whole area: then one step coarser.
	north, south := decode(longRange, latRange, nb[North]), decode(longRange, latRange, nb[South])
	east, west := decode(longRange, latRange, nb[East]), decode(longRange, latRange, nb[West])
	if steps > 1 && (north.Lat.Max < maxLat || south.Lat.Min > minLat || east.Long.Max < maxLong || west.Long.Min > minLong) {
		steps--
		hash, _ = encode(longRange, latRange, s.Long, s.Lat, steps)
		nb = neighbours(hash)
		area = decode(longRange, latRange, hash)
	}
	if steps >= 2 {
		drop := func(idx ...int) {
			for _, i := range idx {
				nb[i] = Bits{}
			}
		}
		if area.Lat.Min < minLat {
			drop(South, SouthWest, SouthEast)
		}
		if area.Lat.Max > maxLat {
			drop(North, NorthEast, NorthWest)
		}
		if area.Long.Min < minLong {
			drop(West, SouthWest, NorthWest)
		}
		if area.Long.Max > maxLong {
			drop(East, SouthEast, NorthEast)
		}
	}
	var cells [9]Bits
	cells[0] = hash
	copy(cells[1:], nb[:])
	return cells
}

// ScoreRange is the interval [min, max) of full-precision scores inside a cell.
func (h Bits) ScoreRange() (min, max float64) {
	shift := 52 - uint(h.Step)*2
	return float64(h.Bits << shift), float64((h.Bits + 1) << shift)
}

// FormatCoord formats a coordinate as Redis replies with one: printf's "%.17Lf" of the
// value, trailing zeros (and a bare point) removed, "-0" written "0".
func FormatCoord(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(v, 'f', 17, 64)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// FormatDistance formats a distance as Redis does: "%.4f".
func FormatDistance(d float64) string {
	switch {
	case math.IsInf(d, 1):
		return "inf"
	case math.IsInf(d, -1):
		return "-inf"
	case math.IsNaN(d):
		return "nan"
	}
	return strconv.FormatFloat(d, 'f', 4, 64)
}

// FormatPair formats a longitude,latitude pair as Redis's "%f,%f" error message does.
func FormatPair(long, lat float64) string {
	f := func(v float64) string {
		switch {
		case math.IsInf(v, 1):
			return "inf"
		case math.IsInf(v, -1):
			return "-inf"
		}
		return strconv.FormatFloat(v, 'f', 6, 64)
	}
	return f(long) + "," + f(lat)
}
