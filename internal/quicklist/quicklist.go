// Package quicklist implements Redis 7.0's list encoding: a sequence of listpack nodes,
// each filled up to list-max-listpack-size, with the nodes deeper than list-compress-depth
// from either end kept LZF-compressed, splitting and merging nodes as Redis does.
//
// Node layout follows Redis's rules so that the nodes written to RDB files (and memory
// use) match: a push goes into the end node while it has room, else into a new node; an
// insert into a full node goes into a neighbour with room, a new node, or splits the
// node; compression follows Redis's "compress the node just past the depth" scheme.
// Elements of 1 GiB or more (Redis's "plain" nodes) are not supported: they cannot
// arrive through the protocol with the default proto-max-bulk-len.
package quicklist

import (
	"github.com/sard-kv/sard/internal/listpack"
	"github.com/sard-kv/sard/internal/lzf"
)

// Ends of the list.
const (
	Head = 0
	Tail = 1
)

const (
	fillMax              = 1<<15 - 1
	fillMin              = -5
	depthMax             = 1<<16 - 1
	sizeSafetyLimit      = 8192 // a count-limited node never grows past this
	sizeEstimateOverhead = 8    // what Redis adds to an element's length when sizing a node
	minCompressBytes     = 48   // nodes smaller than this are never compressed
	minCompressImprove   = 8    // compression must save at least this much
)

// optimizationLevel holds the node byte limits for fill -1 to -5.
var optimizationLevel = [...]int{4096, 8192, 16384, 32768, 65536}

type node struct {
	data       []byte // the listpack, or its LZF form when compressed
	sz         int32  // listpack size in bytes
	count      int32
	compressed bool
	recompress bool // decompressed by an iterator for editing; compress again when done
}

// List is a quicklist. The zero value is not usable: call New.
type List struct {
	nodes []node
	count int
	fill  int
	depth int

	// cache of the last node decompressed for reading
	scratch   []byte
	scratchNi int
	gen       uint64 // bumped by every change, so the cache knows when it is stale
	scratchG  uint64
}

// New returns an empty list with the given list-max-listpack-size and list-compress-depth,
// clamped to Redis's ranges. Like Redis, a list keeps the options it was created with.
func New(fill, depth int) *List {
	fill = min(max(fill, fillMin), fillMax)
	depth = min(max(depth, 0), depthMax)
	return &List{fill: fill, depth: depth, scratchNi: -1}
}

// Len returns the number of elements.
func (q *List) Len() int { return q.count }

// Fill returns the list-max-listpack-size the list was created with.
func (q *List) Fill() int { return q.fill }

// Depth returns the list-compress-depth the list was created with.
func (q *List) Depth() int { return q.depth }

// NodeCount returns the number of nodes.
func (q *List) NodeCount() int { return len(q.nodes) }

// Node returns node i's stored bytes (a listpack, or its LZF compression when compressed)
// and the listpack size, for RDB writing. The bytes must not be modified.
func (q *List) Node(i int) (data []byte, compressed bool, sz int) {
	n := &q.nodes[i]
	return n.data, n.compressed, int(n.sz)
}

// AppendListpack adds a whole node at the tail, as an RDB loader does. lp must be a valid,
// non-empty listpack, which the list takes ownership of.
func (q *List) AppendListpack(lp []byte) {
	q.gen++
	cnt := listpack.Len(lp)
	q.nodes = append(q.nodes, node{data: lp, sz: int32(len(lp)), count: int32(cnt)})
	q.count += cnt
	q.compressAround(len(q.nodes) - 1)
}

// sizeMeetsOptimization reports whether a node of sz bytes is within a negative fill's limit.
func sizeMeetsOptimization(sz, fill int) bool {
	if fill >= 0 {
		return false
	}
	off := -fill - 1
	return off < len(optimizationLevel) && sz <= optimizationLevel[off]
}

// allowInsert is Redis's _quicklistNodeAllowInsert for an element of sz bytes.
func (q *List) allowInsert(ni, sz int) bool {
	if ni < 0 || ni >= len(q.nodes) {
		return false
	}
	n := &q.nodes[ni]
	newSz := int(n.sz) + sz + sizeEstimateOverhead
	if sizeMeetsOptimization(newSz, q.fill) {
		return true
	}
	if newSz > sizeSafetyLimit {
		return false
	}
	return int(n.count) < q.fill
}

// allowMerge is Redis's _quicklistNodeAllowMerge.
func (q *List) allowMerge(a, b int) bool {
	if a < 0 || b < 0 || a >= len(q.nodes) || b >= len(q.nodes) {
		return false
	}
	// the merged size estimate drops one header and terminator and four backlen bytes
	mergeSz := int(q.nodes[a].sz) + int(q.nodes[b].sz) - 11
	if sizeMeetsOptimization(mergeSz, q.fill) {
		return true
	}
	if mergeSz > sizeSafetyLimit {
		return false
	}
	return int(q.nodes[a].count+q.nodes[b].count) <= q.fill
}

// view returns node ni's listpack for reading, decompressing into the cache if needed.
func (q *List) view(ni int) []byte {
	n := &q.nodes[ni]
	if !n.compressed {
		return n.data
	}
	if q.scratchNi == ni && q.scratchG == q.gen {
		return q.scratch
	}
	out, err := lzf.Decompress(q.scratch, n.data, int(n.sz))
	if err != nil {
		panic("quicklist: corrupt compressed node") // we compressed it ourselves
	}
	q.scratch, q.scratchNi, q.scratchG = out, ni, q.gen
	return out
}

// open decompresses node ni for editing and returns its listpack.
func (q *List) open(ni int) []byte {
	q.gen++
	n := &q.nodes[ni]
	if n.compressed {
		out, err := lzf.Decompress(nil, n.data, int(n.sz))
		if err != nil {
			panic("quicklist: corrupt compressed node")
		}
		n.data, n.compressed = out, false
	}
	return n.data
}

// store puts an edited listpack back into node ni.
func (q *List) store(ni int, lp []byte) {
	n := &q.nodes[ni]
	n.data, n.sz, n.count = lp, int32(len(lp)), int32(listpack.Len(lp))
}

func (q *List) compressNode(ni int) {
	n := &q.nodes[ni]
	n.recompress = false
	if n.compressed || int(n.sz) < minCompressBytes {
		return
	}
	z := lzf.Compress(nil, n.data, int(n.sz))
	if z == nil || len(z)+minCompressImprove >= int(n.sz) {
		return
	}
	n.data = append([]byte(nil), z...) // exact size: the work buffer is as big as the node
	n.compressed = true
	q.gen++
}

func (q *List) decompressNode(ni int) {
	if q.nodes[ni].compressed {
		q.open(ni)
	}
}

// compressAround is Redis's __quicklistCompress: the nodes within depth of either end are
// made raw, and node ni (-1 for none) and the first node past the depth on each side are
// compressed.
func (q *List) compressAround(ni int) {
	n := len(q.nodes)
	if n == 0 || q.depth == 0 || n < q.depth*2 {
		return
	}
	f, r := 0, n-1
	inDepth := false
	for d := 0; d < q.depth; d++ {
		q.decompressNode(f)
		q.decompressNode(r)
		if f == ni || r == ni {
			inDepth = true
		}
		if f == r || f+1 == r {
			return
		}
		f++
		r--
	}
	if !inDepth && ni >= 0 {
		q.compressNode(ni)
	}
	q.compressNode(f)
	q.compressNode(r)
}

// compress is Redis's quicklistCompress macro: an iterator-opened node is compressed
// alone, anything else goes through compressAround.
func (q *List) compress(ni int) {
	if q.nodes[ni].recompress {
		q.compressNode(ni)
		return
	}
	q.compressAround(ni)
}

// insertNode puts a new node holding lp at index at and recompresses around the old
// neighbour, as Redis's __quicklistInsertNode does.
func (q *List) insertNode(at int, lp []byte, old int) {
	q.gen++
	q.nodes = append(q.nodes, node{})
	copy(q.nodes[at+1:], q.nodes[at:])
	q.nodes[at] = node{}
	q.store(at, lp)
	q.count += int(q.nodes[at].count)
	if old >= 0 {
		if old >= at {
			old++
		}
		q.compress(old)
	}
}

// delNode removes node ni, as Redis's __quicklistDelNode.
func (q *List) delNode(ni int) {
	q.gen++
	q.count -= int(q.nodes[ni].count)
	copy(q.nodes[ni:], q.nodes[ni+1:])
	q.nodes[len(q.nodes)-1] = node{}
	q.nodes = q.nodes[:len(q.nodes)-1]
	q.compressAround(-1)
}

func newNodeWith(v []byte) []byte { return listpack.Append(listpack.NewCap(16+len(v)), v) }

// nodeLimit is the byte size a node of this list is expected to reach.
func (q *List) nodeLimit() int {
	if q.fill < 0 {
		return optimizationLevel[-q.fill-1]
	}
	return sizeSafetyLimit
}

// growEnd prepares end node ni for one more element of sz bytes, growing its buffer
// geometrically up to the node limit: appending one element at a time otherwise
// reallocates far too often.
func (q *List) growEnd(ni, sz int) []byte {
	lp := q.open(ni)
	need := sz + 11 // entry header and backlen
	if cap(lp)-len(lp) >= need {
		return lp
	}
	room := max(need, min(len(lp), q.nodeLimit()-len(lp)))
	return listpack.Grow(lp, room)
}

// seal trims a node that will not grow any more to its exact size.
func (q *List) seal(ni int) {
	if ni < 0 || ni >= len(q.nodes) {
		return
	}
	n := &q.nodes[ni]
	if !n.compressed && cap(n.data) > len(n.data) {
		n.data = append(make([]byte, 0, len(n.data)), n.data...)
	}
}

// Push adds v at the Head or Tail.
func (q *List) Push(v []byte, where int) {
	q.gen++
	if where == Head {
		if q.allowInsert(0, len(v)) {
			q.store(0, listpack.Prepend(q.growEnd(0, len(v)), v))
			q.count++
			return
		}
		old := -1
		if len(q.nodes) > 0 {
			old = 0
			q.seal(0)
		}
		q.insertNode(0, newNodeWith(v), old)
		return
	}
	last := len(q.nodes) - 1
	if q.allowInsert(last, len(v)) {
		q.store(last, listpack.Append(q.growEnd(last, len(v)), v))
		q.count++
		return
	}
	q.seal(last)
	q.insertNode(last+1, newNodeWith(v), last)
}

// delEntry removes the entry at p of node ni (Redis's quicklistDelIndex) and reports
// whether the node went away.
func (q *List) delEntry(ni, p int) bool {
	lp, _ := listpack.Delete(q.open(ni), p)
	q.store(ni, lp)
	q.count--
	if q.nodes[ni].count == 0 {
		q.delNode(ni)
		return true
	}
	return false
}

// Pop removes the element at the Head or Tail and returns it appended to buf[:0].
func (q *List) Pop(where int, buf []byte) ([]byte, bool) {
	if q.count == 0 {
		return buf, false
	}
	ni := 0
	if where == Tail {
		ni = len(q.nodes) - 1
	}
	lp := q.view(ni)
	p := listpack.First(lp)
	if where == Tail {
		p = listpack.Last(lp)
	}
	var out []byte
	if e := makeEntry(lp, p); e.IsInt {
		out = appendInt(buf[:0], e.Int)
	} else {
		out = append(buf[:0], e.Str...)
	}
	q.delEntry(ni, p)
	return out, true
}

// locate finds element index (negative from the tail) and returns its node and the
// position inside that node's listpack, walking from the nearer end as Redis does.
func (q *List) locate(index int) (ni, p int, ok bool) {
	if index < 0 {
		index += q.count
	}
	if index < 0 || index >= q.count {
		return 0, 0, false
	}
	if index < q.count/2+1 {
		for ni = 0; ni < len(q.nodes); ni++ {
			c := int(q.nodes[ni].count)
			if index < c {
				return ni, listpack.Seek(q.view(ni), index), true
			}
			index -= c
		}
		return 0, 0, false
	}
	back := q.count - 1 - index
	for ni = len(q.nodes) - 1; ni >= 0; ni-- {
		c := int(q.nodes[ni].count)
		if back < c {
			return ni, listpack.Seek(q.view(ni), -1-back), true
		}
		back -= c
	}
	return 0, 0, false
}

// Index returns element index (negative counts from the tail). The entry is valid until
// the next change to the list.
func (q *List) Index(index int) (Entry, bool) {
	ni, p, ok := q.locate(index)
	if !ok {
		return Entry{}, false
	}
	return makeEntry(q.view(ni), p), true
}

// Replace overwrites element index with v (LSET) and reports whether it exists. Like
// Redis 7.0 it replaces in place even if the node grows past its limit.
func (q *List) Replace(index int, v []byte) bool {
	ni, p, ok := q.locate(index)
	if !ok {
		return false
	}
	q.store(ni, listpack.Replace(q.open(ni), p, v))
	q.compress(ni)
	return true
}

// DelRange removes n elements starting at index start (negative from the tail), as Redis's
// quicklistDelRange, and returns how many went.
func (q *List) DelRange(start, n int) int {
	if n <= 0 {
		return 0
	}
	if start < 0 {
		start += q.count
	}
	if start < 0 || start >= q.count {
		return 0
	}
	n = min(n, q.count-start)
	// find the node holding start
	ni, off := 0, start
	for off >= int(q.nodes[ni].count) {
		off -= int(q.nodes[ni].count)
		ni++
	}
	left := n
	for left > 0 {
		c := int(q.nodes[ni].count)
		if off == 0 && left >= c {
			q.delNode(ni)
			left -= c
			continue
		}
		del := min(left, c-off)
		wasCompressed := q.nodes[ni].compressed
		lp := listpack.DeleteRange(q.open(ni), off, del)
		q.store(ni, lp)
		q.count -= del
		left -= del
		if wasCompressed {
			q.compressNode(ni)
		}
		ni++
		off = 0
	}
	return n
}

// Entry is one element as stored: a string (Str) or an integer (Int, with IsInt).
type Entry struct {
	Str   []byte
	Int   int64
	IsInt bool
}

func makeEntry(lp []byte, p int) Entry {
	s, v, isInt := listpack.Get(lp, p)
	return Entry{Str: s, Int: v, IsInt: isInt}
}

// Bytes returns the element as a string: Str itself, or Int formatted into buf[:0].
func (e Entry) Bytes(buf []byte) []byte {
	if e.IsInt {
		return appendInt(buf[:0], e.Int)
	}
	return e.Str
}

func appendInt(dst []byte, v int64) []byte {
	var tmp [20]byte
	i := len(tmp)
	u := uint64(v)
	if v < 0 {
		u = -u
	}
	for {
		i--
		tmp[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	if v < 0 {
		i--
		tmp[i] = '-'
	}
	return append(dst, tmp[i:]...)
}

// Clone returns a deep copy.
func (q *List) Clone() *List {
	c := &List{fill: q.fill, depth: q.depth, count: q.count, scratchNi: -1}
	c.nodes = make([]node, len(q.nodes))
	for i, n := range q.nodes {
		n.data = append([]byte(nil), n.data...)
		c.nodes[i] = n
	}
	return c
}

// nodeOverhead approximates Redis's per-node struct plus our slice header.
const nodeOverhead = 32

// MemoryUsage estimates the list's bytes from up to samples nodes (0 means all), scaled
// to the whole list as Redis's MEMORY USAGE does.
func (q *List) MemoryUsage(samples int) int {
	base := 48
	if len(q.nodes) == 0 {
		return base
	}
	if samples <= 0 || samples > len(q.nodes) {
		samples = len(q.nodes)
	}
	sum := 0
	for i := 0; i < samples; i++ {
		sum += nodeOverhead + cap(q.nodes[i].data)
	}
	return base + sum*len(q.nodes)/samples
}
