package server

import (
	"bytes"
	"errors"
	"math/big"
	"os"
	"strconv"
	"time"

	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/num"
	"github.com/sard-kv/sard/internal/quicklist"
	"github.com/sard-kv/sard/internal/stream"
)

// Blocking commands: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP and
// the BLOCK option of XREAD/XREADGROUP.
//
// When there is nothing to serve, the command registers the client on its keys (in arrival
// order, per database and key) and writes no reply. executeBatch then parks the client's
// goroutine in waitBlocked, outside the server lock, with the rest of its pipeline kept
// unexecuted. A command that changes a key (found through its key specs, or every blocked
// key for keyless commands such as FLUSHALL, SWAPDB or EXEC) queues it as ready; after the
// top-level command the waiters of ready keys are served first come, first served, with
// their replies written into their own writers under the lock, and woken. Timeouts run on a
// timer that takes the lock; CLIENT UNBLOCK and disconnects end a wait the same way.

type blockKind uint8

const (
	blockList blockKind = iota + 1
	blockZSet
	blockStream
)

// blockedKey names a key clients wait on; the *DB stays the same across SWAPDB, which only
// exchanges contents, as Redis's blocking_keys stay with the database number.
type blockedKey struct {
	db  *DB
	key string
}

// blockingState is the server's side: waiters per key and the keys to look at after the
// current command.
type blockingState struct {
	waiters  map[blockedKey][]*Client
	ready    []blockedKey
	readySet map[blockedKey]struct{}
	clients  int
}

// blockState is what a blocked client waits for and how to serve it.
type blockState struct {
	kind     blockKind
	cmd      *Command
	db       *DB
	keys     [][]byte // distinct, copied
	done     chan struct{}
	timer    *time.Timer
	deadline int64 // unix ms, 0 = forever

	// lists
	where, to int
	count     int // -1: one element (BLPOP, BRPOP)
	dst       []byte
	lmove     bool // BLMOVE, propagated as LMOVE (BRPOPLPUSH as RPOPLPUSH)
	// sorted sets
	max    bool
	zcount int64 // -1: BZPOPMIN/BZPOPMAX
	// streams
	xreq  *xreadRequest
	snaps []streamSnap
}

// streamSnap remembers a blocked stream key's object and XADD count: Redis wakes stream
// readers only on XADD and key creation, so other writes (XSETID, XDEL) must not serve them.
type streamSnap struct {
	obj   *streamValue
	added uint64
}

const (
	errTimeoutFloat    = "ERR timeout is not a float or out of range"
	errTimeoutNegative = "ERR timeout is negative"
	errUnblocked       = "UNBLOCKED client unblocked via CLIENT UNBLOCK"
	errStreamDeleted   = "UNBLOCKED the stream key no longer exists"
	errGroupDeleted    = "NOGROUP the consumer group this client was blocked on no longer exists"
)

// --- timeouts -----------------------------------------------------------------------------

// parseBlockTimeout reads a timeout in seconds (a long double) as Redis 7.0 does and returns
// the deadline in unix ms, 0 for none.
func (c *Client) parseBlockTimeout(arg []byte) (int64, bool) {
	var ms int64
	if v, ok := num.ParseInt64(arg); ok {
		ms = v * 1000
		if v > (1<<63-1)/1000 || v < -(1<<63-1)/1000 {
			ms = -1 << 63 // C's out-of-range conversion gives LLONG_MIN: "negative"
		}
	} else {
		if _, ok := num.ParseLongDouble(arg); !ok {
			c.w.Error(errTimeoutFloat)
			return 0, false
		}
		ms = secondsToMs(arg)
	}
	return c.blockDeadline(ms)
}

// secondsToMs is (long long)ceill(strtold(arg)*1000) on x86-64: 64-bit significand
// arithmetic, and LLONG_MIN for anything a long long cannot hold (infinities included).
func secondsToMs(arg []byte) int64 {
	f, _, err := big.ParseFloat(string(arg), 0, 64, big.ToNearestEven)
	if err != nil || f.IsInf() {
		return -1 << 63
	}
	f.Mul(f, big.NewFloat(1000).SetPrec(64))
	i, _ := f.Int(nil) // truncates toward zero
	if f.Sign() > 0 && new(big.Float).SetInt(i).Cmp(f) != 0 {
		i.Add(i, big.NewInt(1))
	}
	if !i.IsInt64() {
		return -1 << 63
	}
	return i.Int64()
}

// blockDeadline turns a timeout in ms into a deadline. A deadline past int64 wraps in Redis
// and then never fires: such a client waits forever.
func (c *Client) blockDeadline(ms int64) (int64, bool) {
	if ms < 0 {
		c.w.Error(errTimeoutNegative)
		return 0, false
	}
	if ms == 0 {
		return 0, true
	}
	now := c.srv.now
	if ms > 1<<63-1-now {
		return 0, true
	}
	return now + ms, true
}

// mayBlock reports whether c may wait: inside MULTI/EXEC (and for connectionless clients,
// such as a script's) a blocking command answers at once as if it timed out.
func (c *Client) mayBlock() bool { return c.flags&flagMulti == 0 && c.conn != nil }

// --- blocking and unblocking ----------------------------------------------------------------

// block registers c on keys. The reply comes when it is served, times out or is unblocked.
func (s *Server) block(c *Client, bs *blockState, keys [][]byte) {
	if s.blk.waiters == nil {
		s.blk.waiters = make(map[blockedKey][]*Client)
		s.blk.readySet = make(map[blockedKey]struct{})
	}
	bs.cmd = c.cmd
	bs.db = c.db
	bs.done = make(chan struct{})
	for _, k := range keys {
		dup := false
		for _, have := range bs.keys {
			if bytes.Equal(have, k) {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		bs.keys = append(bs.keys, bytes.Clone(k))
		bk := blockedKey{c.db, string(k)}
		s.blk.waiters[bk] = append(s.blk.waiters[bk], c)
	}
	c.bstate = bs
	c.flags |= flagBlocked
	s.blk.clients++
	if bs.deadline > 0 {
		d := time.Duration(bs.deadline-time.Now().UnixMilli()) * time.Millisecond
		bs.timer = time.AfterFunc(max(d, 0), func() { s.blockTimedOut(c, bs) })
	}
}

func (s *Server) blockTimedOut(c *Client, bs *blockState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.bstate == bs {
		c.w.NullArray()
		s.unblock(c)
	}
}

// unblock removes c from every key it waits on and wakes its goroutine; the reply, if any,
// is already in c.w.
func (s *Server) unblock(c *Client) {
	bs := c.bstate
	if bs == nil {
		return
	}
	for _, k := range bs.keys {
		bk := blockedKey{bs.db, string(k)}
		list := s.blk.waiters[bk]
		for i, o := range list {
			if o == c {
				list = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(s.blk.waiters, bk)
		} else {
			s.blk.waiters[bk] = list
		}
	}
	if bs.timer != nil {
		bs.timer.Stop()
	}
	c.bstate = nil
	c.flags &^= flagBlocked
	s.blk.clients--
	close(bs.done)
	// interrupts the Read the parked goroutine uses to notice a disconnect
	c.conn.SetReadDeadline(time.Unix(1, 0))
}

// unblockClient is CLIENT UNBLOCK: a timeout reply, or -UNBLOCKED with withError. Clients
// held by a pause are not blocked in a command and are left alone.
func (s *Server) unblockClient(o *Client, withError bool) bool {
	bs := o.bstate
	if bs == nil {
		return false
	}
	if withError {
		s.replyBlockedError(o, errUnblocked)
	} else {
		o.w.NullArray()
	}
	s.unblock(o)
	return true
}

// replyBlockedError answers a blocked client with an error, counted as its command's.
func (s *Server) replyBlockedError(c *Client, msg string) {
	c.w.Error(msg)
	s.countError(msg)
	if c.bstate != nil && c.bstate.cmd != nil {
		c.bstate.cmd.failed++
	}
}

// afterCommand runs after each top-level command of a batch: it serves the clients whose
// keys the command readied and, when the command blocked c, waits. It returns false when
// c's connection ended while it waited. Called with s.mu held.
func (s *Server) afterCommand(c *Client) bool {
	if len(s.blk.ready) > 0 {
		s.serveReadyKeys()
	}
	if c.bstate == nil {
		return true
	}
	return s.waitBlocked(c)
}

// waitBlocked parks c's goroutine without the lock until its wait ends. Meanwhile it keeps
// reading the socket, to notice a disconnect and to keep what the client pipelines after
// the blocking command; the bytes join the read buffer afterwards. Entered and left with
// s.mu held.
func (s *Server) waitBlocked(c *Client) bool {
	bs := c.bstate
	c.emit()
	s.afterCommands()
	s.mu.Unlock()
	c.flush()
	var stash []byte
	buf := make([]byte, 4096)
	ended := false
	for !ended {
		select {
		case <-bs.done:
		default:
			n, err := c.conn.Read(buf)
			if n > 0 {
				stash = append(stash, buf[:n]...)
				s.stats.netInput.Add(int64(n))
				c.lastInteraction.Store(time.Now().UnixMilli())
				if int64(len(stash)+c.rend-c.rstart) > s.queryBufLimit.Load() {
					ended = true
				}
			}
			if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				ended = true
			}
			continue
		}
		break
	}
	c.conn.SetReadDeadline(time.Time{})
	s.mu.Lock()
	s.now = time.Now().UnixMilli()
	if ended {
		s.unblock(c)
		c.close()
		return false
	}
	c.appendInput(stash)
	return true
}

// appendInput adds bytes read while blocked after the unparsed input. The arguments of the
// pipeline's remaining commands point into the buffer before rstart, so it is never
// compacted in place here: a larger buffer is allocated instead and the old one stays alive
// through those slices.
func (c *Client) appendInput(b []byte) {
	if len(b) == 0 {
		return
	}
	if c.rend+len(b) <= len(c.rbuf) {
		c.rend += copy(c.rbuf[c.rend:], b)
		return
	}
	pending := c.rend - c.rstart
	nb := make([]byte, max(2*len(c.rbuf), pending+len(b)))
	copy(nb, c.rbuf[c.rstart:c.rend])
	copy(nb[pending:], b)
	c.rbuf, c.rstart, c.rend = nb, 0, pending+len(b)
}

// --- readiness ------------------------------------------------------------------------------

// signalWrites is called after every command that changed the dataset while clients are
// blocked: the blocked keys among its keys become ready, or all of them for a command whose
// keys the specs do not give.
func (s *Server) signalWrites(c *Client, cmd *Command) {
	refs, err := cmd.Spec.GetKeysAndFlags(c.argv)
	if err != nil || len(refs) == 0 || cmd.Spec.Name == "swapdb" {
		s.signalAllBlocked()
		return
	}
	for _, r := range refs {
		// MOVE and COPY ... DB n write the same name in another database
		for _, db := range s.dbs {
			s.signalKeyAsReady(db, c.argv[r.Pos])
		}
	}
}

// signalKeyAsReady queues key for the waiters on it, if there are any.
func (s *Server) signalKeyAsReady(db *DB, key []byte) {
	bk := blockedKey{db, string(key)}
	if _, ok := s.blk.waiters[bk]; !ok {
		return
	}
	if _, ok := s.blk.readySet[bk]; ok {
		return
	}
	s.blk.readySet[bk] = struct{}{}
	s.blk.ready = append(s.blk.ready, bk)
}

func (s *Server) signalAllBlocked() {
	for bk := range s.blk.waiters {
		if _, ok := s.blk.readySet[bk]; !ok {
			s.blk.readySet[bk] = struct{}{}
			s.blk.ready = append(s.blk.ready, bk)
		}
	}
}

// serveReadyKeys serves the waiters of the ready keys in the order the keys became ready,
// each key's waiters in arrival order; serving may ready more keys (BLMOVE's destination).
func (s *Server) serveReadyKeys() {
	for len(s.blk.ready) > 0 {
		ready := s.blk.ready
		s.blk.ready = nil
		clear(s.blk.readySet)
		for _, bk := range ready {
			waiters := append([]*Client(nil), s.blk.waiters[bk]...)
			for _, c := range waiters {
				if c.bstate != nil && !c.closed.Load() {
					s.serveWaiter(c, bk)
				}
			}
		}
	}
}

// serveWaiter tries to serve c from the ready key; an error reply also ends the wait.
func (s *Server) serveWaiter(c *Client, bk blockedKey) {
	bs := c.bstate
	key := []byte(bk.key)
	r, exists := bk.db.exists(key)
	typ := uint8(0)
	if exists {
		typ = bk.db.ks.Type(r)
	}
	served := false
	switch bs.kind {
	case blockList:
		served = typ == keyspace.TypeList && s.serveList(c, bs, key)
	case blockZSet:
		served = typ == keyspace.TypeZSet && s.serveZSet(c, bs, key)
	case blockStream:
		var sv *streamValue
		if exists && typ == keyspace.TypeStream {
			sv = bk.db.ks.Obj(r).(*streamValue)
		}
		served = s.serveStream(c, bs, key, sv)
	}
	if served {
		c.propArgv = nil
		s.unblock(c)
	}
}

func (s *Server) serveList(c *Client, bs *blockState, key []byte) bool {
	db := bs.db
	name := "LPOP"
	if bs.where == quicklist.Tail {
		name = "RPOP"
	}
	if bs.dst == nil {
		n := s.listPop(db, key, bs.where, bs.count, true, &c.w)
		if n == 0 {
			return false
		}
		argv := [][]byte{[]byte(name), bytes.Clone(key)}
		if bs.count >= 0 {
			argv = append(argv, strconv.AppendInt(nil, int64(n), 10))
		}
		s.prop.command(db.id, argv, nil)
		return true
	}
	// BLMOVE/BRPOPLPUSH: a destination of another type fails the client, the source stays
	if _, _, found, wrong := db.listAt(bs.dst, true); found && wrong {
		s.replyBlockedError(c, errWrongType)
		return true
	}
	s.snapshotBeforeKey(db, bs.dst) // the destination is in no key spec of the waking push
	if !s.listMove(db, key, bs.dst, bs.where, bs.to, &c.w) {
		return false
	}
	argv := [][]byte{[]byte("RPOPLPUSH"), bytes.Clone(key), bytes.Clone(bs.dst)}
	if bs.lmove {
		// served after blocking, Redis 7.0 spells the directions in lower case
		argv = [][]byte{[]byte("LMOVE"), bytes.Clone(key), bytes.Clone(bs.dst), whereWord(bs.where), whereWord(bs.to)}
	}
	s.prop.command(db.id, argv, nil)
	s.signalKeyAsReady(db, bs.dst)
	return true
}

func whereWord(where int) []byte {
	if where == quicklist.Head {
		return []byte("left")
	}
	return []byte("right")
}

func (s *Server) serveZSet(c *Client, bs *blockState, key []byte) bool {
	_, z, ok := c.lookupZSet(key, true)
	if !ok || z == nil {
		return false
	}
	n := int64(z.Len())
	bzmpop := bs.zcount >= 0
	if !s.zsetPop(c, [][]byte{key}, bs.max, bs.zcount, true, bzmpop, bzmpop) {
		return false
	}
	s.prop.command(bs.db.id, zpopProp(key, bs.max, bs.zcount, n), nil)
	return true
}

// zpopProp is what BZPOPMIN/BZPOPMAX/BZMPOP propagate: ZPOPMIN/ZPOPMAX key, with the count
// actually popped for BZMPOP.
func zpopProp(key []byte, max bool, count, n int64) [][]byte {
	name := "ZPOPMIN"
	if max {
		name = "ZPOPMAX"
	}
	argv := [][]byte{[]byte(name), bytes.Clone(key)}
	if count >= 0 {
		argv = append(argv, strconv.AppendInt(nil, min(count, n), 10))
	}
	return argv
}

// serveStream is Redis 7.0's serving of a blocked XREAD/XREADGROUP: only the ready key, from
// the ID the client waited after (a group's last ID for XREADGROUP).
func (s *Server) serveStream(c *Client, bs *blockState, key []byte, sv *streamValue) bool {
	req := bs.xreq
	idx := 0
	for i, k := range req.keys {
		if bytes.Equal(k, key) {
			idx = i
			break
		}
	}
	snap := &bs.snaps[idx]
	if sv == nil {
		snap.obj = nil
		if req.group != nil {
			s.replyBlockedError(c, errStreamDeleted)
			return true
		}
		return false
	}
	changed := snap.obj != sv || snap.added != sv.EntriesAdded
	snap.obj, snap.added = sv, sv.EntriesAdded
	gt := req.ids[idx]
	var g *stream.Group
	if req.group != nil {
		if g = sv.Group(req.group); g == nil {
			s.replyBlockedError(c, errGroupDeleted)
			return true
		}
		gt = g.LastID
	}
	if !changed || sv.LastID.Compare(gt) <= 0 {
		return false
	}
	start, _ := gt.Incr()
	if c.w.Proto == 2 {
		c.w.Array(1)
		c.w.Array(2)
	} else {
		c.w.Map(1)
	}
	c.w.Bulk(key)
	if g == nil {
		c.replyStreamRange(sv.Stream, start, stream.MaxID, req.count, false)
		return true
	}
	consumer := g.Consumer(req.consumer)
	if consumer == nil {
		consumer = g.CreateConsumer(req.consumer, s.now)
		s.notifyKeyspace(notifyStream, "xgroup-createconsumer", key, bs.db.id)
		s.dirty++
	}
	consumer.SeenTime = s.now
	prop := c.deliverToConsumer(sv.Stream, key, g, consumer, start, req, nil)
	c.propagateAll(prop)
	s.dirty++
	return true
}

// --- commands -----------------------------------------------------------------------------

func blpopCommand(c *Client) { blockingPop(c, quicklist.Head) }
func brpopCommand(c *Client) { blockingPop(c, quicklist.Tail) }

// blockingPop is BLPOP and BRPOP: the first non-empty list among the keys, else wait.
func blockingPop(c *Client, where int) {
	deadline, ok := c.parseBlockTimeout(c.argv[len(c.argv)-1])
	if !ok {
		return
	}
	keys := c.argv[1 : len(c.argv)-1]
	for _, key := range keys {
		_, l, ok := c.lookupList(key, true)
		if !ok {
			return
		}
		if l == nil || l.Len() == 0 {
			continue
		}
		c.srv.listPop(c.db, key, where, -1, true, &c.w)
		name := "LPOP"
		if where == quicklist.Tail {
			name = "RPOP"
		}
		c.propArgv = [][]byte{[]byte(name), bytes.Clone(key)}
		return
	}
	if !c.mayBlock() {
		c.w.NullArray()
		return
	}
	c.srv.block(c, &blockState{kind: blockList, where: where, count: -1, deadline: deadline}, keys)
}

func blmoveCommand(c *Client) {
	from, ok := parseWhere(c, c.argv[3])
	if !ok {
		return
	}
	to, ok := parseWhere(c, c.argv[4])
	if !ok {
		return
	}
	blockingMove(c, from, to, c.argv[5], [][]byte{c.argv[3], c.argv[4]})
}

func brpoplpushCommand(c *Client) {
	blockingMove(c, quicklist.Tail, quicklist.Head, c.argv[3], nil)
}

// blockingMove is BLMOVE and BRPOPLPUSH; with data they propagate as LMOVE and RPOPLPUSH.
func blockingMove(c *Client, from, to int, timeout []byte, moveArgs [][]byte) {
	deadline, ok := c.parseBlockTimeout(timeout)
	if !ok {
		return
	}
	src, dst := c.argv[1], c.argv[2]
	_, l, ok := c.lookupList(src, true)
	if !ok {
		return
	}
	if l != nil && l.Len() > 0 {
		dirty := c.srv.dirty
		lmoveGeneric(c, from, to)
		if c.srv.dirty != dirty {
			argv := [][]byte{[]byte("RPOPLPUSH"), bytes.Clone(src), bytes.Clone(dst)}
			if moveArgs != nil {
				argv = [][]byte{[]byte("LMOVE"), bytes.Clone(src), bytes.Clone(dst), bytes.Clone(moveArgs[0]), bytes.Clone(moveArgs[1])}
			}
			c.propArgv = argv
		}
		return
	}
	if !c.mayBlock() {
		c.w.Null() // Redis 7.0 answers a null bulk here, a null array on timeout
		return
	}
	bs := &blockState{kind: blockList, where: from, to: to, count: -1, deadline: deadline,
		dst: bytes.Clone(dst), lmove: moveArgs != nil}
	c.srv.block(c, bs, [][]byte{src})
}

// parseMPop reads "numkeys key... LEFT|RIGHT|MIN|MAX [COUNT n]" starting at argv[at], in
// Redis's order of checks; pick maps the direction word (ok false: syntax error).
func parseMPop(c *Client, at int, pick func([]byte) (int, bool)) (keys [][]byte, where int, count int64, ok bool) {
	argv := c.argv
	nk, okn := num.ParseInt64(argv[at])
	if !okn || nk <= 0 {
		c.w.Error(errListNumkeys)
		return nil, 0, 0, false
	}
	whereIdx := int64(at) + 1 + nk
	if nk > int64(len(argv)) || whereIdx >= int64(len(argv)) {
		c.w.Error(errSyntax)
		return nil, 0, 0, false
	}
	where, okw := pick(argv[whereIdx])
	if !okw {
		c.w.Error(errSyntax)
		return nil, 0, 0, false
	}
	count = -1
	for j := int(whereIdx) + 1; j < len(argv); j++ {
		if count == -1 && argEq(argv[j], "count") && j+1 < len(argv) {
			j++
			v, okc := num.ParseInt64(argv[j])
			if !okc || v < 1 {
				c.w.Error(errListCountPositive)
				return nil, 0, 0, false
			}
			count = v
			continue
		}
		c.w.Error(errSyntax)
		return nil, 0, 0, false
	}
	if count == -1 {
		count = 1
	}
	return argv[at+1 : whereIdx], where, count, true
}

func blmpopCommand(c *Client) {
	keys, where, count, ok := parseMPop(c, 2, func(b []byte) (int, bool) {
		switch {
		case argEq(b, "left"):
			return quicklist.Head, true
		case argEq(b, "right"):
			return quicklist.Tail, true
		}
		return 0, false
	})
	if !ok {
		return
	}
	deadline, ok := c.parseBlockTimeout(c.argv[1])
	if !ok {
		return
	}
	for _, key := range keys {
		_, l, ok := c.lookupList(key, true)
		if !ok {
			return
		}
		if l == nil || l.Len() == 0 {
			continue
		}
		n := c.srv.listPop(c.db, key, where, int(min(count, int64(l.Len()))), true, &c.w)
		name := "LPOP"
		if where == quicklist.Tail {
			name = "RPOP"
		}
		c.propArgv = [][]byte{[]byte(name), bytes.Clone(key), strconv.AppendInt(nil, int64(n), 10)}
		return
	}
	if !c.mayBlock() {
		c.w.NullArray()
		return
	}
	c.srv.block(c, &blockState{kind: blockList, where: where, count: int(count), deadline: deadline}, keys)
}

func bzpopminCommand(c *Client) { blockingZPop(c, false) }
func bzpopmaxCommand(c *Client) { blockingZPop(c, true) }

func blockingZPop(c *Client, max bool) {
	deadline, ok := c.parseBlockTimeout(c.argv[len(c.argv)-1])
	if !ok {
		return
	}
	keys := c.argv[1 : len(c.argv)-1]
	zsetPopOrBlock(c, keys, max, -1, deadline)
}

func bzmpopCommand(c *Client) {
	keys, where, count, ok := parseMPop(c, 2, func(b []byte) (int, bool) {
		switch {
		case argEq(b, "min"):
			return 0, true
		case argEq(b, "max"):
			return 1, true
		}
		return 0, false
	})
	if !ok {
		return
	}
	deadline, ok := c.parseBlockTimeout(c.argv[1])
	if !ok {
		return
	}
	zsetPopOrBlock(c, keys, where == 1, count, deadline)
}

// zsetPopOrBlock pops from the first existing key (a sorted set or a WRONGTYPE error) or
// blocks; count is -1 for BZPOPMIN/BZPOPMAX.
func zsetPopOrBlock(c *Client, keys [][]byte, max bool, count, deadline int64) {
	for _, key := range keys {
		r, found := c.db.exists(key)
		if !found {
			continue
		}
		n := int64(0)
		if c.db.ks.Type(r) == keyspace.TypeZSet {
			_, z, _ := c.lookupZSet(key, true)
			n = int64(z.Len())
		}
		bzmpop := count >= 0
		if c.srv.zsetPop(c, keys, max, count, true, bzmpop, bzmpop) {
			c.propArgv = zpopProp(key, max, count, n)
		}
		return
	}
	if !c.mayBlock() {
		c.w.NullArray()
		return
	}
	c.srv.block(c, &blockState{kind: blockZSet, max: max, zcount: count, deadline: deadline}, keys)
}

// xreadBlock suspends an XREAD/XREADGROUP ... BLOCK that found nothing to read.
func (c *Client) xreadBlock(req *xreadRequest) bool {
	if !c.mayBlock() {
		return false
	}
	deadline, _ := c.blockDeadline(req.timeout)
	// the request outlives the command: copy what points into the read buffer
	r := *req
	r.group = cloneOrNil(req.group)
	r.consumer = cloneOrNil(req.consumer)
	r.keys = make([][]byte, len(req.keys))
	bs := &blockState{kind: blockStream, deadline: deadline, xreq: &r, snaps: make([]streamSnap, len(req.keys))}
	for i, k := range req.keys {
		r.keys[i] = bytes.Clone(k)
		if rf, ok := c.db.exists(k); ok && c.db.ks.Type(rf) == keyspace.TypeStream {
			sv := c.db.ks.Obj(rf).(*streamValue)
			bs.snaps[i] = streamSnap{sv, sv.EntriesAdded}
		}
	}
	c.srv.block(c, bs, r.keys)
	return true
}

func cloneOrNil(b []byte) []byte {
	if b == nil {
		return nil
	}
	return bytes.Clone(b)
}

func init() {
	register(map[string]func(*Client){
		"blpop":      blpopCommand,
		"brpop":      brpopCommand,
		"blmove":     blmoveCommand,
		"brpoplpush": brpoplpushCommand,
		"blmpop":     blmpopCommand,
		"bzpopmin":   bzpopminCommand,
		"bzpopmax":   bzpopmaxCommand,
		"bzmpop":     bzmpopCommand,
	})
}
