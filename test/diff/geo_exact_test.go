package diff

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/sard-kv/sard/internal/geohash"
	"github.com/sard-kv/sard/internal/testutil"
)

// The haversine formula as Redis's geohashGetDistance evaluates it, in Lua on the oracle:
// Redis's Lua calls the same C library sin, cos and asin as its GEO code, and Lua does
// each double operation separately, in the same order. It returns every intermediate
// result in "%.17g", which reads back exactly.
const glibcHaversine = `
local lon1, lat1, lon2, lat2 = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local dr = math.pi / 180.0
local function f(x) return string.format('%.17g', x) end
local v = math.sin((lon2 * dr - lon1 * dr) / 2)
if v == 0 then
  return {f(v), '', '', '', '', '', f(6372797.560856 * math.abs(lat2 * dr - lat1 * dr))}
end
local u = math.sin((lat2 * dr - lat1 * dr) / 2)
local c1, c2 = math.cos(lat1 * dr), math.cos(lat2 * dr)
local s = math.sqrt(u * u + c1 * c2 * v * v)
local as = math.asin(s)
return {f(v), f(u), f(c1), f(c2), f(s), f(as), f(2.0 * 6372797.560856 * as)}`

// geoPair is a distance computed by both servers.
type geoPair struct {
	a, b  string  // members
	redis string  // the oracle's reply payload (GEODIST, "%.4f") or score (STOREDIST, "%.17g")
	sard  string  //
	conv  float64 // metres per unit of the reply
	score bool    // a STOREDIST score rather than a GEODIST reply
}

// TestGeoDistancesExact compares GEODIST and GEOSEARCHSTORE ... STOREDIST between sard
// and redis-server over thousands of random point pairs and the edge cases (identical
// points, antipodes, the poles' latitude limits, longitudes ±180, one meridian). GEODIST
// replies must be identical; STOREDIST scores are compared in all 17 digits. Redis's sin,
// cos and asin (glibc's) are not correctly rounded in about one case in a thousand; sard's
// are, so a few scores differ in the last bit: every difference must be explained by a
// glibc result that is not the correctly rounded one (checked by replaying the formula on
// the oracle, in Lua, with its own C library), and they are counted.
func TestGeoDistancesExact(t *testing.T) {
	oracle := testutil.StartRedis(t)
	subject := testutil.StartSard(t)
	rc, sc := oracle.Raw(), subject.Raw()
	both := func(cmds [][]string) ([][]byte, [][]byte) {
		t.Helper()
		a, err := rc.Pipeline(cmds...)
		if err != nil {
			t.Fatalf("redis: %v", err)
		}
		b, err := sc.Pipeline(cmds...)
		if err != nil {
			t.Fatalf("sard: %v", err)
		}
		return a, b
	}

	rng := rand.New(rand.NewPCG(20, 24))
	type point struct{ long, lat float64 }
	var pts []point
	for range 3000 {
		pts = append(pts, point{360*rng.Float64() - 180, 2*geohash.LatMax*rng.Float64() - geohash.LatMax})
	}
	edges := []point{
		{0, 0}, {180, 0}, {-180, 0}, {180, geohash.LatMax}, {-180, -geohash.LatMax},
		{0, geohash.LatMax}, {0, -geohash.LatMax}, {90, geohash.LatMax}, {-90, -geohash.LatMax},
		{13.361389, 38.115556}, {13.361389, -38.115556}, {-166.638611, -38.115556}, // antipodes
		{45, 45}, {-135, -45}, {10, 30}, {-170, -30}, {0.000001, 0}, {179.999999, 0},
		{2.3522, 48.8566}, {2.3522, 48.8566}, {2.3522, -48.8566}, {2.3522, 0}, // one meridian
	}
	first := len(pts)
	pts = append(pts, edges...)
	var add [][]string
	for i, p := range pts {
		add = append(add, []string{"GEOADD", "g", fmt.Sprint(p.long), fmt.Sprint(p.lat), "p" + strconv.Itoa(i)})
	}
	if a, b := both(add); string(a[0]) != string(b[0]) {
		t.Fatalf("GEOADD: redis %q, sard %q", a[0], b[0])
	}

	// GEODIST between random pairs, between every two edge points, in all four units
	var pairs [][2]int
	for range 5000 {
		pairs = append(pairs, [2]int{rng.IntN(len(pts)), rng.IntN(len(pts))})
	}
	for i := first; i < len(pts); i++ {
		for j := first; j < len(pts); j++ {
			pairs = append(pairs, [2]int{i, j})
		}
	}
	var dist [][]string
	units := []string{"m", "km", "mi", "ft"}
	for k, p := range pairs {
		dist = append(dist, []string{"GEODIST", "g", "p" + strconv.Itoa(p[0]), "p" + strconv.Itoa(p[1]), units[k%4]})
	}
	ra, sa := both(dist)
	var diffs []geoPair
	for k := range dist {
		if string(ra[k]) != string(sa[k]) {
			r, _ := testutil.Bulk(ra[k])
			s, _ := testutil.Bulk(sa[k])
			diffs = append(diffs, geoPair{a: dist[k][2], b: dist[k][3], redis: string(r), sard: string(s),
				conv: map[string]float64{"m": 1, "km": 1000, "mi": 1609.34, "ft": 0.3048}[dist[k][4]]})
		}
	}
	geodistDiffs := len(diffs)

	// Where the points are, to recompute distances the way sard computed them before
	// (Go's math package), for the log.
	raw, err := rc.Do("ZRANGE", "g", "0", "-1", "WITHSCORES")
	if err != nil {
		t.Fatal(err)
	}
	where := map[string][2]float64{}
	for m, sc := range zrangeScores(t, raw) {
		score, _ := strconv.ParseFloat(sc, 64)
		long, lat := geohash.Decode(score)
		where[m] = [2]float64{long, lat}
	}
	goMath := 0

	// STOREDIST: from 40 centres (the edge points among them) to every point, by a radius
	// and by a box larger than the earth, and every score compared in full
	centres := []int{}
	for i := first; i < len(pts); i++ {
		centres = append(centres, i)
	}
	for len(centres) < 40 {
		centres = append(centres, rng.IntN(first))
	}
	scores := 0
	for k, c := range centres {
		by := []string{"BYRADIUS", "30000", "km"}
		if k%2 == 1 {
			by = []string{"BYBOX", "50000", "50000", "km"}
		}
		cmd := append([]string{"GEOSEARCHSTORE", "d", "g", "FROMMEMBER", "p" + strconv.Itoa(c)}, by...)
		cmd = append(cmd, "STOREDIST")
		a, b := both([][]string{cmd, {"ZRANGE", "d", "0", "-1", "WITHSCORES"}})
		if string(a[0]) != string(b[0]) {
			t.Fatalf("%v: redis %q, sard %q", cmd, a[0], b[0])
		}
		rs, ss := zrangeScores(t, a[1]), zrangeScores(t, b[1])
		if len(rs) != len(ss) {
			t.Fatalf("%v stored %d members on redis, %d on sard", cmd, len(rs), len(ss))
		}
		for m, r := range rs {
			s, ok := ss[m]
			if !ok {
				t.Fatalf("%v: %s stored on redis only", cmd, m)
			}
			scores++
			if r != s {
				diffs = append(diffs, geoPair{a: "p" + strconv.Itoa(c), b: m, redis: r, sard: s, conv: 1000, score: true})
			}
			p, q := where["p"+strconv.Itoa(c)], where[m]
			if strconv.FormatFloat(goMathDistance(p[0], p[1], q[0], q[1])/1000, 'g', 17, 64) != r {
				goMath++
			}
		}
	}
	if scores < 40*len(pts)/2 {
		t.Fatalf("only %d distances stored: the searches missed most points", scores)
	}

	// Every difference must come from a glibc result that is not correctly rounded.
	for _, d := range diffs {
		explainDiff(t, rc, d)
	}
	t.Logf("GEODIST: %d pairs, %d replies differ; STOREDIST: %d scores, %d differ in the 17th digit, "+
		"each from a glibc sin/cos/asin result that is not correctly rounded "+
		"(with Go's math functions %d scores would differ)",
		len(dist), geodistDiffs, scores, len(diffs)-geodistDiffs, goMath)
	if limit := (len(dist) + scores) / 100; len(diffs) > limit {
		t.Errorf("%d differences, more than 1%%", len(diffs))
	}
}

// goMathDistance is Redis's haversine formula with Go's math functions, as sard computed
// it before its functions were correctly rounded.
func goMathDistance(lon1, lat1, lon2, lat2 float64) float64 {
	pi := math.Pi
	dr := pi / 180.0
	v := math.Sin((lon2*dr - lon1*dr) / 2)
	if v == 0 {
		return 6372797.560856 * math.Abs(lat2*dr-lat1*dr)
	}
	u := math.Sin((lat2*dr - lat1*dr) / 2)
	a := float64(u*u) + float64(float64(float64(math.Cos(lat1*dr)*math.Cos(lat2*dr))*v)*v)
	return 2.0 * 6372797.560856 * math.Asin(math.Sqrt(a))
}

// zrangeScores reads a ZRANGE ... WITHSCORES reply into member -> score text.
func zrangeScores(t *testing.T, raw []byte) map[string]string {
	t.Helper()
	_, elems, err := testutil.SplitReply(raw)
	if err != nil {
		t.Fatalf("bad ZRANGE reply %q: %v", raw, err)
	}
	out := map[string]string{}
	for i := 0; i+1 < len(elems); i += 2 {
		m, _ := testutil.Bulk(elems[i])
		s, ok := testutil.Bulk(elems[i+1])
		if !ok {
			s = elems[i+1] // RESP3 double
		}
		out[string(m)] = string(s)
	}
	return out
}

// explainDiff replays the distance between two members on the oracle with its C library
// and checks that (1) the replay reproduces Redis's own result, so it is Redis's
// computation, and (2) at least one of its sin, cos and asin results differs from the
// correctly rounded value of the same argument: the reason sard's result differs.
func explainDiff(t *testing.T, rc *testutil.RawConn, d geoPair) {
	t.Helper()
	pos := func(m string) (float64, float64) {
		raw, err := rc.Do("ZSCORE", "g", m)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := testutil.Bulk(raw)
		score, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			t.Fatalf("ZSCORE g %s: %q", m, raw)
		}
		return geohash.Decode(score)
	}
	lon1, lat1 := pos(d.a)
	lon2, lat2 := pos(d.b)
	g17 := func(x float64) string { return strconv.FormatFloat(x, 'g', 17, 64) }
	raw, err := rc.Do("EVAL", glibcHaversine, "0", g17(lon1), g17(lat1), g17(lon2), g17(lat2))
	if err != nil {
		t.Fatal(err)
	}
	_, elems, err := testutil.SplitReply(raw)
	if err != nil || len(elems) != 7 {
		t.Fatalf("replay of %s-%s: %q", d.a, d.b, raw)
	}
	g := make([]float64, 7)
	for i, e := range elems {
		b, _ := testutil.Bulk(e)
		g[i], _ = strconv.ParseFloat(string(b), 64)
	}
	where := fmt.Sprintf("%s-%s (redis %s, sard %s)", d.a, d.b, d.redis, d.sard)
	replay := strconv.FormatFloat(g[6]/d.conv, 'f', 4, 64)
	if d.score {
		replay = strconv.FormatFloat(g[6]/d.conv, 'g', 17, 64)
	}
	if replay != d.redis {
		t.Errorf("%s: the replay gives %s", where, replay)
		return
	}
	pi := math.Pi
	dr := pi / 180.0
	if v := (lon2*dr - lon1*dr) / 2; g[0] != geohash.Sin(v) {
		return
	}
	if g[0] == 0 {
		t.Errorf("%s: on one meridian (no sin, cos or asin), yet different", where)
		return
	}
	u := (lat2*dr - lat1*dr) / 2
	if g[1] != geohash.Sin(u) || g[2] != geohash.Cos(lat1*dr) || g[3] != geohash.Cos(lat2*dr) || g[5] != geohash.Asin(g[4]) {
		return
	}
	t.Errorf("%s: glibc's sin, cos and asin all agree with the correctly rounded values", where)
}

// TestGeoRadiusEdge searches with radii equal to a point's exact distance from the centre
// (and one ulp less, one ulp more), so that whether the point is in depends on the last
// bit of the distance, and compares whole replies (members, WITHDIST, WITHCOORD, the
// order with and without ASC, COUNT with ties) between sard and redis-server.
func TestGeoRadiusEdge(t *testing.T) {
	oracle := testutil.StartRedis(t)
	subject := testutil.StartSard(t)
	rc, sc := oracle.Raw(), subject.Raw()
	both := func(cmds [][]string) ([][]byte, [][]byte) {
		t.Helper()
		a, err := rc.Pipeline(cmds...)
		if err != nil {
			t.Fatalf("redis: %v", err)
		}
		b, err := sc.Pipeline(cmds...)
		if err != nil {
			t.Fatalf("sard: %v", err)
		}
		return a, b
	}
	rng := rand.New(rand.NewPCG(5, 9))
	var add [][]string
	for i := range 600 {
		// clustered around a few places, some points sharing coordinates (ties)
		long := 8 + 4*rng.Float64()
		lat := 44 + 4*rng.Float64()
		if i%10 == 0 && i > 0 {
			long, lat = 10, 46
		}
		add = append(add, []string{"GEOADD", "g", strconv.FormatFloat(long, 'f', 6, 64),
			strconv.FormatFloat(lat, 'f', 6, 64), "p" + strconv.Itoa(i)})
	}
	both(add)

	edges, compared := 0, 0
	for c := 0; c < 30; c++ {
		centre := "p" + strconv.Itoa(rng.IntN(600))
		a, b := both([][]string{
			{"GEOSEARCHSTORE", "d", "g", "FROMMEMBER", centre, "BYRADIUS", "1000000", "m", "STOREDIST"},
			{"ZRANGE", "d", "0", "-1", "WITHSCORES"},
		})
		rs, ss := zrangeScores(t, a[1]), zrangeScores(t, b[1])
		var cmds [][]string
		for m, r := range rs {
			if ss[m] != r || rng.IntN(60) != 0 {
				continue // the glibc differences are TestGeoDistancesExact's; and a sample is enough
			}
			d, _ := strconv.ParseFloat(r, 64)
			edges++
			for _, radius := range []float64{d, math.Nextafter(d, 0), math.Nextafter(d, math.Inf(1))} {
				rad := strconv.FormatFloat(radius, 'g', 17, 64)
				cmds = append(cmds,
					[]string{"GEOSEARCH", "g", "FROMMEMBER", centre, "BYRADIUS", rad, "m", "ASC", "WITHDIST"},
					[]string{"GEOSEARCH", "g", "FROMMEMBER", centre, "BYRADIUS", rad, "m", "WITHCOORD", "WITHHASH"},
					[]string{"GEOSEARCH", "g", "FROMMEMBER", centre, "BYRADIUS", rad, "m", "COUNT", "7", "DESC", "WITHDIST"},
					[]string{"GEORADIUSBYMEMBER", "g", centre, rad, "m", "COUNT", "5", "WITHDIST"},
					[]string{"GEOSEARCH", "g", "FROMMEMBER", centre, "BYBOX", rad, rad, "m", "ASC", "COUNT", "9"},
				)
			}
		}
		ra, sa := both(cmds)
		for k := range cmds {
			compared++
			if string(ra[k]) != string(sa[k]) {
				t.Errorf("%v\n redis %q\n sard  %q", cmds[k], ra[k], sa[k])
			}
		}
	}
	if edges < 100 {
		t.Fatalf("only %d edge points tried", edges)
	}
	t.Logf("%d points on a radius edge, %d searches compared", edges, compared)
}
