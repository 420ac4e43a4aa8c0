package server

import (
	"strconv"

	"github.com/sard-kv/sard/internal/geohash"
	"github.com/sard-kv/sard/internal/num"
	"github.com/sard-kv/sard/internal/pqsort"
	"github.com/sard-kv/sard/internal/zset"
)

// Geo commands: points stored in sorted sets, the score being the point's 52-bit geohash
// (package geohash). GEOADD is ZADD with computed scores; the searches scan the nine
// geohash cells around the centre as Redis does, so unsorted results come in Redis's order.

const (
	errGeoUnit       = "ERR unsupported unit provided. please use M, KM, FT, MI"
	errGeoMember     = "ERR could not decode requested zset member"
	errGeoRadiusNum  = "ERR need numeric radius"
	errGeoRadiusNeg  = "ERR radius cannot be negative"
	errGeoWidthNum   = "ERR need numeric width"
	errGeoHeightNum  = "ERR need numeric height"
	errGeoBoxNeg     = "ERR height or width cannot be negative"
	errGeoCount      = "ERR COUNT must be > 0"
	errGeoAnyCount   = "ERR the ANY argument requires COUNT argument"
	errGeoFrom       = "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for "
	errGeoBy         = "ERR exactly one of BYRADIUS and BYBOX can be specified for "
	errGeoInvalidXY  = "ERR invalid longitude,latitude pair "
	geoStoreRadius   = "STORE option in GEORADIUS"
	geoStoreSearch   = "GEOSEARCHSTORE"
	geoEventRadius   = "georadiusstore"
	geoEventSearch   = "geosearchstore"
	geoSortNone      = 0
	geoSortAsc       = 1
	geoSortDesc      = 2
	geoFlagCoords    = 1 << 0 // GEORADIUS: centre given as longitude latitude
	geoFlagMember    = 1 << 1 // GEORADIUSBYMEMBER: centre given as a member
	geoFlagNoStore   = 1 << 2 // the _RO variants
	geoFlagSearch    = 1 << 3 // GEOSEARCH syntax
	geoFlagSearchSto = 1 << 4 // GEOSEARCHSTORE
)

// parseLongLat reads a longitude and a latitude and checks Redis's limits.
func parseLongLat(c *Client, args [][]byte) (long, lat float64, ok bool) {
	if long, ok = num.ParseFloat(args[0]); !ok {
		c.w.Error(errNotFloat)
		return 0, 0, false
	}
	if lat, ok = num.ParseFloat(args[1]); !ok {
		c.w.Error(errNotFloat)
		return 0, 0, false
	}
	if long < geohash.LongMin || long > geohash.LongMax || lat < geohash.LatMin || lat > geohash.LatMax {
		c.w.Error(errGeoInvalidXY + geohash.FormatPair(long, lat))
		return 0, 0, false
	}
	return long, lat, true
}

// parseUnit returns the metres in one unit, or replies with the error.
func parseUnit(c *Client, u []byte) (float64, bool) {
	switch {
	case argEq(u, "m"):
		return 1, true
	case argEq(u, "km"):
		return 1000, true
	case argEq(u, "ft"):
		return 0.3048, true
	case argEq(u, "mi"):
		return 1609.34, true
	}
	c.w.Error(errGeoUnit)
	return 0, false
}

func parseRadius(c *Client, args [][]byte, sh *geohash.Shape) bool {
	r, ok := num.ParseFloat(args[0])
	if !ok {
		c.w.Error(errGeoRadiusNum)
		return false
	}
	if r < 0 {
		c.w.Error(errGeoRadiusNeg)
		return false
	}
	conv, ok := parseUnit(c, args[1])
	if !ok {
		return false
	}
	sh.Box, sh.Radius, sh.Conversion = false, r, conv
	return true
}

func parseBox(c *Client, args [][]byte, sh *geohash.Shape) bool {
	w, ok := num.ParseFloat(args[0])
	if !ok {
		c.w.Error(errGeoWidthNum)
		return false
	}
	h, ok := num.ParseFloat(args[1])
	if !ok {
		c.w.Error(errGeoHeightNum)
		return false
	}
	if h < 0 || w < 0 {
		c.w.Error(errGeoBoxNeg)
		return false
	}
	conv, ok := parseUnit(c, args[2])
	if !ok {
		return false
	}
	sh.Box, sh.Width, sh.Height, sh.Conversion = true, w, h, conv
	return true
}

// memberPosition decodes a member's coordinates.
func memberPosition(z *zset.Set, member []byte) (long, lat float64, ok bool) {
	score, ok := z.Score(member)
	if !ok {
		return 0, 0, false
	}
	long, lat = geohash.Decode(score)
	return long, lat, true
}

func geoaddCommand(c *Client) {
	argv := c.argv
	nx, xx := false, false
	i := 2
	for ; i < len(argv); i++ {
		switch a := argv[i]; {
		case argEq(a, "nx"):
			nx = true
		case argEq(a, "xx"):
			xx = true
		case argEq(a, "ch"):
		default:
			goto parsed
		}
	}
parsed:
	if (len(argv)-i)%3 != 0 || (xx && nx) {
		c.w.Error(errSyntax)
		return
	}
	// GEOADD is ZADD with the geohashes as scores: Redis rewrites the command and runs
	// ZADD, which is also what it propagates.
	n := (len(argv) - i) / 3
	zargv := make([][]byte, 0, i+2*n)
	zargv = append(zargv, []byte("zadd"))
	zargv = append(zargv, argv[1:i]...)
	for j := 0; j < n; j++ {
		p := argv[i+3*j:]
		long, lat, ok := parseLongLat(c, p[:2])
		if !ok {
			return
		}
		bits, _ := geohash.Encode(long, lat)
		zargv = append(zargv, strconv.AppendUint(nil, bits, 10), p[2])
	}
	c.argv = zargv
	zaddCommand(c)
}

func geohashCommand(c *Client) {
	_, z, ok := c.lookupZSet(c.argv[1], false)
	if !ok {
		return
	}
	c.w.Array(len(c.argv) - 2)
	for _, m := range c.argv[2:] {
		if z == nil {
			c.w.Null()
			continue
		}
		score, found := z.Score(m)
		if !found {
			c.w.Null()
			continue
		}
		c.w.BulkString(geohash.String(score))
	}
}

func geoposCommand(c *Client) {
	_, z, ok := c.lookupZSet(c.argv[1], false)
	if !ok {
		return
	}
	c.w.Array(len(c.argv) - 2)
	for _, m := range c.argv[2:] {
		if z == nil {
			c.w.NullArray()
			continue
		}
		long, lat, found := memberPosition(z, m)
		if !found {
			c.w.NullArray()
			continue
		}
		c.w.Array(2)
		writeCoord(c, long)
		writeCoord(c, lat)
	}
}

// writeCoord replies with a coordinate: a bulk string in RESP2, a double in RESP3, the
// digits being printf's "%.17Lf" trimmed either way (Redis's addReplyHumanLongDouble).
func writeCoord(c *Client, v float64) {
	s := geohash.FormatCoord(v)
	if c.w.Proto >= 3 {
		c.w.Raw(append(append([]byte{','}, s...), '\r', '\n'))
		return
	}
	c.w.BulkString(s)
}

func geodistCommand(c *Client) {
	conv := 1.0
	if len(c.argv) == 5 {
		var ok bool
		if conv, ok = parseUnit(c, c.argv[4]); !ok {
			return
		}
	} else if len(c.argv) > 5 {
		c.w.Error(errSyntax)
		return
	}
	_, z, ok := c.lookupZSet(c.argv[1], false)
	if !ok {
		return
	}
	if z == nil {
		c.w.Null()
		return
	}
	long1, lat1, ok1 := memberPosition(z, c.argv[2])
	long2, lat2, ok2 := memberPosition(z, c.argv[3])
	if !ok1 || !ok2 {
		c.w.Null()
		return
	}
	c.w.BulkString(geohash.FormatDistance(geohash.Distance(long1, lat1, long2, lat2) / conv))
}

// geoPoint is one search result.
type geoPoint struct {
	member    []byte
	dist      float64
	score     float64
	long, lat float64
}

// geoSearch collects the members of z inside the shape, scanning the nine cells in
// Redis's order; limit > 0 (ANY) stops as soon as that many were found.
func geoSearch(z *zset.Set, sh *geohash.Shape, limit int) []geoPoint {
	var out []geoPoint
	cells := sh.Cells()
	last := 0
	for i, cell := range cells {
		if cell.IsZero() {
			continue
		}
		// Huge radii make neighbours coincide; Redis skips a cell equal to the last one
		// scanned, except right after the centre cell (its index 0 reads as "none").
		if last != 0 && cell == cells[last] {
			continue
		}
		if len(out) > 0 && limit > 0 && len(out) >= limit {
			break
		}
		lo, hi := cell.ScoreRange()
		start := z.CountWhileScore(func(s float64) bool { return s < lo })
		end := z.CountWhileScore(func(s float64) bool { return s < hi })
		z.Range(start, end-1, false, func(member []byte, score float64) bool {
			long, lat := geohash.Decode(score)
			if d, in := sh.Contains(long, lat); in {
				out = append(out, geoPoint{append([]byte(nil), member...), d, score, long, lat})
			}
			return !(len(out) > 0 && limit > 0 && len(out) >= limit)
		})
		last = i
	}
	return out
}

func georadiusCommand(c *Client)           { geoSearchGeneric(c, 1, geoFlagCoords) }
func georadiusROCommand(c *Client)         { geoSearchGeneric(c, 1, geoFlagCoords|geoFlagNoStore) }
func georadiusbymemberCommand(c *Client)   { geoSearchGeneric(c, 1, geoFlagMember) }
func georadiusbymemberROCommand(c *Client) { geoSearchGeneric(c, 1, geoFlagMember|geoFlagNoStore) }
func geosearchCommand(c *Client)           { geoSearchGeneric(c, 1, geoFlagSearch) }
func geosearchstoreCommand(c *Client)      { geoSearchGeneric(c, 2, geoFlagSearch|geoFlagSearchSto) }

// geoSearchGeneric is every radius/box search (Redis's georadiusGeneric): argument
// parsing, the search, sorting and either the reply or the store.
func geoSearchGeneric(c *Client, srcIdx int, flags int) {
	argv := c.argv
	_, z, ok := c.lookupZSet(argv[srcIdx], false)
	if !ok {
		return
	}
	var sh geohash.Shape
	var storeKey []byte
	storeDist := false
	base := 0
	switch {
	case flags&geoFlagCoords != 0:
		base = 6
		if sh.Long, sh.Lat, ok = parseLongLat(c, argv[2:4]); !ok {
			return
		}
		if !parseRadius(c, argv[4:6], &sh) {
			return
		}
	case flags&geoFlagMember != 0:
		base = 5
		if z != nil {
			if sh.Long, sh.Lat, ok = memberPosition(z, argv[2]); !ok {
				c.w.Error(errGeoMember)
				return
			}
			if !parseRadius(c, argv[3:5], &sh) {
				return
			}
		}
	default:
		base = 2
		if flags&geoFlagSearchSto != 0 {
			base = 3
			storeKey = argv[1]
		}
	}

	withDist, withHash, withCoord, any := false, false, false, false
	fromMember, fromLoc, byRadius, byBox := false, false, false, false
	order := geoSortNone
	var count int64
	for i := base; i < len(argv); i++ {
		a := argv[i]
		left := len(argv) - i - 1 // arguments after this one
		search := flags&geoFlagSearch != 0
		canStore := flags&(geoFlagNoStore|geoFlagSearch) == 0
		switch {
		case argEq(a, "withdist"):
			withDist = true
		case argEq(a, "withhash"):
			withHash = true
		case argEq(a, "withcoord"):
			withCoord = true
		case argEq(a, "any"):
			any = true
		case argEq(a, "asc"):
			order = geoSortAsc
		case argEq(a, "desc"):
			order = geoSortDesc
		case argEq(a, "count") && left >= 1:
			n, ok := num.ParseInt64(argv[i+1])
			if !ok {
				c.w.Error(errNotInt)
				return
			}
			if n <= 0 {
				c.w.Error(errGeoCount)
				return
			}
			count = n
			i++
		case argEq(a, "store") && left >= 1 && canStore:
			storeKey, storeDist = argv[i+1], false
			i++
		case argEq(a, "storedist") && left >= 1 && canStore:
			storeKey, storeDist = argv[i+1], true
			i++
		case argEq(a, "storedist") && search && flags&geoFlagSearchSto != 0:
			storeDist = true
		case argEq(a, "frommember") && left >= 1 && search && !fromLoc:
			// with no source key the member cannot be looked up: keep parsing, the
			// reply is the empty one
			if z != nil {
				if sh.Long, sh.Lat, ok = memberPosition(z, argv[i+1]); !ok {
					c.w.Error(errGeoMember)
					return
				}
			}
			fromMember = true
			i++
		case argEq(a, "fromlonlat") && left >= 2 && search && !fromMember:
			if sh.Long, sh.Lat, ok = parseLongLat(c, argv[i+1:i+3]); !ok {
				return
			}
			fromLoc = true
			i += 2
		case argEq(a, "byradius") && left >= 2 && search && !byBox:
			if !parseRadius(c, argv[i+1:i+3], &sh) {
				return
			}
			byRadius = true
			i += 2
		case argEq(a, "bybox") && left >= 3 && search && !byRadius:
			if !parseBox(c, argv[i+1:i+4], &sh) {
				return
			}
			byBox = true
			i += 3
		default:
			c.w.Error(errSyntax)
			return
		}
	}

	if storeKey != nil && (withDist || withHash || withCoord) {
		what := geoStoreRadius
		if flags&geoFlagSearchSto != 0 {
			what = geoStoreSearch
		}
		c.w.Error("ERR " + what + " is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
		return
	}
	if flags&geoFlagSearch != 0 && !fromMember && !fromLoc {
		c.w.Error(errGeoFrom + string(argv[0]))
		return
	}
	if flags&geoFlagSearch != 0 && !byRadius && !byBox {
		c.w.Error(errGeoBy + string(argv[0]))
		return
	}
	if any && count == 0 {
		c.w.Error(errGeoAnyCount)
		return
	}

	if z == nil {
		if storeKey != nil {
			if c.db.delete(storeKey) {
				c.srv.notifyKeyspace(notifyGeneric, "del", storeKey, c.db.id)
				c.srv.dirty++
			}
			c.w.Int(0)
			return
		}
		c.w.Array(0)
		return
	}
	// COUNT without an order means the nearest ones.
	if count != 0 && order == geoSortNone && !any {
		order = geoSortAsc
	}
	limit := 0
	if any {
		limit = int(min(count, int64(z.Len())))
	}
	pts := geoSearch(z, &sh, limit)
	if len(pts) == 0 && storeKey == nil {
		c.w.Array(0)
		return
	}
	n := len(pts)
	if count != 0 && int64(n) > count {
		n = int(count)
	}
	if order != geoSortNone {
		// Redis's comparison: greater, equal, else less (so a NaN distance is "less"
		// than anything, both ways round).
		cmp := func(a, b *geoPoint) int {
			c := -1
			switch {
			case a.dist > b.dist:
				c = 1
			case a.dist == b.dist:
				c = 0
			}
			if order == geoSortDesc {
				return -c
			}
			return c
		}
		// Points at equal distances end in Redis's order: its partial quicksort when COUNT
		// leaves some out, otherwise glibc's qsort.
		if n < len(pts) {
			pqsort.Sort(pts, cmp, 0, n-1)
		} else {
			pqsort.Stable(pts, cmp)
		}
	}
	pts = pts[:n]
	for i := range pts {
		pts[i].dist /= sh.Conversion
	}

	if storeKey == nil {
		opts := 0
		for _, f := range []bool{withDist, withHash, withCoord} {
			if f {
				opts++
			}
		}
		c.w.Array(n)
		for _, p := range pts {
			if opts > 0 {
				c.w.Array(opts + 1)
			}
			c.w.Bulk(p.member)
			if withDist {
				c.w.BulkString(geohash.FormatDistance(p.dist))
			}
			if withHash {
				c.w.Int(int64(p.score))
			}
			if withCoord {
				c.w.Array(2)
				writeCoord(c, p.long)
				writeCoord(c, p.lat)
			}
		}
		return
	}

	if n == 0 {
		if c.db.delete(storeKey) {
			c.srv.notifyKeyspace(notifyGeneric, "del", storeKey, c.db.id)
			c.srv.dirty++
		}
		c.w.Int(0)
		return
	}
	maxEntries, maxValue := c.srv.zsetLimits()
	dst := newZSetFor(n, maxEntries)
	for _, p := range pts {
		score := p.score
		if storeDist {
			score = p.dist
		}
		if _, exists := dst.Score(p.member); exists {
			dst.Update(p.member, score)
			continue
		}
		zsetInsert(dst, p.member, score, maxEntries, maxValue)
	}
	c.db.storeZSet(storeKey, dst)
	event := geoEventRadius
	if flags&geoFlagSearch != 0 {
		event = geoEventSearch
	}
	c.srv.notifyKeyspace(notifyZSet, event, storeKey, c.db.id)
	c.srv.dirty += int64(n)
	c.w.Int(int64(n))
}

func init() {
	register(map[string]func(*Client){
		"geoadd":               geoaddCommand,
		"geohash":              geohashCommand,
		"geopos":               geoposCommand,
		"geodist":              geodistCommand,
		"georadius":            georadiusCommand,
		"georadius_ro":         georadiusROCommand,
		"georadiusbymember":    georadiusbymemberCommand,
		"georadiusbymember_ro": georadiusbymemberROCommand,
		"geosearch":            geosearchCommand,
		"geosearchstore":       geosearchstoreCommand,
	})
}
