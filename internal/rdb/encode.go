package rdb

import (
	"encoding/binary"

	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/quicklist"
	"github.com/sard-kv/sard/internal/stream"
	"github.com/sard-kv/sard/internal/zset"
)

// The value writers below produce what Redis 7.0's rdbSaveObject writes for each encoding;
// the type byte in front is the caller's (it depends on the encoding, see the Type*
// constants).

// Quicklist writes a list (LIST_QUICKLIST_2): compressed nodes as the LZF blobs they are,
// the others as strings (compressed again when rdbcompression allows).
func (e *Encoder) Quicklist(q *quicklist.List) {
	n := q.NodeCount()
	e.Len(uint64(n))
	e.QuicklistNodes(q, 0, n)
}

// QuicklistNodes writes nodes [from, to) of q, for a list written in several steps: the
// caller writes Len(q.NodeCount()) first.
func (e *Encoder) QuicklistNodes(q *quicklist.List, from, to int) {
	for i := from; i < to; i++ {
		data, compressed, sz := q.Node(i)
		e.Len(containerPacked)
		if compressed {
			e.LZFBlob(data, sz)
		} else {
			e.String(data)
		}
	}
}

// SetTable writes a hashtable set (SET): the members in table order.
func (e *Encoder) SetTable(ht *keyspace.DB) {
	e.Len(uint64(ht.Len()))
	ht.ForEach(func(r keyspace.Ref) bool {
		e.String(ht.Key(r))
		return true
	})
}

// SetTableEntries writes the members held at entry indexes [from, to) of ht, for a set
// written in several steps: the caller writes Len(ht.Len()) first and covers every index
// below ht.EntryCount() while the set does not change.
func (e *Encoder) SetTableEntries(ht *keyspace.DB, from, to uint32) {
	for i := from; i < to; i++ {
		if r, ok := ht.RefAt(i); ok {
			e.String(ht.Key(r))
		}
	}
}

// HashTable writes a hashtable hash (HASH): field, value pairs in table order.
func (e *Encoder) HashTable(ht *keyspace.DB) {
	e.Len(uint64(ht.Len()))
	ht.ForEach(func(r keyspace.Ref) bool {
		e.String(ht.Key(r))
		e.String(ht.Str(r))
		return true
	})
}

// HashTableEntries is SetTableEntries for a hashtable hash: field, value pairs.
func (e *Encoder) HashTableEntries(ht *keyspace.DB, from, to uint32) {
	for i := from; i < to; i++ {
		if r, ok := ht.RefAt(i); ok {
			e.String(ht.Key(r))
			e.String(ht.Str(r))
		}
	}
}

// ZSetBig writes a large sorted set (ZSET_2) from the highest to the lowest element, as
// Redis does so that loading inserts at the head.
func (e *Encoder) ZSetBig(z *zset.Set) {
	n := z.Len()
	e.Len(uint64(n))
	e.ZSetBigRanks(z, 0, n-1)
}

// ZSetBigRanks writes the elements of ranks [lo, hi], highest first, for a sorted set
// written in several steps: the caller writes Len(z.Len()) first, then calls it for
// decreasing ranges.
func (e *Encoder) ZSetBigRanks(z *zset.Set, lo, hi int) {
	z.Range(lo, hi, true, func(member []byte, score float64) bool {
		e.String(member)
		e.Double(score)
		return true
	})
}

// appendID appends a stream ID as 16 big-endian bytes, the radix-tree key form.
func appendID(b []byte, id stream.ID) []byte {
	b = binary.BigEndian.AppendUint64(b, id.Ms)
	return binary.BigEndian.AppendUint64(b, id.Seq)
}

// Stream writes a stream as STREAM_LISTPACKS_2, Redis 7.0's format: the nodes, the
// counters (with 7.0's first ID, max deleted ID and entries added), then every consumer
// group with its PEL and its consumers.
func (e *Encoder) Stream(s *stream.Stream) {
	nodes := s.Nodes()
	e.Len(uint64(len(nodes)))
	e.StreamNodes(s, 0, len(nodes))
	e.StreamTail(s)
}

// StreamNodes writes nodes [from, to) of s, for a stream written in several steps: the
// caller writes Len(len(s.Nodes())) first and StreamTail last.
func (e *Encoder) StreamNodes(s *stream.Stream, from, to int) {
	var key [16]byte
	for _, n := range s.Nodes()[from:to] {
		e.String(appendID(key[:0], n.Master))
		e.String(n.LP)
	}
}

// StreamTail writes what follows a stream's nodes: its counters and consumer groups.
func (e *Encoder) StreamTail(s *stream.Stream) {
	e.Len(s.Length)
	e.Len(s.LastID.Ms)
	e.Len(s.LastID.Seq)
	e.Len(s.FirstID.Ms)
	e.Len(s.FirstID.Seq)
	e.Len(s.MaxDeletedID.Ms)
	e.Len(s.MaxDeletedID.Seq)
	e.Len(s.EntriesAdded)
	groups := s.Groups()
	e.Len(uint64(len(groups)))
	for _, g := range groups {
		e.String(g.Name)
		e.Len(g.LastID.Ms)
		e.Len(g.LastID.Seq)
		e.Len(uint64(g.EntriesRead)) // -1 (unknown) is written as 2^64-1, as Redis does
		e.Len(uint64(g.PEL.Len()))
		g.PEL.Ascend(stream.ID{}, func(id stream.ID, n *stream.NACK) bool {
			e.Buf = appendID(e.Buf, id)
			e.Millis(n.DeliveryTime)
			e.Len(uint64(n.DeliveryCount))
			return true
		})
		cs := g.Consumers()
		e.Len(uint64(len(cs)))
		for _, c := range cs {
			e.String(c.Name)
			e.Millis(c.SeenTime)
			e.Len(uint64(c.PEL.Len()))
			c.PEL.Ascend(stream.ID{}, func(id stream.ID, _ *stream.NACK) bool {
				e.Buf = appendID(e.Buf, id)
				return true
			})
		}
	}
}
