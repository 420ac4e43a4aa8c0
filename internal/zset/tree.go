package zset

import "github.com/sard-kv/sard/internal/keyspace"

// The large encoding orders its elements in a counted B+tree whose leaves hold (score,
// member reference) pairs: the reference is the member's entry in the dictionary, so the
// member bytes are stored once and the tree itself holds no Go pointers. Every inner node
// keeps, per child, the child's element count (ranks in O(log n)) and its smallest key (so a
// descent compares member bytes only when scores tie).

const (
	// leafCap keeps a leaf (16-byte header + 12 bytes per element) inside Go's 1536-byte
	// size class.
	leafCap  = 126
	innerCap = 64
	noNode   = ^uint32(0)
)

type leafNode struct {
	n          int32
	prev, next uint32 // neighbouring leaves, noNode at the ends
	scores     [leafCap]float64
	refs       [leafCap]uint32
}

type innerNode struct {
	n      int32
	child  [innerCap]uint32
	count  [innerCap]uint32
	minRef [innerCap]uint32
	minS   [innerCap]float64
}

type step struct {
	node uint32
	idx  int
}

// tree is the ordered index of a large sorted set. Node ids index leaves or inners
// depending on the level (leaves are level 0).
type tree struct {
	dict   *keyspace.DB // member bytes of a reference: dict.Key(ref)
	leaves []*leafNode
	inners []*innerNode
	freeL  []uint32
	freeI  []uint32
	root   uint32
	height int // levels of inner nodes above the leaves
	n      int
	path   []step
}

func (t *tree) member(ref uint32) []byte { return t.dict.Key(keyspace.Ref(ref)) }

// cmpKey orders (s1, ref1) against (s2, m2) as Redis's skiplist does: by score, then by
// member bytes.
func (t *tree) cmpKey(s1 float64, ref1 uint32, s2 float64, m2 []byte) int {
	if s1 < s2 {
		return -1
	}
	if s1 > s2 {
		return 1
	}
	return compareBytes(t.member(ref1), m2)
}

func compareBytes(a, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

func (t *tree) newLeaf() uint32 {
	if k := len(t.freeL); k > 0 {
		id := t.freeL[k-1]
		t.freeL = t.freeL[:k-1]
		t.leaves[id] = &leafNode{prev: noNode, next: noNode}
		return id
	}
	t.leaves = append(t.leaves, &leafNode{prev: noNode, next: noNode})
	return uint32(len(t.leaves) - 1)
}

func (t *tree) newInner() uint32 {
	if k := len(t.freeI); k > 0 {
		id := t.freeI[k-1]
		t.freeI = t.freeI[:k-1]
		t.inners[id] = &innerNode{}
		return id
	}
	t.inners = append(t.inners, &innerNode{})
	return uint32(len(t.inners) - 1)
}

func (t *tree) freeLeaf(id uint32) {
	l := t.leaves[id]
	if l.prev != noNode {
		t.leaves[l.prev].next = l.next
	}
	if l.next != noNode {
		t.leaves[l.next].prev = l.prev
	}
	t.leaves[id] = nil
	t.freeL = append(t.freeL, id)
}

func (t *tree) freeInner(id uint32) {
	t.inners[id] = nil
	t.freeI = append(t.freeI, id)
}

// info is a node's element count and smallest key.
func (t *tree) info(id uint32, lvl int) (cnt uint32, s float64, ref uint32) {
	if lvl == 0 {
		l := t.leaves[id]
		if l.n == 0 {
			return 0, 0, 0
		}
		return uint32(l.n), l.scores[0], l.refs[0]
	}
	in := t.inners[id]
	for i := 0; i < int(in.n); i++ {
		cnt += in.count[i]
	}
	if in.n == 0 {
		return 0, 0, 0
	}
	return cnt, in.minS[0], in.minRef[0]
}

func (t *tree) size(id uint32, lvl int) int {
	if lvl == 0 {
		return int(t.leaves[id].n)
	}
	return int(t.inners[id].n)
}

func (t *tree) refresh(in *innerNode, i int, lvl int) {
	in.count[i], in.minS[i], in.minRef[i] = t.info(in.child[i], lvl)
}

// descend walks from the root towards (score, member), recording the path, and returns
// the leaf and the number of leaf elements smaller than the key.
func (t *tree) descend(score float64, member []byte) (uint32, int) {
	t.path = t.path[:0]
	node := t.root
	for lvl := t.height; lvl > 0; lvl-- {
		in := t.inners[node]
		// the last child whose smallest key is <= the key (or the first child)
		lo, hi := 1, int(in.n)
		for lo < hi {
			m := (lo + hi) / 2
			if t.cmpKey(in.minS[m], in.minRef[m], score, member) <= 0 {
				lo = m + 1
			} else {
				hi = m
			}
		}
		i := lo - 1
		t.path = append(t.path, step{node, i})
		node = in.child[i]
	}
	l := t.leaves[node]
	lo, hi := 0, int(l.n)
	for lo < hi {
		m := (lo + hi) / 2
		if t.cmpKey(l.scores[m], l.refs[m], score, member) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return node, lo
}

// insert adds an element whose member (the bytes of ref) is not in the tree.
func (t *tree) insert(score float64, ref uint32, member []byte) {
	t.n++
	if t.n == 1 {
		id := t.newLeaf()
		l := t.leaves[id]
		l.n, l.scores[0], l.refs[0] = 1, score, ref
		t.root, t.height = id, 0
		return
	}
	lid, pos := t.descend(score, member)
	newID, split := t.leafInsert(lid, pos, score, ref)
	child := lid
	for lvl := len(t.path) - 1; lvl >= 0; lvl-- {
		st := t.path[lvl]
		in := t.inners[st.node]
		clvl := len(t.path) - 1 - lvl
		t.refresh(in, st.idx, clvl)
		if split {
			newID, split = t.innerInsert(st.node, st.idx+1, newID, clvl)
		}
		child = st.node
	}
	if split {
		rid := t.newInner()
		r := t.inners[rid]
		r.n = 2
		r.child[0], r.child[1] = child, newID
		t.refresh(r, 0, t.height)
		t.refresh(r, 1, t.height)
		t.root = rid
		t.height++
	}
}

// leafInsert puts an element at pos of leaf id, splitting a full leaf; it returns the new
// right sibling when it split.
func (t *tree) leafInsert(id uint32, pos int, score float64, ref uint32) (uint32, bool) {
	l := t.leaves[id]
	if int(l.n) < leafCap {
		n := int(l.n)
		copy(l.scores[pos+1:n+1], l.scores[pos:n])
		copy(l.refs[pos+1:n+1], l.refs[pos:n])
		l.scores[pos], l.refs[pos] = score, ref
		l.n++
		return 0, false
	}
	rid := t.newLeaf()
	l = t.leaves[id]
	r := t.leaves[rid]
	r.prev, r.next = id, l.next
	if l.next != noNode {
		t.leaves[l.next].prev = rid
	}
	l.next = rid
	// Appending at the tail (ascending inserts) keeps the left leaf full; otherwise split
	// in half.
	cut := leafCap / 2
	if pos == leafCap && r.next == noNode {
		cut = leafCap
	}
	k := copy(r.scores[:], l.scores[cut:leafCap])
	copy(r.refs[:], l.refs[cut:leafCap])
	r.n = int32(k)
	l.n = int32(cut)
	if pos <= cut && !(pos == cut && cut == leafCap) {
		t.leafInsert(id, pos, score, ref)
	} else {
		t.leafInsert(rid, pos-cut, score, ref)
	}
	return rid, true
}

// innerInsert adds child at index i of inner id, splitting a full node.
func (t *tree) innerInsert(id uint32, i int, child uint32, clvl int) (uint32, bool) {
	in := t.inners[id]
	if int(in.n) < innerCap {
		n := int(in.n)
		copy(in.child[i+1:n+1], in.child[i:n])
		copy(in.count[i+1:n+1], in.count[i:n])
		copy(in.minS[i+1:n+1], in.minS[i:n])
		copy(in.minRef[i+1:n+1], in.minRef[i:n])
		in.child[i] = child
		in.n++
		t.refresh(in, i, clvl)
		return 0, false
	}
	rid := t.newInner()
	in = t.inners[id]
	r := t.inners[rid]
	cut := innerCap / 2
	if i == innerCap {
		cut = innerCap - 1
	}
	k := copy(r.child[:], in.child[cut:innerCap])
	copy(r.count[:], in.count[cut:innerCap])
	copy(r.minS[:], in.minS[cut:innerCap])
	copy(r.minRef[:], in.minRef[cut:innerCap])
	r.n = int32(k)
	in.n = int32(cut)
	if i <= cut {
		t.innerInsert(id, i, child, clvl)
	} else {
		t.innerInsert(rid, i-cut, child, clvl)
	}
	return rid, true
}

// remove deletes the element (score, member); it reports whether it was there.
func (t *tree) remove(score float64, member []byte) bool {
	if t.n == 0 {
		return false
	}
	lid, pos := t.descend(score, member)
	l := t.leaves[lid]
	if pos >= int(l.n) || t.cmpKey(l.scores[pos], l.refs[pos], score, member) != 0 {
		return false
	}
	t.removeAt(lid, pos)
	return true
}

// removeAt deletes element pos of leaf lid; t.path must lead to lid.
func (t *tree) removeAt(lid uint32, pos int) {
	l := t.leaves[lid]
	n := int(l.n)
	copy(l.scores[pos:n-1], l.scores[pos+1:n])
	copy(l.refs[pos:n-1], l.refs[pos+1:n])
	l.n--
	t.n--
	for lvl := len(t.path) - 1; lvl >= 0; lvl-- {
		st := t.path[lvl]
		in := t.inners[st.node]
		clvl := len(t.path) - 1 - lvl
		i := st.idx
		c := in.child[i]
		if t.size(c, clvl) == 0 {
			t.removeEntry(in, i)
			if clvl == 0 {
				t.freeLeaf(c)
			} else {
				t.freeInner(c)
			}
			continue
		}
		t.refresh(in, i, clvl)
		limit := leafCap
		if clvl > 0 {
			limit = innerCap
		}
		if in.n > 1 && t.size(c, clvl) < limit/4 {
			j := i + 1
			if j == int(in.n) {
				j = i - 1
			}
			a, b := min(i, j), max(i, j)
			if t.size(in.child[a], clvl)+t.size(in.child[b], clvl) <= limit {
				t.merge(in, a, clvl)
			}
		}
	}
	switch {
	case t.n == 0:
		t.leaves, t.inners, t.freeL, t.freeI = nil, nil, nil, nil
		t.height = 0
	case t.height > 0 && t.inners[t.root].n == 1:
		for t.height > 0 && t.inners[t.root].n == 1 {
			old := t.root
			t.root = t.inners[old].child[0]
			t.freeInner(old)
			t.height--
		}
	}
}

func (t *tree) removeEntry(in *innerNode, i int) {
	n := int(in.n)
	copy(in.child[i:n-1], in.child[i+1:n])
	copy(in.count[i:n-1], in.count[i+1:n])
	copy(in.minS[i:n-1], in.minS[i+1:n])
	copy(in.minRef[i:n-1], in.minRef[i+1:n])
	in.n--
}

// merge moves child a+1 of in into child a and drops it.
func (t *tree) merge(in *innerNode, a int, clvl int) {
	x, y := in.child[a], in.child[a+1]
	if clvl == 0 {
		lx, ly := t.leaves[x], t.leaves[y]
		copy(lx.scores[lx.n:], ly.scores[:ly.n])
		copy(lx.refs[lx.n:], ly.refs[:ly.n])
		lx.n += ly.n
		t.freeLeaf(y)
	} else {
		ix, iy := t.inners[x], t.inners[y]
		copy(ix.child[ix.n:], iy.child[:iy.n])
		copy(ix.count[ix.n:], iy.count[:iy.n])
		copy(ix.minS[ix.n:], iy.minS[:iy.n])
		copy(ix.minRef[ix.n:], iy.minRef[:iy.n])
		ix.n += iy.n
		t.freeInner(y)
	}
	t.removeEntry(in, a+1)
	t.refresh(in, a, clvl)
}

// countWhile returns how many elements, from the first, satisfy less; less must hold for a
// prefix of the order (a lower bound by score, by member, or by key).
func (t *tree) countWhile(less func(score float64, ref uint32) bool) int {
	if t.n == 0 {
		return 0
	}
	rank := 0
	node := t.root
	for lvl := t.height; lvl > 0; lvl-- {
		in := t.inners[node]
		lo, hi := 0, int(in.n)
		for lo < hi {
			m := (lo + hi) / 2
			if less(in.minS[m], in.minRef[m]) {
				lo = m + 1
			} else {
				hi = m
			}
		}
		if lo == 0 {
			return rank
		}
		for j := 0; j < lo-1; j++ {
			rank += int(in.count[j])
		}
		node = in.child[lo-1]
	}
	l := t.leaves[node]
	lo, hi := 0, int(l.n)
	for lo < hi {
		m := (lo + hi) / 2
		if less(l.scores[m], l.refs[m]) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return rank + lo
}

// seek finds the leaf and offset of the element at rank (0 <= rank < n), recording the
// path.
func (t *tree) seek(rank int) (uint32, int) {
	t.path = t.path[:0]
	node := t.root
	for lvl := t.height; lvl > 0; lvl-- {
		in := t.inners[node]
		i := 0
		for ; i < int(in.n)-1 && rank >= int(in.count[i]); i++ {
			rank -= int(in.count[i])
		}
		t.path = append(t.path, step{node, i})
		node = in.child[i]
	}
	return node, rank
}

// at returns the element at rank.
func (t *tree) at(rank int) (float64, uint32) {
	lid, off := t.seek(rank)
	l := t.leaves[lid]
	return l.scores[off], l.refs[off]
}

// walk calls fn for the elements from rank on, towards higher ranks (or lower with rev),
// until fn returns false or the end. fn must not modify the tree.
func (t *tree) walk(rank int, rev bool, fn func(score float64, ref uint32) bool) {
	if rank < 0 || rank >= t.n {
		return
	}
	lid, off := t.seek(rank)
	for lid != noNode {
		l := t.leaves[lid]
		if rev {
			for ; off >= 0; off-- {
				if !fn(l.scores[off], l.refs[off]) {
					return
				}
			}
			lid = l.prev
			if lid != noNode {
				off = int(t.leaves[lid].n) - 1
			}
		} else {
			for ; off < int(l.n); off++ {
				if !fn(l.scores[off], l.refs[off]) {
					return
				}
			}
			lid, off = l.next, 0
		}
	}
}

// removeRank deletes the element at rank and returns it.
func (t *tree) removeRank(rank int) (float64, uint32) {
	lid, off := t.seek(rank)
	l := t.leaves[lid]
	s, r := l.scores[off], l.refs[off]
	t.removeAt(lid, off)
	return s, r
}

// nodeBytes is the memory the tree's nodes take.
func (t *tree) nodeBytes() int {
	const leafSize, innerSize = 1536, 1408
	return (len(t.leaves)-len(t.freeL))*leafSize + (len(t.inners)-len(t.freeI))*innerSize +
		(cap(t.leaves)+cap(t.inners))*8
}
