package server

import (
	"fmt"
	"strings"

	"github.com/sard-kv/sard/internal/num"
	"github.com/sard-kv/sard/internal/stream"
)

// Consumer group commands: XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM, XINFO.
//
// Propagation follows Redis 7.0: XREADGROUP, XCLAIM and XAUTOCLAIM are not propagated as
// themselves but as one XCLAIM ... FORCE JUSTID LASTID per entry whose pending state they
// changed (plus XGROUP SETID when only the group's last ID moved), wrapped in MULTI/EXEC when
// there are several.

func noGroupError(key, group []byte) string {
	return fmt.Sprintf("NOGROUP No such key '%s' or consumer group '%s'", cString(key), cString(group))
}

func (c *Client) subcommandSyntaxError() {
	c.w.Error(fmt.Sprintf("ERR unknown subcommand or wrong number of arguments for '%s'. Try %s HELP.",
		truncateArg(c.argv[1]), strings.ToUpper(string(c.cmd.Parent.FullName))))
}

// xclaimProp is the XCLAIM Redis propagates for one pending entry (streamPropagateXCLAIM).
func xclaimProp(key, group []byte, g *stream.Group, id []byte, n *stream.NACK) [][]byte {
	return [][]byte{[]byte("XCLAIM"), bytesClone(key), bytesClone(group), bytesClone(n.Consumer.Name),
		[]byte("0"), bytesClone(id), []byte("TIME"), num.FormatInt64(nil, n.DeliveryTime),
		[]byte("RETRYCOUNT"), num.FormatInt64(nil, n.DeliveryCount), []byte("FORCE"), []byte("JUSTID"),
		[]byte("LASTID"), streamIDBytes(g.LastID)}
}

// setIDProp is the XGROUP SETID Redis propagates when a group's last ID moved.
func setIDProp(key, group []byte, g *stream.Group) [][]byte {
	return [][]byte{[]byte("XGROUP"), []byte("SETID"), bytesClone(key), bytesClone(group),
		streamIDBytes(g.LastID), []byte("ENTRIESREAD"), num.FormatInt64(nil, g.EntriesRead)}
}

func bytesClone(b []byte) []byte { return append([]byte{}, b...) }

// deliverToConsumer serves new entries (">") to a consumer: the group moves past them and,
// unless NOACK, each becomes pending for the consumer. It appends the propagated effects.
func (c *Client) deliverToConsumer(s *stream.Stream, key []byte, g *stream.Group, consumer *stream.Consumer,
	start stream.ID, req *xreadRequest, prop [][][]byte) [][][]byte {
	d := c.w.Defer()
	n := 0
	moved := false
	var delivered []stream.ID
	s.Range(start, stream.MaxID, false, func(id stream.ID, fv [][]byte) bool {
		if id.Compare(g.LastID) > 0 {
			s.Delivered(g, id)
			moved = true
		}
		c.replyStreamEntry(id, fv)
		delivered = append(delivered, id)
		n++
		return req.count == 0 || int64(n) < req.count
	})
	c.w.FillArray(d, n)
	if !req.noack {
		for _, id := range delivered {
			nack, ok := g.PEL.Get(id)
			if ok {
				// XGROUP SETID may have moved the group back: the entry changes owner.
				nack.Consumer.PEL.Delete(id)
			} else {
				nack = &stream.NACK{}
				g.PEL.Set(id, nack)
			}
			nack.Consumer = consumer
			nack.DeliveryTime = c.srv.now
			nack.DeliveryCount = 1
			consumer.PEL.Set(id, nack)
			prop = append(prop, xclaimProp(key, req.group, g, streamIDBytes(id), nack))
		}
	}
	// Redis 7.0 propagates the group's new last ID only for NOACK reads; otherwise the
	// XCLAIMs' LASTID carries it.
	if moved && req.noack {
		prop = append(prop, setIDProp(key, req.group, g))
	}
	return prop
}

// replyConsumerHistory replies the consumer's own pending entries from start: entries that
// were deleted since come as the ID with a null body.
func (c *Client) replyConsumerHistory(s *stream.Stream, consumer *stream.Consumer, start stream.ID, count int64) {
	d := c.w.Defer()
	n := 0
	consumer.PEL.Ascend(start, func(id stream.ID, nack *stream.NACK) bool {
		if count != 0 && int64(n) >= count {
			return false
		}
		found := false
		s.Range(id, id, false, func(id stream.ID, fv [][]byte) bool {
			c.replyStreamEntry(id, fv)
			found = true
			return false
		})
		if found {
			nack.DeliveryTime = c.srv.now
			nack.DeliveryCount++
		} else {
			c.w.Array(2)
			c.replyStreamID(id)
			c.w.NullArray()
		}
		n++
		return true
	})
	c.w.FillArray(d, n)
}

func xreadgroupCommand(c *Client) { xreadGeneric(c, true) }

func xgroupHelpCommand(c *Client) {
	replyHelp(c, []string{
		"CREATE <key> <groupname> <id|$> [option]",
		"    Create a new consumer group. Options are:",
		"    * MKSTREAM",
		"      Create the empty stream if it does not exist.",
		"    * ENTRIESREAD entries_read",
		"      Set the group's entries_read counter (internal use).",
		"CREATECONSUMER <key> <groupname> <consumer>",
		"    Create a new consumer in the specified group.",
		"DELCONSUMER <key> <groupname> <consumer>",
		"    Remove the specified consumer.",
		"DESTROY <key> <groupname>",
		"    Remove the specified group.",
		"SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
		"    Set the current group ID and entries_read counter.",
		"HELP",
		"    Prints this help.",
	})
}

// xgroupCommand serves every XGROUP subcommand but HELP, with Redis's shared checks first.
func xgroupCommand(c *Client) {
	argv := c.argv
	sub := strings.ToLower(string(argv[1]))
	mkstream := false
	entriesRead := int64(stream.InvalidEntriesRead)
	if sub == "create" {
		for i := 5; i < len(argv); {
			switch {
			case equalFoldBytes(argv[i], "mkstream"):
				mkstream = true
				i++
			case equalFoldBytes(argv[i], "entriesread") && i+1 < len(argv):
				v, ok := num.ParseInt64(argv[i+1])
				if !ok {
					c.w.Error(errNotInt)
					return
				}
				if v < 0 && v != stream.InvalidEntriesRead {
					c.w.Error("ERR value for ENTRIESREAD must be positive or -1")
					return
				}
				entriesRead = v
				i += 2
			default:
				c.subcommandSyntaxError()
				return
			}
		}
	}
	key, name := argv[2], argv[3]
	_, s, ok := c.lookupStream(key, true)
	if !ok {
		return
	}
	var g *stream.Group
	if !mkstream {
		if s == nil {
			c.w.Error("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.")
			return
		}
		if g = s.Group(name); g == nil && (sub == "setid" || sub == "createconsumer" || sub == "delconsumer") {
			c.w.Error(fmt.Sprintf("NOGROUP No such consumer group '%s' for key name '%s'", cString(name), cString(key)))
			return
		}
	}
	switch {
	case sub == "create" && len(argv) <= 8:
		var id stream.ID
		if len(argv[4]) == 1 && argv[4][0] == '$' {
			if s != nil {
				id = s.LastID
			}
		} else if id, ok = c.parseStreamID(argv[4], 0, stream.Strict); !ok {
			return
		}
		if s == nil {
			s = &streamValue{stream.New()}
			c.db.storeStream(key, s)
		}
		if s.CreateGroup(name, id, entriesRead) == nil {
			c.w.Error("BUSYGROUP Consumer Group name already exists")
			return
		}
		c.w.OK()
		c.srv.dirty++
		c.srv.notifyKeyspace(notifyStream, "xgroup-create", key, c.db.id)
	case sub == "setid" && (len(argv) == 5 || len(argv) == 7):
		var id stream.ID
		if len(argv[4]) == 1 && argv[4][0] == '$' {
			id = s.LastID
		} else if id, ok = c.parseStreamID(argv[4], 0, 0); !ok {
			return
		}
		if len(argv) == 7 {
			if !equalFoldBytes(argv[5], "entriesread") {
				c.subcommandSyntaxError()
				return
			}
			v, ok := num.ParseInt64(argv[6])
			if !ok {
				c.w.Error(errNotInt)
				return
			}
			if v < 0 && v != stream.InvalidEntriesRead {
				c.w.Error("ERR value for ENTRIESREAD must be positive or -1")
				return
			}
			entriesRead = v
		}
		g.LastID = id
		g.EntriesRead = entriesRead
		c.w.OK()
		c.srv.dirty++
		c.srv.notifyKeyspace(notifyStream, "xgroup-setid", key, c.db.id)
	case sub == "destroy" && len(argv) == 4:
		if g == nil {
			c.w.Int(0)
			return
		}
		s.DestroyGroup(name)
		c.w.Int(1)
		c.srv.dirty++
		c.srv.notifyKeyspace(notifyStream, "xgroup-destroy", key, c.db.id)
	case sub == "createconsumer" && len(argv) == 5:
		if g.CreateConsumer(argv[4], c.srv.now) == nil {
			c.w.Int(0)
			return
		}
		c.w.Int(1)
		c.srv.dirty++
		c.srv.notifyKeyspace(notifyStream, "xgroup-createconsumer", key, c.db.id)
	case sub == "delconsumer" && len(argv) == 5:
		pending := g.DeleteConsumer(argv[4])
		if pending >= 0 {
			c.srv.dirty++
			c.srv.notifyKeyspace(notifyStream, "xgroup-delconsumer", key, c.db.id)
		}
		c.w.Int(int64(max(pending, 0)))
	default:
		c.subcommandSyntaxError()
	}
}

func xackCommand(c *Client) {
	_, s, ok := c.lookupStream(c.argv[1], false)
	if !ok {
		return
	}
	var g *stream.Group
	if s != nil {
		g = s.Group(c.argv[2])
	}
	if g == nil {
		c.w.Int(0)
		return
	}
	ids, ok := c.parseStrictIDs(c.argv[3:])
	if !ok {
		return
	}
	acked := 0
	for _, id := range ids {
		if g.Ack(id) {
			acked++
			c.srv.dirty++
		}
	}
	c.w.Int(int64(acked))
}

func xpendingCommand(c *Client) {
	argv := c.argv
	summary := len(argv) == 3
	if len(argv) != 3 && (len(argv) < 6 || len(argv) > 9) {
		c.w.Error(errSyntax)
		return
	}
	var start, end stream.ID
	var count, minIdle int64
	var consumerName []byte
	if len(argv) >= 6 {
		si := 3
		if equalFoldBytes(argv[3], "idle") {
			v, ok := num.ParseInt64(argv[4])
			if !ok {
				c.w.Error(errNotInt)
				return
			}
			minIdle = v
			if len(argv) < 8 {
				c.w.Error(errSyntax)
				return
			}
			si += 2
		}
		v, ok := num.ParseInt64(argv[si+2])
		if !ok {
			c.w.Error(errNotInt)
			return
		}
		count = max(v, 0)
		if start, ok = c.parseRangeStart(argv[si]); !ok {
			return
		}
		if end, ok = c.parseRangeEnd(argv[si+1]); !ok {
			return
		}
		if si+3 < len(argv) {
			consumerName = argv[si+3]
		}
	}
	_, s, ok := c.lookupStream(argv[1], false)
	if !ok {
		return
	}
	var g *stream.Group
	if s != nil {
		g = s.Group(argv[2])
	}
	if g == nil {
		c.w.Error(noGroupError(argv[1], argv[2]))
		return
	}
	if summary {
		c.w.Array(4)
		c.w.Int(int64(g.PEL.Len()))
		if g.PEL.Len() == 0 {
			c.w.Null()
			c.w.Null()
			c.w.NullArray()
			return
		}
		c.replyStreamID(g.PEL.First())
		c.replyStreamID(g.PEL.Last())
		d := c.w.Defer()
		n := 0
		for _, cons := range g.Consumers() {
			if cons.PEL.Len() == 0 {
				continue
			}
			c.w.Array(2)
			c.w.Bulk(cons.Name)
			c.w.BulkInt(int64(cons.PEL.Len()))
			n++
		}
		c.w.FillArray(d, n)
		return
	}
	pel := &g.PEL
	if consumerName != nil {
		cons := g.Consumer(consumerName)
		if cons == nil {
			c.w.Array(0)
			return
		}
		pel = &cons.PEL
	}
	now := c.srv.now
	d := c.w.Defer()
	n := 0
	pel.Ascend(start, func(id stream.ID, nack *stream.NACK) bool {
		if count == 0 || end.Less(id) {
			return false
		}
		if minIdle != 0 && now-nack.DeliveryTime < minIdle {
			return true
		}
		n++
		count--
		c.w.Array(4)
		c.replyStreamID(id)
		c.w.Bulk(nack.Consumer.Name)
		c.w.Int(max(now-nack.DeliveryTime, 0))
		c.w.Int(nack.DeliveryCount)
		return true
	})
	c.w.FillArray(d, n)
}

// claimTo moves a pending entry to consumer (creating it on first use) and updates its
// delivery data.
func claimTo(g *stream.Group, nack *stream.NACK, id stream.ID, consumer *stream.Consumer) {
	if nack.Consumer != consumer {
		if nack.Consumer != nil {
			nack.Consumer.PEL.Delete(id)
		}
		consumer.PEL.Set(id, nack)
		nack.Consumer = consumer
	}
}

func (c *Client) claimConsumer(g *stream.Group, cons **stream.Consumer, key []byte) *stream.Consumer {
	if *cons != nil {
		return *cons
	}
	name := c.argv[3]
	if *cons = g.Consumer(name); *cons != nil {
		(*cons).SeenTime = c.srv.now
	} else {
		*cons = g.CreateConsumer(name, c.srv.now)
		c.srv.dirty++
		c.srv.notifyKeyspace(notifyStream, "xgroup-createconsumer", key, c.db.id)
	}
	return *cons
}

func xclaimCommand(c *Client) {
	argv := c.argv
	key := argv[1]
	_, s, ok := c.lookupStream(key, false)
	if !ok {
		return
	}
	var g *stream.Group
	if s != nil {
		g = s.Group(argv[2])
	}
	if g == nil {
		c.w.Error(noGroupError(key, argv[2]))
		return
	}
	minIdle, ok := num.ParseInt64(argv[4])
	if !ok {
		c.w.Error("ERR Invalid min-idle-time argument for XCLAIM")
		return
	}
	minIdle = max(minIdle, 0)
	j := 5
	for ; j < len(argv); j++ {
		if _, _, ok := stream.ParseID(argv[j], 0, stream.Strict); !ok {
			break
		}
	}
	lastIDArg := j - 1
	now := c.srv.now
	retry := int64(-1)
	delivery := int64(-1)
	force, justID := false, false
	var lastID stream.ID
	for ; j < len(argv); j++ {
		more := len(argv) - 1 - j
		opt := argv[j]
		switch {
		case equalFoldBytes(opt, "force"):
			force = true
		case equalFoldBytes(opt, "justid"):
			justID = true
		case equalFoldBytes(opt, "idle") && more > 0:
			j++
			v, ok := num.ParseInt64(argv[j])
			if !ok {
				c.w.Error("ERR Invalid IDLE option argument for XCLAIM")
				return
			}
			delivery = now - v
		case equalFoldBytes(opt, "time") && more > 0:
			j++
			v, ok := num.ParseInt64(argv[j])
			if !ok {
				c.w.Error("ERR Invalid TIME option argument for XCLAIM")
				return
			}
			delivery = v
		case equalFoldBytes(opt, "retrycount") && more > 0:
			j++
			v, ok := num.ParseInt64(argv[j])
			if !ok {
				c.w.Error("ERR Invalid RETRYCOUNT option argument for XCLAIM")
				return
			}
			retry = v
		case equalFoldBytes(opt, "lastid") && more > 0:
			j++
			if lastID, ok = c.parseStreamID(argv[j], 0, stream.Strict); !ok {
				return
			}
		default:
			c.w.Error(fmt.Sprintf("ERR Unrecognized XCLAIM option '%s'", cString(opt)))
			return
		}
	}
	propLastID := false
	if lastID.Compare(g.LastID) > 0 {
		g.LastID = lastID
		propLastID = true
	}
	// A bogus delivery time (negative or in the future) silently becomes now, as in Redis.
	if delivery < 0 || delivery > now {
		delivery = now
	}
	var consumer *stream.Consumer
	var prop [][][]byte
	d := c.w.Defer()
	n := 0
	for j := 5; j <= lastIDArg; j++ {
		id, _, _ := stream.ParseID(argv[j], 0, stream.Strict)
		nack, pending := g.PEL.Get(id)
		if !s.Exists(id) {
			if pending {
				prop = append(prop, xclaimProp(key, argv[2], g, argv[j], nack))
				propLastID = false
				c.srv.dirty++
				g.Ack(id)
			}
			continue
		}
		if force && !pending {
			nack = &stream.NACK{}
			g.PEL.Set(id, nack)
			pending = true
		}
		if !pending {
			continue
		}
		if nack.Consumer != nil && minIdle != 0 && now-nack.DeliveryTime < minIdle {
			continue
		}
		claimTo(g, nack, id, c.claimConsumer(g, &consumer, key))
		nack.DeliveryTime = delivery
		if retry >= 0 {
			nack.DeliveryCount = retry
		} else if !justID {
			nack.DeliveryCount++
		}
		if justID {
			c.replyStreamID(id)
		} else if c.emitStreamRange(s.Stream, id, id, 1, false) == 0 {
			c.w.Null()
		}
		n++
		prop = append(prop, xclaimProp(key, argv[2], g, argv[j], nack))
		propLastID = false
		c.srv.dirty++
	}
	if propLastID {
		prop = append(prop, setIDProp(key, argv[2], g))
		c.srv.dirty++
	}
	c.w.FillArray(d, n)
	c.propagateAll(prop)
}

func xautoclaimCommand(c *Client) {
	argv := c.argv
	key := argv[1]
	minIdle, ok := num.ParseInt64(argv[4])
	if !ok {
		c.w.Error("ERR Invalid min-idle-time argument for XAUTOCLAIM")
		return
	}
	minIdle = max(minIdle, 0)
	start, ok := c.parseRangeStart(argv[5])
	if !ok {
		return
	}
	count := int64(100)
	justID := false
	for j := 6; j < len(argv); j++ {
		more := len(argv) - 1 - j
		switch {
		case equalFoldBytes(argv[j], "count") && more > 0:
			v, ok := num.ParseInt64(argv[j+1])
			// Redis caps COUNT so that count*10 attempts cannot overflow.
			if !ok || v < 1 || v > (1<<63-1)/16 {
				c.w.Error("ERR COUNT must be > 0")
				return
			}
			count = v
			j++
		case equalFoldBytes(argv[j], "justid"):
			justID = true
		default:
			c.w.Error(errSyntax)
			return
		}
	}
	_, s, ok := c.lookupStream(key, false)
	if !ok {
		return
	}
	var g *stream.Group
	if s != nil {
		g = s.Group(argv[2])
	}
	if g == nil {
		c.w.Error(noGroupError(key, argv[2]))
		return
	}
	attempts := count * 10
	now := c.srv.now
	var consumer *stream.Consumer
	var prop [][][]byte
	var deleted []stream.ID
	var got []stream.ID
	cursor := stream.ID{}
	g.PEL.Ascend(start, func(id stream.ID, nack *stream.NACK) bool {
		if attempts == 0 || count == 0 {
			cursor = id
			return false
		}
		attempts--
		if !s.Exists(id) {
			prop = append(prop, xclaimProp(key, argv[2], g, streamIDBytes(id), nack))
			c.srv.dirty++
			g.Ack(id)
			deleted = append(deleted, id)
			count--
			return true
		}
		if minIdle != 0 && now-nack.DeliveryTime < minIdle {
			return true
		}
		claimTo(g, nack, id, c.claimConsumer(g, &consumer, key))
		nack.DeliveryTime = now
		if !justID {
			nack.DeliveryCount++
		}
		got = append(got, id)
		count--
		prop = append(prop, xclaimProp(key, argv[2], g, streamIDBytes(id), nack))
		c.srv.dirty++
		return true
	})
	c.w.Array(3)
	c.replyStreamID(cursor)
	c.w.Array(len(got))
	for _, id := range got {
		if justID {
			c.replyStreamID(id)
		} else if c.emitStreamRange(s.Stream, id, id, 1, false) == 0 {
			c.w.Null()
		}
	}
	c.w.Array(len(deleted))
	for _, id := range deleted {
		c.replyStreamID(id)
	}
	c.propagateAll(prop)
}

func xinfoHelpCommand(c *Client) {
	replyHelp(c, []string{
		"CONSUMERS <key> <groupname>",
		"    Show consumers of <groupname>.",
		"GROUPS <key>",
		"    Show the stream consumer groups.",
		"STREAM <key> [FULL [COUNT <count>]",
		"    Show information about the stream.",
		"HELP",
		"    Prints this help.",
	})
}

func (c *Client) lookupStreamOrNoKey(key []byte) (*streamValue, bool) {
	_, s, ok := c.lookupStream(key, false)
	if !ok {
		return nil, false
	}
	if s == nil {
		c.w.Error(errNoSuchKey)
		return nil, false
	}
	return s, true
}

func xinfoConsumersCommand(c *Client) {
	s, ok := c.lookupStreamOrNoKey(c.argv[2])
	if !ok {
		return
	}
	g := s.Group(c.argv[3])
	if g == nil {
		c.w.Error(fmt.Sprintf("NOGROUP No such consumer group '%s' for key name '%s'", cString(c.argv[3]), cString(c.argv[2])))
		return
	}
	now := c.srv.now
	c.w.Array(len(g.Consumers()))
	for _, cons := range g.Consumers() {
		c.w.Map(3)
		c.w.BulkString("name")
		c.w.Bulk(cons.Name)
		c.w.BulkString("pending")
		c.w.Int(int64(cons.PEL.Len()))
		c.w.BulkString("idle")
		c.w.Int(max(now-cons.SeenTime, 0))
	}
}

func (c *Client) replyGroupCounters(s *stream.Stream, g *stream.Group) {
	c.w.BulkString("entries-read")
	if g.EntriesRead != stream.InvalidEntriesRead {
		c.w.Int(g.EntriesRead)
	} else {
		c.w.Null()
	}
	c.w.BulkString("lag")
	if lag, ok := s.Lag(g); ok {
		c.w.Int(lag)
	} else {
		c.w.Null()
	}
}

func xinfoGroupsCommand(c *Client) {
	s, ok := c.lookupStreamOrNoKey(c.argv[2])
	if !ok {
		return
	}
	c.w.Array(len(s.Groups()))
	for _, g := range s.Groups() {
		c.w.Map(6)
		c.w.BulkString("name")
		c.w.Bulk(g.Name)
		c.w.BulkString("consumers")
		c.w.Int(int64(len(g.Consumers())))
		c.w.BulkString("pending")
		c.w.Int(int64(g.PEL.Len()))
		c.w.BulkString("last-delivered-id")
		c.replyStreamID(g.LastID)
		c.replyGroupCounters(s.Stream, g)
	}
}

func xinfoStreamCommand(c *Client) {
	argv := c.argv
	full := false
	count := int64(10)
	if opts := argv[3:]; len(opts) > 0 {
		if (len(opts) != 1 && len(opts) != 3) || !equalFoldBytes(opts[0], "full") {
			c.subcommandSyntaxError()
			return
		}
		if len(opts) == 3 {
			if !equalFoldBytes(opts[1], "count") {
				c.subcommandSyntaxError()
				return
			}
			v, ok := num.ParseInt64(opts[2])
			if !ok {
				c.w.Error(errNotInt)
				return
			}
			if v < 0 {
				v = 10
			}
			count = v
		}
		full = true
	}
	sv, ok := c.lookupStreamOrNoKey(argv[2])
	if !ok {
		return
	}
	s := sv.Stream
	if full {
		c.w.Map(9)
	} else {
		c.w.Map(10)
	}
	c.w.BulkString("length")
	c.w.Int(int64(s.Length))
	c.w.BulkString("radix-tree-keys")
	c.w.Int(int64(len(s.Nodes())))
	c.w.BulkString("radix-tree-nodes")
	c.w.Int(int64(s.RadixNodes()))
	c.w.BulkString("last-generated-id")
	c.replyStreamID(s.LastID)
	c.w.BulkString("max-deleted-entry-id")
	c.replyStreamID(s.MaxDeletedID)
	c.w.BulkString("entries-added")
	c.w.Int(int64(s.EntriesAdded))
	c.w.BulkString("recorded-first-entry-id")
	c.replyStreamID(s.FirstID)
	if !full {
		c.w.BulkString("groups")
		c.w.Int(int64(len(s.Groups())))
		c.w.BulkString("first-entry")
		if c.emitStreamRange(s, stream.ID{}, stream.MaxID, 1, false) == 0 {
			c.w.Null()
		}
		c.w.BulkString("last-entry")
		if c.emitStreamRange(s, stream.ID{}, stream.MaxID, 1, true) == 0 {
			c.w.Null()
		}
		return
	}
	c.w.BulkString("entries")
	c.replyStreamRange(s, stream.ID{}, stream.MaxID, count, false)
	c.w.BulkString("groups")
	c.w.Array(len(s.Groups()))
	for _, g := range s.Groups() {
		c.w.Map(7)
		c.w.BulkString("name")
		c.w.Bulk(g.Name)
		c.w.BulkString("last-delivered-id")
		c.replyStreamID(g.LastID)
		c.replyGroupCounters(s, g)
		c.w.BulkString("pel-count")
		c.w.Int(int64(g.PEL.Len()))
		c.w.BulkString("pending")
		d := c.w.Defer()
		n := 0
		g.PEL.Ascend(stream.ID{}, func(id stream.ID, nack *stream.NACK) bool {
			if count != 0 && int64(n) >= count {
				return false
			}
			c.w.Array(4)
			c.replyStreamID(id)
			c.w.Bulk(nack.Consumer.Name)
			c.w.Int(nack.DeliveryTime)
			c.w.Int(nack.DeliveryCount)
			n++
			return true
		})
		c.w.FillArray(d, n)
		c.w.BulkString("consumers")
		c.w.Array(len(g.Consumers()))
		for _, cons := range g.Consumers() {
			c.w.Map(4)
			c.w.BulkString("name")
			c.w.Bulk(cons.Name)
			c.w.BulkString("seen-time")
			c.w.Int(cons.SeenTime)
			c.w.BulkString("pel-count")
			c.w.Int(int64(cons.PEL.Len()))
			c.w.BulkString("pending")
			d := c.w.Defer()
			n := 0
			cons.PEL.Ascend(stream.ID{}, func(id stream.ID, nack *stream.NACK) bool {
				if count != 0 && int64(n) >= count {
					return false
				}
				c.w.Array(3)
				c.replyStreamID(id)
				c.w.Int(nack.DeliveryTime)
				c.w.Int(nack.DeliveryCount)
				n++
				return true
			})
			c.w.FillArray(d, n)
		}
	}
}

func init() {
	register(map[string]func(*Client){
		"xreadgroup":            xreadgroupCommand,
		"xack":                  xackCommand,
		"xpending":              xpendingCommand,
		"xclaim":                xclaimCommand,
		"xautoclaim":            xautoclaimCommand,
		"xgroup|create":         xgroupCommand,
		"xgroup|setid":          xgroupCommand,
		"xgroup|destroy":        xgroupCommand,
		"xgroup|createconsumer": xgroupCommand,
		"xgroup|delconsumer":    xgroupCommand,
		"xgroup|help":           xgroupHelpCommand,
		"xinfo|stream":          xinfoStreamCommand,
		"xinfo|groups":          xinfoGroupsCommand,
		"xinfo|consumers":       xinfoConsumersCommand,
		"xinfo|help":            xinfoHelpCommand,
	})
}
