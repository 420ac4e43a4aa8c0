package server

// Helpers shared by the collection families (hash, set, sorted set, stream),
// whose commands repeat the same lookup, removal and scan steps.

import (
	"math"
	"strconv"

	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/num"
	"github.com/sard-kv/sard/internal/resp"
)

// lookupTyped finds the value of type typ at key for reading (write: for
// writing). found is false and v the zero T (a nil pointer) when the key does
// not exist; ok is false after replying WRONGTYPE.
func lookupTyped[T any](c *Client, key []byte, write bool, typ uint8) (r keyspace.Ref, v T, found, ok bool) {
	if write {
		r, found = c.db.lookupWrite(key)
	} else {
		r, found = c.db.lookupRead(key)
	}
	if !found {
		return 0, v, false, true
	}
	if c.db.ks.Type(r) != typ {
		c.w.Error(errWrongType)
		return 0, v, false, false
	}
	return r, c.db.ks.Obj(r).(T), true, true
}

// propagating reports whether anything (the AOF, a replica) consumes the propagation
// stream; handlers skip building the rewritten form of their command when nothing would
// read it.
func (s *Server) propagating() bool { return len(s.prop.consumers) > 0 }

// writeScore replies a sorted-set score as resp.Writer.Double does (Redis's "%.17g"), but
// formats it on the stack: Double's replaceable formatter makes its buffer escape, one
// allocation per score. Integral scores take the integer path, which prints the same
// digits (%.17g has no exponent below 1e17); Go's 'g' with 17 digits is %.17g for every
// other finite double.
func writeScore(w *resp.Writer, f float64) {
	var tmp [32]byte
	var s []byte
	switch {
	case f == math.Trunc(f) && f > -1<<53 && f < 1<<53 && (f != 0 || !math.Signbit(f)):
		s = strconv.AppendInt(tmp[:0], int64(f), 10)
	case math.IsInf(f, 0):
		s = num.FormatDouble(tmp[:0], f)
	default:
		s = strconv.AppendFloat(tmp[:0], f, 'g', 17, 64)
	}
	if w.Proto >= 3 {
		w.Buf = append(w.Buf, ',')
		w.Buf = append(w.Buf, s...)
		w.Buf = append(w.Buf, '\r', '\n')
		return
	}
	w.Bulk(s)
}

// removeMembers is HDEL, SREM and ZREM once the collection at r is found:
// remove each of argv[2:], delete the key when it becomes empty (Redis stops
// at that point), notify event and "del", and reply how many went.
func (c *Client) removeMembers(r keyspace.Ref, remove func([]byte) bool, size func() int, class int, event string) {
	key := c.argv[1]
	deleted, removed := 0, false
	for _, m := range c.argv[2:] {
		if remove(m) {
			deleted++
			if size() == 0 {
				c.db.ks.DeleteRef(r)
				removed = true
				break
			}
		}
	}
	if deleted > 0 {
		c.srv.notifyKeyspace(class, event, key, c.db.id)
		if removed {
			c.srv.notifyKeyspace(notifyGeneric, "del", key, c.db.id)
		}
		c.srv.dirty += int64(deleted)
	}
	c.w.Int(int64(deleted))
}

// scanStart does what HSCAN, SSCAN and ZSCAN do before walking: parse the
// cursor, look up the collection of type typ at argv[1] and parse the
// options. ok is false once it has replied, an empty scan for a missing key
// included.
func scanStart[T any](c *Client, typ uint8) (v T, a collScanArgs, ok bool) {
	// Redis checks the cursor before the key and the key before the options.
	if a.cursor, ok = parseScanCursor(c.argv[2]); !ok {
		c.w.Error(errInvalidCursor)
		return v, a, false
	}
	_, v, found, ok := lookupTyped[T](c, c.argv[1], false, typ)
	if !ok {
		return v, a, false
	}
	if !found {
		emptyScanReply(c)
		return v, a, false
	}
	return v, a, parseCollScanOpts(c, &a)
}
