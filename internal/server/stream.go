package server

import (
	"math"
	"strings"

	"github.com/sard-kv/sard/internal/digest"
	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/num"
	"github.com/sard-kv/sard/internal/stream"
)

// Stream commands: XADD, XTRIM, XDEL, XLEN, XRANGE, XREVRANGE, XREAD, XSETID here; consumer
// groups (XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM, XINFO) in stream_group.go.
//
// Hook for the blocking commands: XREAD and XREADGROUP parse BLOCK into xreadRequest and,
// when nothing can be served, call c.xreadBlock(req); until blocking exists it returns false
// and the command replies as a timeout does. A blocked client is served later by calling
// c.serveXRead(req) again once one of req.keys changed.

// encStream is Redis's OBJ_ENCODING_STREAM, what the keyspace records for stream values.
const encStream = 10

const (
	errStreamID        = "ERR Invalid stream ID specified as stream command argument"
	errXAddTop         = "ERR The ID specified in XADD is equal or smaller than the target stream top item"
	errXAddZero        = "ERR The ID specified in XADD must be greater than 0-0"
	errXAddExhausted   = "ERR The stream has exhausted the last possible ID, unable to add more items"
	errXAddTooLarge    = "ERR Elements are too large to be stored"
	errStartInterval   = "ERR invalid start ID for the interval"
	errEndInterval     = "ERR invalid end ID for the interval"
	errTrimIncompat    = "ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
	errMaxLenNegative  = "ERR The MAXLEN argument must be >= 0."
	errLimitNegative   = "ERR The LIMIT argument must be >= 0."
	errLimitNoStrategy = "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
	errLimitNoApprox   = "ERR syntax error, LIMIT cannot be used without the special ~ option"
	errXTrimStrategy   = "ERR syntax error, XTRIM must be called with a trimming strategy"
)

// streamValue is a stream stored in the keyspace.
type streamValue struct{ *stream.Stream }

// CloneValue implements valueCloner (COPY).
func (v *streamValue) CloneValue() any { return &streamValue{v.Clone()} }

// MemoryUsage implements valueSizer.
func (v *streamValue) MemoryUsage(samples int) int { return v.Stream.MemoryUsage() }

// EncodingName implements valueEncoder.
func (v *streamValue) EncodingName() string { return "stream" }

// Digest implements valueDigester: entries only, as Redis 7.0 digests streams.
func (v *streamValue) Digest(start digest.Start, expireAt int64) digest.Digest {
	d := start.Stream()
	v.Range(stream.ID{}, stream.MaxID, false, func(id stream.ID, fv [][]byte) bool {
		d.Entry(id.Ms, id.Seq)
		for i := 0; i < len(fv); i += 2 {
			d.Field(fv[i], fv[i+1])
		}
		return true
	})
	return d.Sum(expireAt)
}

// lookupStream finds the stream at key; s is nil when the key does not exist, ok false
// after replying WRONGTYPE.
func (c *Client) lookupStream(key []byte, write bool) (r keyspace.Ref, s *streamValue, ok bool) {
	r, s, _, ok = lookupTyped[*streamValue](c, key, write, keyspace.TypeStream)
	return r, s, ok
}

// parseStrictIDs parses the IDs XDEL and XACK take, all before acting on any,
// replying the error of the first bad one.
func (c *Client) parseStrictIDs(args [][]byte) ([]stream.ID, bool) {
	ids := make([]stream.ID, 0, len(args))
	for _, a := range args {
		id, ok := c.parseStreamID(a, 0, stream.Strict)
		if !ok {
			return nil, false
		}
		ids = append(ids, id)
	}
	return ids, true
}

// parseNonNegative parses MAXLEN's or LIMIT's integer, replying negErr when it is below 0.
func (c *Client) parseNonNegative(arg []byte, negErr string) (int64, bool) {
	v, ok := num.ParseInt64(arg)
	if !ok {
		c.w.Error(errNotInt)
		return 0, false
	}
	if v < 0 {
		c.w.Error(negErr)
		return 0, false
	}
	return v, true
}

func (db *DB) storeStream(key []byte, s *streamValue) {
	db.setObj(key, keyspace.TypeStream, encStream, s)
}

// parseStreamID parses an ID argument and replies the error when it is not one.
func (c *Client) parseStreamID(arg []byte, missingSeq uint64, mode stream.ParseMode) (stream.ID, bool) {
	id, _, ok := stream.ParseID(arg, missingSeq, mode)
	if !ok {
		c.w.Error(errStreamID)
	}
	return id, ok
}

// parseIntervalID parses a range bound: "(" makes it exclusive (and strict).
func (c *Client) parseIntervalID(arg []byte, missingSeq uint64) (id stream.ID, excl, ok bool) {
	if len(arg) > 1 && arg[0] == '(' {
		id, ok = c.parseStreamID(arg[1:], missingSeq, stream.Strict)
		return id, true, ok
	}
	id, ok = c.parseStreamID(arg, missingSeq, 0)
	return id, false, ok
}

// parseRangeStart and parseRangeEnd turn bounds into the inclusive range Redis iterates.
func (c *Client) parseRangeStart(arg []byte) (stream.ID, bool) {
	id, excl, ok := c.parseIntervalID(arg, 0)
	if ok && excl {
		if id, ok = id.Incr(); !ok {
			c.w.Error(errStartInterval)
		}
	}
	return id, ok
}

func (c *Client) parseRangeEnd(arg []byte) (stream.ID, bool) {
	id, excl, ok := c.parseIntervalID(arg, math.MaxUint64)
	if ok && excl {
		if id, ok = id.Decr(); !ok {
			c.w.Error(errEndInterval)
		}
	}
	return id, ok
}

func streamIDBytes(id stream.ID) []byte { return id.Append(nil) }

func (c *Client) replyStreamID(id stream.ID) {
	var buf [48]byte
	c.w.Bulk(id.Append(buf[:0]))
}

func (c *Client) replyStreamEntry(id stream.ID, fv [][]byte) {
	c.w.Array(2)
	c.replyStreamID(id)
	c.w.Array(len(fv))
	for _, f := range fv {
		c.w.Bulk(f)
	}
}

// replyStreamRange replies the entries in [start, end] (count 0: all) as an array and
// returns how many there were.
func (c *Client) replyStreamRange(s *stream.Stream, start, end stream.ID, count int64, rev bool) int {
	d := c.w.Defer()
	n := c.emitStreamRange(s, start, end, count, rev)
	c.w.FillArray(d, n)
	return n
}

// emitStreamRange writes the entries without an array header (XCLAIM's raw entries).
func (c *Client) emitStreamRange(s *stream.Stream, start, end stream.ID, count int64, rev bool) int {
	n := 0
	s.Range(start, end, rev, func(id stream.ID, fv [][]byte) bool {
		c.replyStreamEntry(id, fv)
		n++
		return count == 0 || int64(n) < count
	})
	return n
}

// trimSpec is the parsed trimming part of XADD/XTRIM plus where its arguments sit, so the
// propagated command can be rewritten.
type trimSpec struct {
	stream.TrimArgs
	approxIdx int // index of "~" in argv, 0 if none
	valueIdx  int // index of the MAXLEN/MINID value
}

// xaddSpec is what XADD parsed before its fields.
type xaddSpec struct {
	trimSpec
	noMkStream bool
	idGiven    bool
	seqGiven   bool
	id         stream.ID
	idIdx      int
}

// parseTrimArgs parses XADD's options (xadd) or XTRIM's; for XADD it returns the index of
// the ID argument. It replies the error and returns -1 on failure.
func (c *Client) parseTrimArgs(xadd bool, spec *xaddSpec) int {
	argv := c.argv
	limitGiven := false
	i := 2
	for ; i < len(argv); i++ {
		more := len(argv) - 1 - i
		opt := argv[i]
		switch {
		case xadd && len(opt) == 1 && opt[0] == '*':
			return c.finishTrimArgs(xadd, spec, limitGiven, i)
		case equalFoldBytes(opt, "maxlen") && more > 0, equalFoldBytes(opt, "minid") && more > 0:
			if spec.Strategy != stream.TrimNone {
				c.w.Error(errTrimIncompat)
				return -1
			}
			spec.Approx = false
			spec.approxIdx = 0
			next := argv[i+1]
			if more >= 2 && len(next) == 1 && (next[0] == '~' || next[0] == '=') {
				if next[0] == '~' {
					spec.Approx = true
					spec.approxIdx = i + 1
				}
				i++
			}
			if equalFoldBytes(opt, "maxlen") {
				v, ok := c.parseNonNegative(argv[i+1], errMaxLenNegative)
				if !ok {
					return -1
				}
				spec.MaxLen = v
				spec.Strategy = stream.TrimMaxLen
			} else {
				id, ok := c.parseStreamID(argv[i+1], 0, stream.Strict)
				if !ok {
					return -1
				}
				spec.MinID = id
				spec.Strategy = stream.TrimMinID
			}
			i++
			spec.valueIdx = i
		case equalFoldBytes(opt, "limit") && more > 0:
			v, ok := c.parseNonNegative(argv[i+1], errLimitNegative)
			if !ok {
				return -1
			}
			spec.Limit = v
			limitGiven = true
			i++
		case xadd && equalFoldBytes(opt, "nomkstream"):
			spec.noMkStream = true
		case xadd:
			id, seqGiven, ok := stream.ParseID(opt, 0, stream.Strict|stream.SeqStar)
			if !ok {
				c.w.Error(errStreamID)
				return -1
			}
			spec.id, spec.seqGiven, spec.idGiven = id, seqGiven, true
			return c.finishTrimArgs(xadd, spec, limitGiven, i)
		default:
			c.w.Error(errSyntax)
			return -1
		}
	}
	return c.finishTrimArgs(xadd, spec, limitGiven, i)
}

func (c *Client) finishTrimArgs(xadd bool, spec *xaddSpec, limitGiven bool, i int) int {
	if spec.Limit != 0 && spec.Strategy == stream.TrimNone {
		c.w.Error(errLimitNoStrategy)
		return -1
	}
	if !xadd && spec.Strategy == stream.TrimNone {
		c.w.Error(errXTrimStrategy)
		return -1
	}
	if limitGiven {
		if !spec.Approx {
			c.w.Error(errLimitNoApprox)
			return -1
		}
	} else if spec.Approx {
		// Redis bounds approximate trimming to 100 nodes' worth of entries by default.
		spec.Limit = 100 * c.srv.hot.streamEntries.Get()
		if spec.Limit <= 0 {
			spec.Limit = 10000
		} else if spec.Limit > 1000000 {
			spec.Limit = 1000000
		}
	} else {
		spec.Limit = 0
	}
	return i
}

func equalFoldBytes(b []byte, s string) bool {
	return len(b) == len(s) && strings.EqualFold(string(b), s)
}

// rewriteTrim makes the propagated command trim exactly what this one trimmed (Redis's
// streamRewriteApproxSpecifier and streamRewriteTrimArgument).
func rewriteTrim(argv [][]byte, spec *trimSpec, s *stream.Stream) {
	if !spec.Approx {
		return
	}
	argv[spec.approxIdx] = []byte("=")
	if spec.Strategy == stream.TrimMaxLen {
		argv[spec.valueIdx] = num.FormatInt64(nil, int64(s.Length))
	} else {
		argv[spec.valueIdx] = streamIDBytes(s.FirstID)
	}
}

// copyArgv copies the argument list for a rewrite of the propagated command. The arguments
// themselves are shared: call() encodes the rewrite before the request's buffer is reused, and
// rewrites replace arguments rather than change their bytes.
func copyArgv(argv [][]byte) [][]byte {
	return append([][]byte(nil), argv...)
}

func xaddCommand(c *Client) {
	var spec xaddSpec
	idPos := c.parseTrimArgs(true, &spec)
	if idPos < 0 {
		return
	}
	fieldPos := idPos + 1
	if n := len(c.argv) - fieldPos; n < 2 || n%2 == 1 {
		c.w.Error("ERR wrong number of arguments for 'xadd' command")
		return
	}
	if spec.idGiven && spec.seqGiven && spec.id.IsZero() {
		c.w.Error(errXAddZero)
		return
	}
	key := c.argv[1]
	_, s, ok := c.lookupStream(key, true)
	if !ok {
		return
	}
	if s == nil {
		if spec.noMkStream {
			c.w.Null()
			return
		}
		s = &streamValue{stream.New()}
		c.db.storeStream(key, s)
	}
	if s.LastID == stream.MaxID {
		c.w.Error(errXAddExhausted)
		return
	}
	fv := c.argv[fieldPos:]
	if stream.TooLarge(fv) {
		c.w.Error(errXAddTooLarge)
		return
	}
	var id stream.ID
	switch {
	case !spec.idGiven:
		id = nextStreamID(s.LastID, c.srv.now)
	case !spec.seqGiven && s.LastID.Ms == spec.id.Ms:
		if s.LastID.Seq == math.MaxUint64 {
			c.w.Error(errXAddTop)
			return
		}
		id = stream.ID{Ms: s.LastID.Ms, Seq: s.LastID.Seq + 1}
	default:
		id = spec.id
	}
	if id.Compare(s.LastID) <= 0 {
		c.w.Error(errXAddTop)
		return
	}
	s.Append(id, fv, c.srv.hot.streamBytes.Get(), c.srv.hot.streamEntries.Get())
	c.replyStreamID(id)
	c.srv.dirty++
	c.srv.notifyKeyspace(notifyStream, "xadd", key, c.db.id)

	var prop [][]byte
	propagating := c.srv.propagating()
	if spec.Strategy != stream.TrimNone {
		if s.Trim(spec.TrimArgs) > 0 {
			c.srv.notifyKeyspace(notifyStream, "xtrim", key, c.db.id)
		}
		if spec.Approx && propagating {
			prop = copyArgv(c.argv)
			rewriteTrim(prop, &spec.trimSpec, s.Stream)
		}
	}
	if propagating && (!spec.idGiven || !spec.seqGiven) {
		if prop == nil {
			prop = copyArgv(c.argv)
		}
		prop[idPos] = streamIDBytes(id)
	}
	if prop != nil {
		c.propArgv = prop
	}
}

// nextStreamID is the ID "*" generates: the current time, or one past the last ID when the
// clock is behind it.
func nextStreamID(last stream.ID, nowMs int64) stream.ID {
	if uint64(nowMs) > last.Ms {
		return stream.ID{Ms: uint64(nowMs)}
	}
	id, _ := last.Incr()
	return id
}

func xtrimCommand(c *Client) {
	key := c.argv[1]
	var spec xaddSpec
	if c.parseTrimArgs(false, &spec) < 0 {
		return
	}
	_, s, ok := c.lookupStream(key, true)
	if !ok {
		return
	}
	if s == nil {
		c.w.Int(0)
		return
	}
	n := s.Trim(spec.TrimArgs)
	if n > 0 {
		c.srv.notifyKeyspace(notifyStream, "xtrim", key, c.db.id)
		c.srv.dirty += n
		if spec.Approx && c.srv.propagating() {
			prop := copyArgv(c.argv)
			rewriteTrim(prop, &spec.trimSpec, s.Stream)
			c.propArgv = prop
		}
	}
	c.w.Int(n)
}

func xdelCommand(c *Client) {
	key := c.argv[1]
	_, s, ok := c.lookupStream(key, true)
	if !ok {
		return
	}
	if s == nil {
		c.w.Int(0)
		return
	}
	ids, ok := c.parseStrictIDs(c.argv[2:])
	if !ok {
		return
	}
	deleted := 0
	firstGone := false
	for _, id := range ids {
		if s.Delete(id) {
			if id == s.FirstID {
				firstGone = true
			}
			if id.Compare(s.MaxDeletedID) > 0 {
				s.MaxDeletedID = id
			}
			deleted++
		}
	}
	if deleted > 0 {
		if s.Length == 0 || firstGone {
			s.UpdateFirstID()
		}
		c.srv.notifyKeyspace(notifyStream, "xdel", key, c.db.id)
		c.srv.dirty += int64(deleted)
	}
	c.w.Int(int64(deleted))
}

func xlenCommand(c *Client) {
	_, s, ok := c.lookupStream(c.argv[1], false)
	if !ok {
		return
	}
	if s == nil {
		c.w.Int(0)
		return
	}
	c.w.Int(int64(s.Length))
}

func xrangeCommand(c *Client)    { xrangeGeneric(c, false) }
func xrevrangeCommand(c *Client) { xrangeGeneric(c, true) }

func xrangeGeneric(c *Client, rev bool) {
	startArg, endArg := c.argv[2], c.argv[3]
	if rev {
		startArg, endArg = endArg, startArg
	}
	start, ok := c.parseRangeStart(startArg)
	if !ok {
		return
	}
	end, ok := c.parseRangeEnd(endArg)
	if !ok {
		return
	}
	count := int64(-1)
	for j := 4; j < len(c.argv); j++ {
		if equalFoldBytes(c.argv[j], "count") && j+1 < len(c.argv) {
			v, ok := num.ParseInt64(c.argv[j+1])
			if !ok {
				c.w.Error(errNotInt)
				return
			}
			count = max(v, 0)
			j++
			continue
		}
		c.w.Error(errSyntax)
		return
	}
	_, s, ok := c.lookupStream(c.argv[1], false)
	if !ok {
		return
	}
	if s == nil {
		c.w.Array(0)
		return
	}
	if count == 0 {
		c.w.NullArray()
		return
	}
	c.replyStreamRange(s.Stream, start, end, max(count, 0), rev)
}

func xsetidCommand(c *Client) {
	id, ok := c.parseStreamID(c.argv[2], 0, stream.Strict)
	if !ok {
		return
	}
	entriesAdded := int64(-1)
	var maxDel stream.ID
	for i := 3; i < len(c.argv); i += 2 {
		more := len(c.argv) - 1 - i
		switch {
		case equalFoldBytes(c.argv[i], "entriesadded") && more > 0:
			v, ok := num.ParseInt64(c.argv[i+1])
			if !ok {
				c.w.Error(errNotInt)
				return
			}
			if v < 0 {
				c.w.Error("ERR entries_added must be positive")
				return
			}
			entriesAdded = v
		case equalFoldBytes(c.argv[i], "maxdeletedid") && more > 0:
			if maxDel, ok = c.parseStreamID(c.argv[i+1], 0, stream.Strict); !ok {
				return
			}
			if id.Less(maxDel) {
				c.w.Error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
				return
			}
		default:
			c.w.Error(errSyntax)
			return
		}
	}
	key := c.argv[1]
	_, s, ok := c.lookupStream(key, true)
	if !ok {
		return
	}
	if s == nil {
		c.w.Error(errNoSuchKey)
		return
	}
	if id.Less(s.MaxDeletedID) {
		c.w.Error("ERR The ID specified in XSETID is smaller than current max_deleted_entry_id")
		return
	}
	if s.Length > 0 {
		if id.Less(s.LastLive()) {
			c.w.Error("ERR The ID specified in XSETID is smaller than the target stream top item")
			return
		}
		if entriesAdded != -1 && s.Length > uint64(entriesAdded) {
			c.w.Error("ERR The entries_added specified in XSETID is smaller than the target stream length")
			return
		}
	}
	s.LastID = id
	if entriesAdded != -1 {
		s.EntriesAdded = uint64(entriesAdded)
	}
	if !maxDel.IsZero() {
		s.MaxDeletedID = maxDel
	}
	c.w.OK()
	c.srv.notifyKeyspace(notifyStream, "xsetid", key, c.db.id)
	c.srv.dirty++
}

// xreadRequest is a parsed XREAD or XREADGROUP, kept whole so that the blocking code can
// serve it again later.
type xreadRequest struct {
	group    []byte // nil for XREAD
	consumer []byte
	noack    bool
	count    int64
	timeout  int64 // BLOCK in ms, -1 without BLOCK
	keys     [][]byte
	ids      []stream.ID // exclusive lower bounds; MaxID stands for ">"
}

func xreadCommand(c *Client) { xreadGeneric(c, false) }

func xreadGeneric(c *Client, group bool) {
	argv := c.argv
	req := &xreadRequest{timeout: -1}
	streamsArg := 0
	for i := 1; i < len(argv); i++ {
		more := len(argv) - 1 - i
		o := argv[i]
		switch {
		case equalFoldBytes(o, "block") && more > 0:
			i++
			t, ok := c.parseTimeoutMs(argv[i])
			if !ok {
				return
			}
			req.timeout = t
		case equalFoldBytes(o, "count") && more > 0:
			i++
			v, ok := num.ParseInt64(argv[i])
			if !ok {
				c.w.Error(errNotInt)
				return
			}
			req.count = max(v, 0)
		case equalFoldBytes(o, "streams") && more > 0:
			streamsArg = i + 1
			if (len(argv)-streamsArg)%2 != 0 {
				// Redis 7.0 names XREAD and '$' here even for XREADGROUP.
				c.w.Error("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.")
				return
			}
			i = len(argv)
		case equalFoldBytes(o, "group") && more >= 2:
			if !group {
				c.w.Error("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
				return
			}
			req.group, req.consumer = argv[i+1], argv[i+2]
			i += 2
		case equalFoldBytes(o, "noack"):
			if !group {
				c.w.Error("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
				return
			}
			req.noack = true
		default:
			c.w.Error(errSyntax)
			return
		}
	}
	if streamsArg == 0 {
		c.w.Error(errSyntax)
		return
	}
	if group && req.group == nil {
		c.w.Error("ERR Missing GROUP option for XREADGROUP")
		return
	}
	n := (len(argv) - streamsArg) / 2
	req.keys = argv[streamsArg : streamsArg+n]
	req.ids = make([]stream.ID, n)
	for i := range n {
		key, arg := req.keys[i], argv[streamsArg+n+i]
		_, s, ok := c.lookupStream(key, false)
		if !ok {
			return
		}
		if group {
			if s == nil || s.Group(req.group) == nil {
				c.w.Error("NOGROUP No such key '" + string(cString(key)) + "' or consumer group '" + string(cString(req.group)) + "' in XREADGROUP with GROUP option")
				return
			}
		}
		switch {
		case len(arg) == 1 && arg[0] == '$':
			if group {
				c.w.Error("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")
				return
			}
			if s != nil {
				req.ids[i] = s.LastID
			}
		case len(arg) == 1 && arg[0] == '>':
			if !group {
				c.w.Error("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")
				return
			}
			req.ids[i] = stream.MaxID
		default:
			id, ok := c.parseStreamID(arg, 0, stream.Strict)
			if !ok {
				return
			}
			req.ids[i] = id
		}
	}
	if c.serveXRead(req) {
		return
	}
	if req.timeout != -1 && c.xreadBlock(req) {
		return
	}
	c.w.NullArray()
}

// parseTimeoutMs reads BLOCK's argument as Redis's getTimeoutFromObjectOrReply does in
// milliseconds.
func (c *Client) parseTimeoutMs(arg []byte) (int64, bool) {
	v, ok := num.ParseInt64(arg)
	if !ok {
		c.w.Error("ERR timeout is not an integer or out of range")
		return 0, false
	}
	if v < 0 {
		c.w.Error("ERR timeout is negative")
		return 0, false
	}
	return v, true
}

// serveXRead replies the entries req can read now; it returns false, having written
// nothing, when there are none.
func (c *Client) serveXRead(req *xreadRequest) bool {
	mark := len(c.w.Buf)
	d := c.w.Defer()
	served := 0
	var prop [][][]byte
	for i, key := range req.keys {
		_, s, _ := c.lookupStream(key, false)
		if s == nil {
			continue
		}
		gt := req.ids[i]
		var g *stream.Group
		var consumer *stream.Consumer
		sync, history := false, false
		if req.group != nil {
			g = s.Group(req.group)
			if gt != stream.MaxID {
				sync, history = true, true
			} else if s.Length > 0 && s.LastLive().Compare(g.LastID) > 0 {
				sync = true
				gt = g.LastID
			}
		} else if s.Length > 0 && s.LastLive().Compare(gt) > 0 {
			sync = true
		}
		if !sync {
			continue
		}
		if g != nil {
			// Redis 7.0 creates the consumer only when there is something to serve it.
			if consumer = g.Consumer(req.consumer); consumer == nil {
				consumer = g.CreateConsumer(req.consumer, c.srv.now)
				c.srv.notifyKeyspace(notifyStream, "xgroup-createconsumer", key, c.db.id)
				c.srv.dirty++
			}
			consumer.SeenTime = c.srv.now
		}
		served++
		if c.w.Proto == 2 {
			c.w.Array(2)
		}
		c.w.Bulk(key)
		start, _ := gt.Incr()
		if g == nil {
			c.replyStreamRange(s.Stream, start, stream.MaxID, req.count, false)
			continue
		}
		if history {
			c.replyConsumerHistory(s.Stream, consumer, start, req.count)
		} else {
			prop = c.deliverToConsumer(s.Stream, key, g, consumer, start, req, prop)
		}
		c.srv.dirty++
	}
	if req.group != nil {
		c.propagateAll(prop)
	}
	if served == 0 {
		c.w.Buf = c.w.Buf[:mark]
		return false
	}
	if c.w.Proto == 2 {
		c.w.FillArray(d, served)
	} else {
		c.w.FillMap(d, served)
	}
	return true
}

func init() {
	register(map[string]func(*Client){
		"xadd":      xaddCommand,
		"xtrim":     xtrimCommand,
		"xdel":      xdelCommand,
		"xlen":      xlenCommand,
		"xrange":    xrangeCommand,
		"xrevrange": xrevrangeCommand,
		"xread":     xreadCommand,
		"xsetid":    xsetidCommand,
	})
}
