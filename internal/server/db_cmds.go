package server

import "github.com/sard-kv/sard/internal/keyspace"

// Database commands: DBSIZE, SWAPDB, MOVE, FLUSHDB and FLUSHALL.

const (
	errSwapDBCluster = "ERR SWAPDB is not allowed in cluster mode"
	errMoveCluster   = "ERR MOVE is not allowed in cluster mode"
	errSwapDBFirst   = "ERR invalid first DB index"
	errSwapDBSecond  = "ERR invalid second DB index"
)

func dbsizeCommand(c *Client) { c.w.Int(int64(c.db.ks.Len())) }

func swapdbCommand(c *Client) {
	if c.srv.cfgBool("cluster-enabled") {
		c.w.Error(errSwapDBCluster)
		return
	}
	id1, ok := parseInt32(c, c.argv[1], errSwapDBFirst)
	if !ok {
		return
	}
	id2, ok := parseInt32(c, c.argv[2], errSwapDBSecond)
	if !ok {
		return
	}
	n := len(c.srv.dbs)
	if id1 < 0 || id1 >= n || id2 < 0 || id2 >= n {
		c.w.Error(errDBIndex)
		return
	}
	a, b := c.srv.dbs[id1], c.srv.dbs[id2]
	// The DB values stay put, so every client that selected one of them sees the swap.
	c.srv.touchAllWatched(a, b)
	c.srv.touchAllWatched(b, a)
	keyspace.Swap(a.ks, b.ks)
	a.avgTTL, b.avgTTL = b.avgTTL, a.avgTTL
	c.srv.dirty++
	c.w.OK()
}

func moveCommand(c *Client) {
	if c.srv.cfgBool("cluster-enabled") {
		c.w.Error(errMoveCluster)
		return
	}
	id, ok := parseInt32(c, c.argv[2], "")
	if !ok {
		return
	}
	if id < 0 || id >= len(c.srv.dbs) {
		c.w.Error(errDBIndex)
		return
	}
	src, dst := c.db, c.srv.dbs[id]
	if src == dst {
		c.w.Error(errSameObject)
		return
	}
	key := c.argv[1]
	r, ok := src.lookupWrite(key)
	if !ok {
		c.w.Int(0)
		return
	}
	if _, exists := dst.lookupWrite(key); exists {
		c.w.Int(0)
		return
	}
	// The value moves as it is: same encoding, TTL and access clock.
	sk, dk := src.ks, dst.ks
	typ, enc, at, clock := sk.Type(r), sk.Enc(r), sk.ExpireAt(r), sk.Clock(r)
	var nr keyspace.Ref
	if typ == keyspace.TypeString {
		nr, _ = dk.SetString(key, keySlot(key), sk.Str(r), enc, false)
	} else {
		nr, _ = dk.SetObj(key, keySlot(key), typ, enc, sk.Obj(r), false)
	}
	dk.SetClock(nr, clock)
	c.srv.notifyKeyspace(notifyNew, "new", key, dst.id)
	if at != keyspace.NoExpire {
		dk.SetExpireAt(nr, at)
	}
	sk.DeleteRef(r)
	c.srv.notifyKeyspace(notifyGeneric, "move_from", key, src.id)
	c.srv.notifyKeyspace(notifyGeneric, "move_to", key, dst.id)
	c.srv.dirty++
	c.w.Int(1)
}

// parseFlushMode accepts FLUSHDB/FLUSHALL's optional ASYNC or SYNC. Both free memory the same
// way: a keyspace is dropped in a few large pieces, so there is nothing to defer.
func parseFlushMode(c *Client) bool {
	if len(c.argv) == 1 || (len(c.argv) == 2 && (argEq(c.argv[1], "async") || argEq(c.argv[1], "sync"))) {
		return true
	}
	c.w.Error(errSyntax)
	return false
}

// flushDB empties one database and returns how many keys it held.
func flushDB(db *DB) int64 {
	n := int64(db.ks.Len())
	db.srv.touchAllWatched(db, nil)
	db.ks.Clear()
	db.avgTTL = 0
	return n
}

func flushdbCommand(c *Client) {
	if !parseFlushMode(c) {
		return
	}
	n := flushDB(c.db)
	c.srv.trackingInvalidateAll()
	c.srv.dirty += n
	if n == 0 {
		// Redis forces propagation: FLUSHDB of an empty DB still reaches the AOF and replicas.
		c.srv.prop.command(c.db.id, c.argv, nil)
	}
	c.w.OK()
}

func flushallCommand(c *Client) {
	if !parseFlushMode(c) {
		return
	}
	var n int64
	for _, db := range c.srv.dbs {
		n += flushDB(db)
	}
	c.srv.trackingInvalidateAll()
	// The extra increment makes FLUSHALL count as a change even on empty databases, so it
	// is propagated and the save points fire afterwards.
	c.srv.dirty += n + 1
	c.srv.afterFlushAll(c)
	c.w.OK()
}

func init() {
	register(map[string]func(*Client){
		"dbsize":   dbsizeCommand,
		"swapdb":   swapdbCommand,
		"move":     moveCommand,
		"flushdb":  flushdbCommand,
		"flushall": flushallCommand,
	})
}
