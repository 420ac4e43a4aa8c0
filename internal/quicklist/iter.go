package quicklist

import "github.com/sard-kv/sard/internal/listpack"

// Iter walks a list from a starting element towards the tail or the head. It may delete
// the element it just returned (LREM) or insert next to it (LINSERT, after which it must
// not be used). Call Done when finished if Delete was used.
type Iter struct {
	q       *List
	reverse bool
	ni      int  // node of the current element
	p       int  // its position in the node's listpack; -2 means "first in direction"
	started bool // Next has returned the element at (ni, p)
	skip    bool // (ni, p) already holds the successor, after a Delete
}

const unresolved = -2

// Iterator returns an iterator starting at element index (negative counts from the
// tail), going to the head if reverse. An index out of range gives an empty iteration.
func (q *List) Iterator(index int, reverse bool) *Iter {
	// Small enough to be inlined, so that the iterator can live on the caller's stack.
	it := &Iter{q: q, reverse: reverse, ni: -1}
	it.start(index)
	return it
}

//go:noinline
func (it *Iter) start(index int) {
	if ni, p, ok := it.q.locate(index); ok {
		it.ni, it.p = ni, p
	}
}

func (it *Iter) valid() bool { return it.ni >= 0 && it.ni < len(it.q.nodes) }

// leave is called when the iteration moves off node ni: a node decompressed for editing
// is compressed again, as Redis's iterator does.
func (it *Iter) leave(ni int) {
	if ni >= 0 && ni < len(it.q.nodes) && it.q.nodes[ni].recompress {
		it.q.compressNode(ni)
	}
}

func (it *Iter) moveNode() {
	it.leave(it.ni)
	if it.reverse {
		it.ni--
	} else {
		it.ni++
	}
	it.p = unresolved
}

// Next returns the next element; the entry is valid until the list changes.
func (it *Iter) Next() (Entry, bool) {
	q := it.q
	if !it.valid() {
		return Entry{}, false
	}
	if it.started && !it.skip {
		lp := q.view(it.ni)
		var np int
		if it.reverse {
			np = listpack.Prev(lp, it.p)
		} else {
			np = listpack.Next(lp, it.p)
		}
		if np >= 0 {
			it.p = np
		} else {
			it.moveNode()
		}
	}
	it.started, it.skip = true, false
	for it.valid() && it.p == unresolved {
		lp := q.view(it.ni)
		if it.reverse {
			it.p = listpack.Last(lp)
		} else {
			it.p = listpack.First(lp)
		}
		if it.p < 0 {
			it.moveNode()
		}
	}
	if !it.valid() {
		return Entry{}, false
	}
	return makeEntry(q.view(it.ni), it.p), true
}

// Delete removes the element Next returned last; the iteration goes on with its neighbour.
func (it *Iter) Delete() {
	q := it.q
	ni, p := it.ni, it.p
	if q.nodes[ni].compressed {
		q.nodes[ni].recompress = true
	}
	lp, next := listpack.Delete(q.open(ni), p)
	q.store(ni, lp)
	q.count--
	it.skip = true
	if q.nodes[ni].count == 0 {
		q.delNode(ni)
		if it.reverse {
			it.ni--
		}
		it.p = unresolved
		return
	}
	if it.reverse {
		next = listpack.Prev(lp, p)
	}
	if next >= 0 {
		it.p = next
		return
	}
	it.moveNode()
}

// Done finishes an iteration that may have edited the list.
func (it *Iter) Done() {
	it.leave(it.ni)
	it.ni = -1
}

// Insert puts v before or after the element Next returned last (LINSERT). The iterator
// is finished afterwards.
func (it *Iter) Insert(v []byte, after bool) {
	it.q.insertAt(it.ni, it.p, v, after)
	it.ni = -1
}

// editNode applies f to node ni's listpack, compressing it again if it was compressed
// (Redis's decompress-for-use then recompress-only).
func (q *List) editNode(ni int, f func([]byte) []byte) {
	was := q.nodes[ni].compressed
	q.store(ni, f(q.open(ni)))
	if was {
		q.compressNode(ni)
	}
}

// insertAt is Redis's _quicklistInsert next to the entry at p of node ni.
func (q *List) insertAt(ni, p int, v []byte, after bool) {
	sz := len(v)
	full := !q.allowInsert(ni, sz)
	lp := q.view(ni)
	atTail, atHead, availNext, availPrev := false, false, false, false
	if after && listpack.Next(lp, p) < 0 {
		atTail = true
		availNext = q.allowInsert(ni+1, sz)
	}
	if !after && listpack.Prev(lp, p) < 0 {
		atHead = true
		availPrev = q.allowInsert(ni-1, sz)
	}
	q.count++
	where := listpack.Before
	if after {
		where = listpack.After
	}
	switch {
	case !full:
		q.editNode(ni, func(lp []byte) []byte { lp, _ = listpack.Insert(lp, p, v, where); return lp })
	case atTail && availNext && after:
		q.editNode(ni+1, func(lp []byte) []byte { return listpack.Prepend(lp, v) })
	case atHead && availPrev && !after:
		q.editNode(ni-1, func(lp []byte) []byte { return listpack.Append(lp, v) })
	case atTail && after:
		q.count--
		q.insertNode(ni+1, newNodeWith(v), ni)
	case atHead && !after:
		q.count--
		q.insertNode(ni, newNodeWith(v), ni)
	default:
		// full and in the middle: split the node at the pivot, add v to the split-off
		// part, then merge whatever neighbours fit together
		q.count--
		was := q.nodes[ni].compressed
		orig := q.open(ni)
		offset := 0
		for x := listpack.First(orig); x != p; x = listpack.Next(orig, x) {
			offset++
		}
		if was {
			q.nodes[ni].recompress = true
		}
		cp := append([]byte(nil), orig...)
		var keep, split []byte
		if after {
			keep = listpack.DeleteRange(orig, offset+1, int(q.nodes[ni].count))
			split = listpack.Prepend(listpack.DeleteRange(cp, 0, offset+1), v)
		} else {
			keep = listpack.DeleteRange(orig, 0, offset)
			split = listpack.Append(listpack.DeleteRange(cp, offset, int(q.nodes[ni].count)), v)
		}
		q.count -= int(q.nodes[ni].count)
		q.store(ni, keep)
		q.count += int(q.nodes[ni].count)
		at, center := ni+1, ni
		if !after {
			at, center = ni, ni+1
		}
		q.insertNode(at, split, ni)
		q.mergeNodes(center)
	}
}

// mergePair merges node a+1 into node a (Redis's _quicklistListpackMerge).
func (q *List) mergePair(a int) {
	b := q.view(a + 1)
	bcopy := b
	if q.nodes[a+1].compressed {
		bcopy = append([]byte(nil), b...) // the view is the shared cache, which open reuses
	}
	merged := listpack.Merge(q.open(a), bcopy)
	q.count -= int(q.nodes[a].count)
	q.store(a, merged)
	q.count += int(q.nodes[a].count)
	q.count -= int(q.nodes[a+1].count)
	q.nodes[a+1].count = 0
	q.delNode(a + 1)
	q.compress(a)
}

// mergeNodes is Redis's _quicklistMergeNodes around node c.
func (q *List) mergeNodes(c int) {
	if c >= 2 && q.allowMerge(c-1, c-2) {
		q.mergePair(c - 2)
		c--
	}
	if c+2 < len(q.nodes) && q.allowMerge(c+1, c+2) {
		q.mergePair(c + 1)
	}
	target := c
	if c >= 1 && q.allowMerge(c, c-1) {
		q.mergePair(c - 1)
		target = c - 1
	}
	if target+1 < len(q.nodes) && q.allowMerge(target, target+1) {
		q.mergePair(target)
	}
}
