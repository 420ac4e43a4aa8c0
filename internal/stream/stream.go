package stream

import (
	"sort"
	"strconv"

	lp "github.com/sard-kv/sard/internal/listpack"
)

// Entry flags, as Redis stores them in each entry's first listpack element.
const (
	flagDeleted    = 1
	flagSameFields = 2
)

// listpackMaxSize caps a node whatever stream-node-max-bytes says (Redis's
// STREAM_LISTPACK_MAX_SIZE), and is the largest total field size XADD accepts.
const listpackMaxSize = 1 << 30

// preallocMax is how much room a new node reserves (Redis's STREAM_LISTPACK_MAX_PRE_ALLOCATE).
const preallocMax = 4096

// Node is one listpack of entries keyed by its master ID, the ID of the first entry added
// to it. Its layout is Redis's: a master entry (live count, deleted count, the master
// fields, a 0 terminator) then entries of flags, ms and seq deltas from the master ID,
// optionally the field count and names, the values, and the entry's element count.
type Node struct {
	Master ID
	LP     []byte
}

// Stream is a stream value: its entries, counters and consumer groups.
type Stream struct {
	nodes        []Node // ordered by Master
	Length       uint64
	LastID       ID
	FirstID      ID
	MaxDeletedID ID
	EntriesAdded uint64
	groups       []*Group // ordered by name
}

// New returns an empty stream.
func New() *Stream { return &Stream{} }

// Nodes exposes the listpack nodes in order (for RDB and radix-tree statistics).
func (s *Stream) Nodes() []Node { return s.nodes }

// AppendNode adds a node loaded from an RDB file; nodes must come in order.
func (s *Stream) AppendNode(master ID, listpack []byte) {
	s.nodes = append(s.nodes, Node{master, listpack})
}

func lpInt(b []byte, p int) int64 {
	str, v, isInt := lp.Get(b, p)
	if !isInt {
		v, _ = strconv.ParseInt(string(str), 10, 64)
	}
	return v
}

// TooLarge reports whether the fields of one XADD exceed what a node can hold.
func TooLarge(fv [][]byte) bool {
	total := 0
	for _, f := range fv {
		total += len(f)
	}
	return total > listpackMaxSize
}

// Append adds an entry with the given ID (the caller has checked it is above LastID);
// fv holds field, value pairs. maxBytes and maxEntries are stream-node-max-bytes and
// stream-node-max-entries, read when the entry is added, as Redis reads them.
func (s *Stream) Append(id ID, fv [][]byte, maxBytes, maxEntries int64) {
	total := 0
	for _, f := range fv {
		total += len(f)
	}
	numFields := len(fv) / 2
	var tail *Node
	if n := len(s.nodes); n > 0 {
		tail = &s.nodes[n-1]
		nodeMax := maxBytes
		if nodeMax == 0 || nodeMax > listpackMaxSize {
			nodeMax = listpackMaxSize
		}
		full := int64(len(tail.LP))+int64(total) >= nodeMax
		if !full && maxEntries != 0 {
			p := lp.First(tail.LP)
			count := lpInt(tail.LP, p) + lpInt(tail.LP, lp.Next(tail.LP, p))
			full = count >= maxEntries
		}
		if full {
			// Shrink to fit, as Redis does, unless little would be saved (the node was
			// sized from the one before it, below).
			if l := len(tail.LP); cap(tail.LP)-l > l/16 {
				tail.LP = append([]byte(nil), tail.LP...)
			}
			tail = nil
		}
	}
	flags := int64(0)
	var master ID
	if tail == nil {
		prealloc := int64(preallocMax)
		if maxBytes > 0 && maxBytes < prealloc {
			prealloc = maxBytes
		}
		// A stream's entries tend to be alike, so a new node is likely to fill up to about
		// the size of the last one: reserving that much instead of the whole preallocation
		// saves clearing memory that is freed again when the node is shrunk.
		if n := len(s.nodes); n > 0 {
			prealloc = min(prealloc, int64(len(s.nodes[n-1].LP))*17/16)
		}
		a := lp.Tail(lp.NewCap(int(prealloc)))
		a.Int(1)
		a.Int(0)
		a.Int(int64(numFields))
		for i := 0; i < numFields; i++ {
			a.Str(fv[2*i])
		}
		a.Int(0)
		b := a.Finish()
		s.nodes = append(s.nodes, Node{Master: id, LP: b})
		tail = &s.nodes[len(s.nodes)-1]
		master = id
		flags |= flagSameFields
	} else {
		master = tail.Master
		b := tail.LP
		p := lp.First(b)
		b = lp.ReplaceInt(b, p, lpInt(b, p)+1)
		p = lp.First(b)
		p = lp.Next(b, p)
		p = lp.Next(b, p)
		mf := lpInt(b, p)
		if mf == int64(numFields) {
			same := true
			for i := 0; i < numFields; i++ {
				p = lp.Next(b, p)
				if !lp.Equal(b, p, fv[2*i]) {
					same = false
					break
				}
			}
			if same {
				flags |= flagSameFields
			}
		}
		tail.LP = b
	}
	a := lp.Tail(tail.LP)
	a.Int(flags)
	a.Int(int64(id.Ms - master.Ms))
	a.Int(int64(id.Seq - master.Seq))
	if flags&flagSameFields == 0 {
		a.Int(int64(numFields))
	}
	for i := 0; i < numFields; i++ {
		if flags&flagSameFields == 0 {
			a.Str(fv[2*i])
		}
		a.Str(fv[2*i+1])
	}
	count := int64(numFields) + 3
	if flags&flagSameFields == 0 {
		count += int64(numFields) + 1
	}
	a.Int(count)
	tail.LP = a.Finish()

	s.Length++
	s.EntriesAdded++
	s.LastID = id
	if s.Length == 1 {
		s.FirstID = id
	}
}

// cursor walks the entries of one node.
type cursor struct {
	b       []byte
	master  ID
	mfields []int // positions of the master field names
	p       int   // position of the current entry's flags, -1 at the end
}

func (c *cursor) init(n *Node, scratch []int) {
	c.b, c.master = n.LP, n.Master
	b := c.b
	p := lp.First(b)
	p = lp.Next(b, p)
	p = lp.Next(b, p)
	mf := int(lpInt(b, p))
	c.mfields = scratch[:0]
	for range mf {
		p = lp.Next(b, p)
		c.mfields = append(c.mfields, p)
	}
	p = lp.Next(b, p) // the master terminator
	c.p = lp.Next(b, p)
}

// entry decodes the entry at c.p: its flags, ID, the position of its first field-or-value
// element and whether fields come from the master entry; next is the following entry.
func (c *cursor) entry() (flags int64, id ID, nf int, first int, same bool, next int) {
	b := c.b
	p := c.p
	flags = lpInt(b, p)
	p = lp.Next(b, p)
	id.Ms = c.master.Ms + uint64(lpInt(b, p))
	p = lp.Next(b, p)
	id.Seq = c.master.Seq + uint64(lpInt(b, p))
	p = lp.Next(b, p)
	same = flags&flagSameFields != 0
	skip := 0
	if same {
		nf = len(c.mfields)
		skip = nf
	} else {
		nf = int(lpInt(b, p))
		p = lp.Next(b, p)
		skip = 2 * nf
	}
	first = p
	for range skip {
		p = lp.Next(b, p)
	}
	next = lp.Next(b, p) // past the element count
	return
}

// lastEntry returns the position of the node's last entry (deleted or not), -1 if none.
func lastEntry(b []byte) int {
	p := lp.Last(b)
	n := lpInt(b, p)
	if n == 0 {
		return -1
	}
	for ; n > 0; n-- {
		p = lp.Prev(b, p)
	}
	return p
}

// prevEntry returns the entry before the one at p, -1 when p is the first entry.
func prevEntry(b []byte, p int) int {
	q := lp.Prev(b, p) // element count of the previous entry, or the master terminator
	n := lpInt(b, q)
	if n == 0 {
		return -1
	}
	for ; n > 0; n-- {
		q = lp.Prev(b, q)
	}
	return q
}

// Fields decodes entry field/value pairs into a reusable buffer.
type Fields struct {
	fv   [][]byte
	nums []byte
	ints []int // indexes of fv taken from nums, as start offsets
}

func (f *Fields) decode(c *cursor, nf, first int, same bool) [][]byte {
	f.fv = f.fv[:0]
	f.nums = f.nums[:0]
	f.ints = f.ints[:0]
	b := c.b
	p := first
	add := func(q int) {
		s, v, isInt := lp.Get(b, q)
		if isInt {
			off := len(f.nums)
			f.nums = strconv.AppendInt(f.nums, v, 10)
			f.ints = append(f.ints, len(f.fv), off, len(f.nums)-off)
			f.fv = append(f.fv, nil)
			return
		}
		f.fv = append(f.fv, s)
	}
	for i := range nf {
		if same {
			add(c.mfields[i])
		} else {
			add(p)
			p = lp.Next(b, p)
		}
		add(p)
		p = lp.Next(b, p)
	}
	for i := 0; i < len(f.ints); i += 3 {
		f.fv[f.ints[i]] = f.nums[f.ints[i+1] : f.ints[i+1]+f.ints[i+2]]
	}
	return f.fv
}

// nodeFor returns the index of the node that may hold id: the last whose master is <= id
// (0 when id is before every node).
func (s *Stream) nodeFor(id ID) int {
	i := sort.Search(len(s.nodes), func(i int) bool { return id.Less(s.nodes[i].Master) })
	return max(i-1, 0)
}

// Range calls fn for each live entry with start <= ID <= end, in ascending order or, with
// rev, descending; fv alternates fields and values and is valid only during the call. fn
// returns false to stop.
func (s *Stream) Range(start, end ID, rev bool, fn func(id ID, fv [][]byte) bool) {
	if len(s.nodes) == 0 || end.Less(start) {
		return
	}
	var c cursor
	// Room for the usual entry up front, in one allocation (the slices reach fn or are
	// appended to through pointers, so they cannot live on the stack).
	bufs := new(struct {
		fv      [4][]byte
		nums    [32]byte
		ints    [6]int
		mfields [4]int
	})
	f := Fields{fv: bufs.fv[:0], nums: bufs.nums[:0], ints: bufs.ints[:0]}
	scratch := bufs.mfields[:0]
	if !rev {
		for ni := s.nodeFor(start); ni < len(s.nodes); ni++ {
			if end.Less(s.nodes[ni].Master) {
				return
			}
			c.init(&s.nodes[ni], scratch)
			scratch = c.mfields
			for c.p >= 0 {
				flags, id, nf, first, same, next := c.entry()
				if end.Less(id) {
					return
				}
				if flags&flagDeleted == 0 && !id.Less(start) {
					if !fn(id, f.decode(&c, nf, first, same)) {
						return
					}
				}
				c.p = next
			}
		}
		return
	}
	for ni := s.nodeFor(end); ni >= 0; ni-- {
		c.init(&s.nodes[ni], scratch)
		scratch = c.mfields
		c.p = lastEntry(c.b)
		for c.p >= 0 {
			flags, id, nf, first, same, _ := c.entry()
			if id.Less(start) {
				return
			}
			if flags&flagDeleted == 0 && !end.Less(id) {
				if !fn(id, f.decode(&c, nf, first, same)) {
					return
				}
			}
			c.p = prevEntry(c.b, c.p)
		}
	}
}

// Exists reports whether a live entry has this ID.
func (s *Stream) Exists(id ID) bool {
	found := false
	s.Range(id, id, false, func(ID, [][]byte) bool { found = true; return false })
	return found
}

// FirstLive and LastLive return the first and last live entry IDs (ok false when empty).
func (s *Stream) FirstLive() (ID, bool) {
	var r ID
	found := false
	s.Range(ID{}, MaxID, false, func(id ID, _ [][]byte) bool { r, found = id, true; return false })
	return r, found
}

// LastLive returns the ID of the last live entry; 0-0 when there is none, as Redis's
// streamLastValidID reports.
func (s *Stream) LastLive() ID {
	var r ID
	s.Range(ID{}, MaxID, true, func(id ID, _ [][]byte) bool { r = id; return false })
	return r
}

// Delete marks the entry id deleted; it reports whether a live entry was found. A node whose
// last live entry goes is dropped whole, as Redis drops it.
func (s *Stream) Delete(id ID) bool {
	if len(s.nodes) == 0 {
		return false
	}
	ni := s.nodeFor(id)
	n := &s.nodes[ni]
	var c cursor
	c.init(n, nil)
	for c.p >= 0 {
		flags, eid, _, _, _, next := c.entry()
		if id.Less(eid) {
			return false
		}
		if eid == id {
			if flags&flagDeleted != 0 {
				return false
			}
			b := lp.ReplaceInt(n.LP, c.p, flags|flagDeleted)
			p := lp.First(b)
			live := lpInt(b, p)
			if live == 1 {
				s.nodes = append(s.nodes[:ni], s.nodes[ni+1:]...)
			} else {
				b = lp.ReplaceInt(b, p, live-1)
				p = lp.Next(b, lp.First(b))
				b = lp.ReplaceInt(b, p, lpInt(b, p)+1)
				n.LP = b
			}
			s.Length--
			return true
		}
		c.p = next
	}
	return false
}

// UpdateFirstID recomputes FirstID after deletions (0-0 once the stream is empty).
func (s *Stream) UpdateFirstID() {
	if s.Length == 0 {
		s.FirstID = ID{}
		return
	}
	s.FirstID, _ = s.FirstLive()
}

// Trim strategies.
const (
	TrimNone = iota
	TrimMaxLen
	TrimMinID
)

// TrimArgs are the parsed MAXLEN/MINID options of XADD and XTRIM.
type TrimArgs struct {
	Strategy int
	MaxLen   int64
	MinID    ID
	Approx   bool
	Limit    int64 // 0: unlimited
}

// Trim removes entries as Redis's streamTrim does: whole nodes from the head while they
// are entirely out of range (at most Limit entries), then, unless Approx, marks the
// remaining out-of-range entries of the next node deleted. It returns how many entries went.
func (s *Stream) Trim(a TrimArgs) int64 {
	if a.Strategy == TrimNone {
		return 0
	}
	var deleted int64
	for len(s.nodes) > 0 {
		if a.Strategy == TrimMaxLen && s.Length <= uint64(a.MaxLen) {
			break
		}
		n := &s.nodes[0]
		entries := lpInt(n.LP, lp.First(n.LP))
		if a.Limit != 0 && deleted+entries > a.Limit {
			break
		}
		var remove bool
		if a.Strategy == TrimMaxLen {
			remove = int64(s.Length)-entries >= a.MaxLen
		} else {
			last := n.Master
			if p := lastEntry(n.LP); p >= 0 {
				var c cursor
				c.init(n, nil)
				c.p = p
				_, last, _, _, _, _ = c.entry()
			}
			remove = last.Less(a.MinID)
		}
		if remove {
			s.nodes = s.nodes[1:]
			s.Length -= uint64(entries)
			deleted += entries
			continue
		}
		if a.Approx {
			break
		}
		var c cursor
		c.init(n, nil)
		var fromNode int64
		for c.p >= 0 {
			flags, id, _, _, _, next := c.entry()
			var stop bool
			if a.Strategy == TrimMaxLen {
				stop = s.Length <= uint64(a.MaxLen)
			} else {
				stop = !id.Less(a.MinID)
			}
			if stop {
				break
			}
			if flags&flagDeleted == 0 {
				// same-size rewrite: 0..3 are one-byte integers, positions stay valid
				c.b = lp.ReplaceInt(c.b, c.p, flags|flagDeleted)
				fromNode++
				s.Length--
			}
			c.p = next
		}
		deleted += fromNode
		b := c.b
		p := lp.First(b)
		b = lp.ReplaceInt(b, p, entries-fromNode)
		p = lp.Next(b, lp.First(b))
		b = lp.ReplaceInt(b, p, lpInt(b, p)+fromNode)
		n.LP = b
		break
	}
	if len(s.nodes) == 0 {
		s.nodes = nil
	}
	s.UpdateFirstID()
	return deleted
}

// RadixNodes is the node count of the radix tree Redis would hold for these node keys
// (XINFO STREAM's radix-tree-nodes): a compressed trie of the 16-byte master IDs.
func (s *Stream) RadixNodes() int {
	if len(s.nodes) == 0 {
		return 1
	}
	keys := make([][16]byte, len(s.nodes))
	for i := range s.nodes {
		keys[i] = s.nodes[i].Master.Key()
	}
	return raxNodes(keys, 0)
}

// raxNodes counts the nodes below a trie position holding keys (sorted, distinct, all
// sharing their first d bytes).
func raxNodes(keys [][16]byte, d int) int {
	if d == 16 {
		return 1 // the key's own empty node
	}
	common := 16
	for i := 1; i < len(keys); i++ {
		l := d
		for l < 16 && keys[i][l] == keys[0][l] {
			l++
		}
		common = min(common, l)
	}
	if len(keys) == 1 {
		common = 16
	}
	if common > d {
		return 1 + raxNodes(keys, common)
	}
	total := 1
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j][d] == keys[i][d] {
			j++
		}
		total += raxNodes(keys[i:j], d+1)
		i = j
	}
	return total
}

// MemoryUsage estimates the bytes the stream holds.
func (s *Stream) MemoryUsage() int {
	size := 96 + 40*cap(s.nodes)
	for i := range s.nodes {
		size += cap(s.nodes[i].LP)
	}
	for _, g := range s.groups {
		size += 128 + len(g.Name) + g.PEL.Len()*64
		for _, c := range g.consumers {
			size += 64 + len(c.Name) + c.PEL.Len()*32
		}
	}
	return size
}

// Clone deep-copies the stream (COPY).
func (s *Stream) Clone() *Stream {
	o := *s
	o.nodes = make([]Node, len(s.nodes))
	for i, n := range s.nodes {
		o.nodes[i] = Node{n.Master, append([]byte(nil), n.LP...)}
	}
	o.groups = nil
	for _, g := range s.groups {
		o.groups = append(o.groups, g.clone())
	}
	return &o
}
