package rdb

import (
	"encoding/binary"
	"strconv"

	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/listpack"
	"github.com/sard-kv/sard/internal/stream"
)

// Stream entry flag marking entries that reuse the master entry's field names.
const streamSameFields = 2

// lpIntAt reads the element at p as an integer (Redis stores these as integers but its
// reader also accepts their text).
func lpIntAt(lp []byte, p int) (int64, bool) {
	s, v, isInt := listpack.Get(lp, p)
	if isInt {
		return v, true
	}
	v, err := strconv.ParseInt(string(s), 10, 64)
	return v, err == nil
}

// validStreamListpack checks a stream node beyond listpack well-formedness: the master
// entry, every entry's layout and back-count, and the entry total, which is what the
// stream code relies on when it walks the node in either direction.
func validStreamListpack(lp []byte) bool {
	if listpack.Validate(lp, true) != nil {
		return false
	}
	p := listpack.First(lp)
	next := func() bool {
		if p < 0 {
			return false
		}
		p = listpack.Next(lp, p)
		return p >= 0
	}
	intAt := func() (int64, bool) {
		if p < 0 {
			return 0, false
		}
		return lpIntAt(lp, p)
	}
	count, ok1 := intAt()
	if !ok1 || !next() {
		return false
	}
	deleted, ok2 := intAt()
	if !ok2 || !next() {
		return false
	}
	mf, ok3 := intAt()
	if !ok3 || mf < 0 || count < 0 || deleted < 0 {
		return false
	}
	for i := int64(0); i < mf; i++ {
		if !next() {
			return false
		}
	}
	if !next() {
		return false
	}
	if z, ok := intAt(); !ok || z != 0 {
		return false
	}
	entries := int64(0)
	for next() {
		flags, ok := intAt()
		if !ok {
			return false
		}
		elems := int64(3)
		if !next() { // ms delta
			return false
		}
		if _, ok := intAt(); !ok {
			return false
		}
		if !next() { // seq delta
			return false
		}
		if _, ok := intAt(); !ok {
			return false
		}
		var skip int64
		if flags&streamSameFields != 0 {
			skip = mf
		} else {
			if !next() {
				return false
			}
			nf, ok := intAt()
			if !ok || nf < 0 || nf > int64(len(lp)) {
				return false
			}
			skip = 2 * nf
			elems++
		}
		for i := int64(0); i < skip; i++ {
			if !next() {
				return false
			}
		}
		elems += skip
		if !next() {
			return false
		}
		if lc, ok := intAt(); !ok || lc != elems {
			return false
		}
		entries++
	}
	return entries == count+deleted
}

func idFromKey(b []byte) stream.ID {
	return stream.ID{Ms: binary.BigEndian.Uint64(b), Seq: binary.BigEndian.Uint64(b[8:])}
}

func (d *Decoder) streamID() stream.ID {
	return stream.ID{Ms: d.Len(), Seq: d.Len()}
}

func (d *Decoder) rawID() stream.ID {
	b := d.next(16)
	if b == nil {
		return stream.ID{}
	}
	return idFromKey(b)
}

// stream reads STREAM_LISTPACKS (v2: Redis 7.0's with first ID, max deleted ID, entries
// added and per-group entries read).
func (d *Decoder) stream(v2 bool) *Object {
	s := stream.New()
	n := d.Count()
	var prev stream.ID
	for i := 0; i < n && d.err == nil; i++ {
		key := d.String()
		if d.err != nil {
			return nil
		}
		if len(key) != 16 {
			d.fail("stream node key entry is not the size of a stream ID")
			return nil
		}
		lp := d.String()
		if d.err != nil {
			return nil
		}
		if !validStreamListpack(lp) {
			d.fail("stream listpack integrity check failed")
			return nil
		}
		master := idFromKey(key)
		if i > 0 && !prev.Less(master) {
			d.fail("stream nodes out of order")
			return nil
		}
		prev = master
		s.AppendNode(master, lp)
	}
	s.Length = d.Len()
	s.LastID = d.streamID()
	if v2 {
		s.FirstID = d.streamID()
		s.MaxDeletedID = d.streamID()
		s.EntriesAdded = d.Len()
	}
	if d.err != nil {
		return nil
	}
	if s.Length > 0 && n == 0 {
		d.fail("stream length inconsistent with its nodes")
		return nil
	}
	if !v2 {
		s.EntriesAdded = s.Length
		s.UpdateFirstID()
	}
	groups := d.Count()
	for i := 0; i < groups && d.err == nil; i++ {
		name := d.String()
		last := d.streamID()
		entriesRead := int64(stream.InvalidEntriesRead)
		if v2 {
			entriesRead = int64(d.Len())
		}
		if d.err != nil {
			return nil
		}
		if !v2 {
			entriesRead = s.EstimateReads(last)
		}
		g := s.CreateGroup(name, last, entriesRead)
		if g == nil {
			d.fail("duplicated consumer group name")
			return nil
		}
		pel := d.Count()
		for j := 0; j < pel && d.err == nil; j++ {
			id := d.rawID()
			nack := &stream.NACK{DeliveryTime: d.Millis(), DeliveryCount: int64(d.Len())}
			if d.err != nil {
				return nil
			}
			if !g.PEL.Set(id, nack) {
				d.fail("duplicated global PEL entry loading stream consumer group")
				return nil
			}
		}
		consumers := d.Count()
		for j := 0; j < consumers && d.err == nil; j++ {
			cname := d.String()
			seen := d.Millis()
			if d.err != nil {
				return nil
			}
			c := g.CreateConsumer(cname, seen)
			if c == nil {
				d.fail("duplicated consumer name")
				return nil
			}
			c.SeenTime = seen
			cp := d.Count()
			for k := 0; k < cp && d.err == nil; k++ {
				id := d.rawID()
				if d.err != nil {
					return nil
				}
				nack, ok := g.PEL.Get(id)
				if !ok {
					d.fail("consumer entry not found in group global PEL")
					return nil
				}
				if nack.Consumer != nil {
					d.fail("pending entry owned by two consumers")
					return nil
				}
				nack.Consumer = c
				c.PEL.Set(id, nack)
			}
		}
		if d.err != nil {
			return nil
		}
		orphan := false
		g.PEL.Ascend(stream.ID{}, func(_ stream.ID, n *stream.NACK) bool {
			orphan = n.Consumer == nil
			return !orphan
		})
		if orphan {
			d.fail("stream group PEL entry without consumer")
			return nil
		}
	}
	if d.err != nil {
		return nil
	}
	return &Object{Kind: keyspace.TypeStream, Stream: s}
}
