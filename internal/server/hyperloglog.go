package server

import (
	"github.com/sard-kv/sard/internal/hll"
	"github.com/sard-kv/sard/internal/keyspace"
)

// HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG and PFSELFTEST. The values are
// strings in Redis's exact HYLL format (package hll), so GET, SET, DUMP and RDB see the
// same bytes Redis would.

const (
	errNotHLL     = "WRONGTYPE Key is not a valid HyperLogLog string value."
	errCorruptHLL = "INVALIDOBJ Corrupted HLL object detected"
)

// hllForRead checks that r holds a HyperLogLog and returns its bytes (valid until the next
// change to the DB); it replies with the error and returns false otherwise.
func hllForRead(c *Client, r keyspace.Ref) ([]byte, bool) {
	ks := c.db.ks
	if ks.Type(r) != keyspace.TypeString {
		c.w.Error(errWrongType)
		return nil, false
	}
	b := ks.Str(r)
	// an int-encoded string is never a HyperLogLog (Redis wants an sds)
	if ks.Enc(r) == encInt || !hll.Valid(b) {
		c.w.Error(errNotHLL)
		return nil, false
	}
	return b, true
}

// hllForWrite is hllForRead returning the value writable in place. The value becomes raw,
// as Redis unshares it before touching it.
func hllForWrite(c *Client, r keyspace.Ref) ([]byte, bool) {
	b, ok := hllForRead(c, r)
	if !ok {
		return nil, false
	}
	c.db.ks.SetEnc(r, encRaw)
	return c.db.ks.StrForUpdate(r, len(b)), true
}

// storeHLL writes back a value that an hll function may have reallocated or resized; one
// changed in place needs nothing.
func storeHLL(c *Client, r keyspace.Ref, orig, b []byte) {
	if len(b) != len(orig) || &b[0] != &orig[0] {
		c.db.ks.SetStr(r, b, encRaw)
	}
}

func (s *Server) hllSparseMax() int { return int(s.hot.hllSparse.Get()) }

func pfaddCommand(c *Client) {
	key := c.argv[1]
	r, found := c.db.lookupWrite(key)
	updated := 0
	var orig, b []byte
	if !found {
		b = hll.New()
		r = c.db.setString(key, b, encRaw, false)
		orig = c.db.ks.StrForUpdate(r, len(b))
		b = orig
		updated++
	} else {
		var ok bool
		if orig, ok = hllForWrite(c, r); !ok {
			return
		}
		b = orig
	}
	sparseMax := c.srv.hllSparseMax()
	for _, ele := range c.argv[2:] {
		nb, changed, err := hll.Add(b, ele, sparseMax)
		b = nb
		if err != nil {
			storeHLL(c, r, orig, b)
			c.w.Error(errCorruptHLL)
			return
		}
		if changed {
			updated++
		}
	}
	if updated > 0 {
		hll.Invalidate(b)
	}
	storeHLL(c, r, orig, b)
	if updated > 0 {
		c.srv.notifyKeyspace(notifyString, "pfadd", key, c.db.id)
		c.srv.dirty += int64(updated)
		c.w.Int(1)
		return
	}
	c.w.Int(0)
}

func pfcountCommand(c *Client) {
	if len(c.argv) > 2 {
		// The union of several keys is computed in a scratch register array and cached
		// nowhere.
		var regs [hll.Registers]uint8
		for _, key := range c.argv[1:] {
			r, found := c.db.lookupRead(key)
			if !found {
				continue
			}
			b, ok := hllForRead(c, r)
			if !ok {
				return
			}
			if hll.Merge(&regs, b) != nil {
				c.w.Error(errCorruptHLL)
				return
			}
		}
		c.w.Int(int64(hll.CountRegisters(&regs)))
		return
	}
	key := c.argv[1]
	r, found := c.db.lookupWrite(key)
	if !found {
		c.w.Int(0)
		return
	}
	b, ok := hllForWrite(c, r)
	if !ok {
		return
	}
	if card, valid := hll.CachedCard(b); valid {
		c.w.Int(int64(card))
		return
	}
	card, err := hll.Count(b)
	if err != nil {
		c.w.Error(errCorruptHLL)
		return
	}
	hll.SetCachedCard(b, card)
	c.srv.dirty++
	// PFCOUNT is not flagged write, yet Redis propagates it when it refreshes the cache so
	// that replicas hold the same bytes.
	c.srv.prop.command(c.db.id, c.argv, nil)
	c.w.Int(int64(card))
}

func pfmergeCommand(c *Client) {
	var regs [hll.Registers]uint8
	useDense := false
	// The destination is also the first source, as in Redis.
	for _, key := range c.argv[1:] {
		r, found := c.db.lookupRead(key)
		if !found {
			continue
		}
		b, ok := hllForRead(c, r)
		if !ok {
			return
		}
		if hll.IsDense(b) {
			useDense = true
		}
		if hll.Merge(&regs, b) != nil {
			c.w.Error(errCorruptHLL)
			return
		}
	}
	key := c.argv[1]
	r, found := c.db.lookupWrite(key)
	var orig, b []byte
	if !found {
		r = c.db.setString(key, hll.New(), encRaw, false)
	} else {
		c.db.ks.SetEnc(r, encRaw)
	}
	orig = c.db.ks.StrForUpdate(r, len(c.db.ks.Str(r)))
	b = orig
	if useDense {
		d, err := hll.ToDense(b)
		if err != nil {
			c.w.Error(errCorruptHLL)
			return
		}
		b = d
	}
	sparseMax := c.srv.hllSparseMax()
	for i, v := range regs {
		if v == 0 {
			continue
		}
		// Redis ignores a failure here: the sources were validated above.
		b, _, _ = hll.Set(b, i, v, sparseMax)
	}
	hll.Invalidate(b)
	storeHLL(c, r, orig, b)
	// PFMERGE fires "pfadd": in effect a mass add.
	c.srv.notifyKeyspace(notifyString, "pfadd", key, c.db.id)
	c.srv.dirty++
	c.w.OK()
}

func pfdebugCommand(c *Client) {
	sub, key := c.argv[1], c.argv[2]
	r, found := c.db.lookupWrite(key)
	if !found {
		c.w.Error("ERR The specified key does not exist")
		return
	}
	orig, ok := hllForWrite(c, r)
	if !ok {
		return
	}
	b := orig
	switch {
	case argEq(sub, "getreg"):
		if !hll.IsDense(b) {
			d, err := hll.ToDense(b)
			if err != nil {
				c.w.Error(errCorruptHLL)
				return
			}
			storeHLL(c, r, orig, d)
			b = d
			c.srv.dirty++ // propagates the change of encoding
		}
		regs := hll.DenseRegisters(b)
		c.w.Array(len(regs))
		for _, v := range regs {
			c.w.Int(int64(v))
		}
	case argEq(sub, "decode"):
		if hll.IsDense(b) {
			c.w.Error("ERR HLL encoding is not sparse")
			return
		}
		c.w.BulkString(hll.Decode(b))
	case argEq(sub, "encoding"):
		if hll.IsDense(b) {
			c.w.Status("dense")
		} else {
			c.w.Status("sparse")
		}
	case argEq(sub, "todense"):
		if hll.IsDense(b) {
			c.w.Int(0)
			return
		}
		d, err := hll.ToDense(b)
		if err != nil {
			c.w.Error(errCorruptHLL)
			return
		}
		storeHLL(c, r, orig, d)
		c.srv.dirty++
		c.w.Int(1)
	default:
		c.w.Error("ERR Unknown PFDEBUG subcommand '" + string(cString(sub)) + "'")
	}
}

// pfselftestCommand checks the register encodings and the estimator on this build; it
// replies OK or the first problem found.
func pfselftestCommand(c *Client) {
	if err := hll.SelfTest(); err != nil {
		c.w.Error(err.Error())
		return
	}
	c.w.OK()
}

func init() {
	register(map[string]func(*Client){
		"pfadd":      pfaddCommand,
		"pfcount":    pfcountCommand,
		"pfmerge":    pfmergeCommand,
		"pfdebug":    pfdebugCommand,
		"pfselftest": pfselftestCommand,
	})
}
