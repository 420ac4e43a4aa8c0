package stream

import (
	"bytes"
	"sort"
)

// InvalidEntriesRead marks a group whose entries-read counter is unknown (Redis's
// SCG_INVALID_ENTRIES_READ).
const InvalidEntriesRead = -1

// NACK is a pending entry: delivered to a consumer and not acknowledged yet. The group's
// PEL and the owning consumer's PEL share it.
type NACK struct {
	DeliveryTime  int64 // unix ms
	DeliveryCount int64
	Consumer      *Consumer
}

// Consumer is a named reader inside a group.
type Consumer struct {
	Name     []byte
	SeenTime int64
	PEL      PEL
}

// Group is a consumer group.
type Group struct {
	Name        []byte
	LastID      ID
	EntriesRead int64
	PEL         PEL
	consumers   []*Consumer // ordered by name
}

// Groups returns the consumer groups ordered by name.
func (s *Stream) Groups() []*Group { return s.groups }

func findByName[T any](list []T, name []byte, nameOf func(T) []byte) (int, bool) {
	i := sort.Search(len(list), func(i int) bool { return bytes.Compare(nameOf(list[i]), name) >= 0 })
	return i, i < len(list) && bytes.Equal(nameOf(list[i]), name)
}

func groupName(g *Group) []byte       { return g.Name }
func consumerName(c *Consumer) []byte { return c.Name }

// Group finds a group by name.
func (s *Stream) Group(name []byte) *Group {
	if i, ok := findByName(s.groups, name, groupName); ok {
		return s.groups[i]
	}
	return nil
}

// CreateGroup adds a group; nil when the name is taken.
func (s *Stream) CreateGroup(name []byte, last ID, entriesRead int64) *Group {
	i, ok := findByName(s.groups, name, groupName)
	if ok {
		return nil
	}
	g := &Group{Name: bytes.Clone(name), LastID: last, EntriesRead: entriesRead}
	s.groups = append(s.groups, nil)
	copy(s.groups[i+1:], s.groups[i:])
	s.groups[i] = g
	return g
}

// DestroyGroup removes a group and reports whether it existed.
func (s *Stream) DestroyGroup(name []byte) bool {
	i, ok := findByName(s.groups, name, groupName)
	if ok {
		s.groups = append(s.groups[:i], s.groups[i+1:]...)
	}
	return ok
}

// Consumers returns the group's consumers ordered by name.
func (g *Group) Consumers() []*Consumer { return g.consumers }

// Consumer finds a consumer by name.
func (g *Group) Consumer(name []byte) *Consumer {
	if i, ok := findByName(g.consumers, name, consumerName); ok {
		return g.consumers[i]
	}
	return nil
}

// CreateConsumer adds a consumer seen at now; nil when it exists.
func (g *Group) CreateConsumer(name []byte, now int64) *Consumer {
	i, ok := findByName(g.consumers, name, consumerName)
	if ok {
		return nil
	}
	c := &Consumer{Name: bytes.Clone(name), SeenTime: now}
	g.consumers = append(g.consumers, nil)
	copy(g.consumers[i+1:], g.consumers[i:])
	g.consumers[i] = c
	return c
}

// DeleteConsumer removes a consumer and its pending entries from the group; it returns how
// many entries it had pending (-1 when it did not exist).
func (g *Group) DeleteConsumer(name []byte) int {
	i, ok := findByName(g.consumers, name, consumerName)
	if !ok {
		return -1
	}
	c := g.consumers[i]
	n := c.PEL.Len()
	c.PEL.Ascend(ID{}, func(id ID, _ *NACK) bool {
		g.PEL.Delete(id)
		return true
	})
	g.consumers = append(g.consumers[:i], g.consumers[i+1:]...)
	return n
}

// Ack removes id from the PELs; it reports whether it was pending.
func (g *Group) Ack(id ID) bool {
	n, ok := g.PEL.Get(id)
	if !ok {
		return false
	}
	g.PEL.Delete(id)
	n.Consumer.PEL.Delete(id)
	return true
}

func (g *Group) clone() *Group {
	o := &Group{Name: bytes.Clone(g.Name), LastID: g.LastID, EntriesRead: g.EntriesRead}
	byName := map[*Consumer]*Consumer{}
	for _, c := range g.consumers {
		nc := &Consumer{Name: bytes.Clone(c.Name), SeenTime: c.SeenTime}
		byName[c] = nc
		o.consumers = append(o.consumers, nc)
	}
	g.PEL.Ascend(ID{}, func(id ID, n *NACK) bool {
		nn := &NACK{DeliveryTime: n.DeliveryTime, DeliveryCount: n.DeliveryCount, Consumer: byName[n.Consumer]}
		o.PEL.Set(id, nn)
		nn.Consumer.PEL.Set(id, nn)
		return true
	})
	return o
}

// PEL is an ordered map from entry ID to its pending entry, kept as sorted chunks so that
// appends, acknowledgements in any order and range scans all stay cheap.
type PEL struct {
	chunks []*pelChunk
	n      int
}

type pelChunk struct {
	ids   []ID
	nacks []*NACK
}

const pelChunkMax = 128

// Len is the number of pending entries.
func (m *PEL) Len() int { return m.n }

// chunkFor returns the index of the chunk that holds or would hold id.
func (m *PEL) chunkFor(id ID) int {
	i := sort.Search(len(m.chunks), func(i int) bool { return id.Less(m.chunks[i].ids[0]) })
	return max(i-1, 0)
}

func (ch *pelChunk) search(id ID) (int, bool) {
	i := sort.Search(len(ch.ids), func(i int) bool { return !ch.ids[i].Less(id) })
	return i, i < len(ch.ids) && ch.ids[i] == id
}

// Get returns the pending entry of id.
func (m *PEL) Get(id ID) (*NACK, bool) {
	if m.n == 0 {
		return nil, false
	}
	ch := m.chunks[m.chunkFor(id)]
	if i, ok := ch.search(id); ok {
		return ch.nacks[i], true
	}
	return nil, false
}

// Set stores n for id, replacing any previous one; it reports whether id was new.
func (m *PEL) Set(id ID, n *NACK) bool {
	if len(m.chunks) == 0 {
		m.chunks = []*pelChunk{{ids: []ID{id}, nacks: []*NACK{n}}}
		m.n = 1
		return true
	}
	ci := m.chunkFor(id)
	ch := m.chunks[ci]
	i, ok := ch.search(id)
	if ok {
		ch.nacks[i] = n
		return false
	}
	ch.ids = append(ch.ids, ID{})
	copy(ch.ids[i+1:], ch.ids[i:])
	ch.ids[i] = id
	ch.nacks = append(ch.nacks, nil)
	copy(ch.nacks[i+1:], ch.nacks[i:])
	ch.nacks[i] = n
	m.n++
	if len(ch.ids) > pelChunkMax {
		half := len(ch.ids) / 2
		if i == len(ch.ids)-1 {
			half = len(ch.ids) - 1 // appending in order: keep the full chunk full
		}
		nc := &pelChunk{ids: append([]ID(nil), ch.ids[half:]...), nacks: append([]*NACK(nil), ch.nacks[half:]...)}
		ch.ids = ch.ids[:half:half]
		clear(ch.nacks[half:])
		ch.nacks = ch.nacks[:half:half]
		m.chunks = append(m.chunks, nil)
		copy(m.chunks[ci+2:], m.chunks[ci+1:])
		m.chunks[ci+1] = nc
	}
	return true
}

// Delete removes id; it reports whether it was there.
func (m *PEL) Delete(id ID) bool {
	if m.n == 0 {
		return false
	}
	ci := m.chunkFor(id)
	ch := m.chunks[ci]
	i, ok := ch.search(id)
	if !ok {
		return false
	}
	ch.ids = append(ch.ids[:i], ch.ids[i+1:]...)
	copy(ch.nacks[i:], ch.nacks[i+1:])
	ch.nacks[len(ch.nacks)-1] = nil
	ch.nacks = ch.nacks[:len(ch.nacks)-1]
	m.n--
	if len(ch.ids) == 0 {
		m.chunks = append(m.chunks[:ci], m.chunks[ci+1:]...)
	}
	return true
}

// Ascend calls fn for each entry with ID >= from in order until fn returns false. fn may
// delete the entry it is given, nothing else.
func (m *PEL) Ascend(from ID, fn func(ID, *NACK) bool) {
	if m.n == 0 {
		return
	}
	ci := m.chunkFor(from)
	i, _ := m.chunks[ci].search(from)
	for ci < len(m.chunks) {
		ch := m.chunks[ci]
		if i >= len(ch.ids) {
			ci++
			i = 0
			continue
		}
		id := ch.ids[i]
		before := len(ch.ids)
		nchunks := len(m.chunks)
		if !fn(id, ch.nacks[i]) {
			return
		}
		switch {
		case len(m.chunks) < nchunks: // the chunk emptied and went
		case len(ch.ids) < before: // the entry went: the next one slid into i
		default:
			i++
		}
	}
}

// First and Last return the lowest and highest pending IDs (m must not be empty).
func (m *PEL) First() ID { return m.chunks[0].ids[0] }

// Last returns the highest pending ID.
func (m *PEL) Last() ID {
	ch := m.chunks[len(m.chunks)-1]
	return ch.ids[len(ch.ids)-1]
}

// RangeHasTombstones reports whether a deleted entry may lie in [start, end] (end nil
// meaning the end of the stream), as Redis estimates it from MaxDeletedID.
func (s *Stream) RangeHasTombstones(start ID, end *ID) bool {
	if s.Length == 0 || s.MaxDeletedID.IsZero() {
		return false
	}
	if s.FirstID.Compare(s.MaxDeletedID) > 0 {
		return false
	}
	e := MaxID
	if end != nil {
		e = *end
	}
	return !s.MaxDeletedID.Less(start) && !e.Less(s.MaxDeletedID)
}

// EstimateReads is Redis's streamEstimateDistanceFromFirstEverEntry: the logical read
// counter of id, or InvalidEntriesRead when it cannot be known.
func (s *Stream) EstimateReads(id ID) int64 {
	if s.EntriesAdded == 0 {
		return 0
	}
	if s.Length == 0 && id.Compare(s.LastID) < 1 {
		return int64(s.EntriesAdded)
	}
	switch id.Compare(s.LastID) {
	case 0:
		return int64(s.EntriesAdded)
	case 1:
		return InvalidEntriesRead
	}
	if s.MaxDeletedID.IsZero() || s.MaxDeletedID.Less(s.FirstID) {
		switch id.Compare(s.FirstID) {
		case -1:
			return int64(s.EntriesAdded - s.Length)
		case 0:
			return int64(s.EntriesAdded - s.Length + 1)
		}
	}
	return InvalidEntriesRead
}

// Lag is a group's lag as XINFO reports it; ok is false when it is unknown (null).
func (s *Stream) Lag(g *Group) (int64, bool) {
	if s.EntriesAdded == 0 {
		return 0, true
	}
	if g.EntriesRead != InvalidEntriesRead && !s.RangeHasTombstones(g.LastID, nil) {
		return int64(s.EntriesAdded) - g.EntriesRead, true
	}
	if r := s.EstimateReads(g.LastID); r != InvalidEntriesRead {
		return int64(s.EntriesAdded) - r, true
	}
	return 0, false
}

// Delivered advances the group past id after delivering it to a consumer, keeping the
// entries-read counter as Redis does.
func (s *Stream) Delivered(g *Group, id ID) {
	if g.EntriesRead != InvalidEntriesRead && !s.RangeHasTombstones(id, nil) {
		g.EntriesRead++
	} else if s.EntriesAdded != 0 {
		g.EntriesRead = s.EstimateReads(id)
	}
	g.LastID = id
}
