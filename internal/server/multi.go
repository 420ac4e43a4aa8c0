package server

// Transactions: MULTI, EXEC, DISCARD, WATCH and UNWATCH, and the watched-keys table that
// every modification of a key is checked against (signalModifiedKey).

const (
	errExecAbort      = "EXECABORT Transaction discarded because of previous errors."
	errNotInMulti     = "ERR Command not allowed inside a transaction"
	errWatchInMulti   = "ERR WATCH inside MULTI is not allowed"
	errExecNoMulti    = "ERR EXEC without MULTI"
	errDiscardNoMulti = "ERR DISCARD without MULTI"
)

// watcher is one client watching one key of one database.
type watcher struct {
	c   *Client
	db  int
	key string
	// expired: the key was present but already past its TTL when WATCH ran. Its deletion is
	// then not a change (Redis 7.0), anything else is.
	expired bool
}

// clientWatch is what one client watches, and whether a change already doomed its EXEC
// (Redis's CLIENT_DIRTY_CAS).
type clientWatch struct {
	keys  []*watcher
	dirty bool
}

// watchTable indexes watchers by database and key, and by client. Both indexes live under
// the server lock.
type watchTable struct {
	byKey    []map[string][]*watcher // by database id
	byClient map[*Client]*clientWatch
}

func (t *watchTable) clientState(c *Client) *clientWatch {
	if t.byClient == nil {
		return nil
	}
	return t.byClient[c]
}

// signalModifiedKey is called whenever a key's value, TTL or existence changes. It is the
// single hook for WATCH (and, later, client-side caching); notifyKeyspace calls it for every
// modification event, so handlers that fire their keyspace event need not call it.
func (s *Server) signalModifiedKey(dbid int, key []byte) {
	s.trackingInvalidateKey(key)
	t := &s.watch
	if len(t.byClient) == 0 || dbid >= len(t.byKey) || t.byKey[dbid] == nil {
		return
	}
	ws := t.byKey[dbid][string(key)]
	if len(ws) == 0 {
		return
	}
	var present bool
	checked := false
	for _, w := range ws {
		if w.expired {
			if !checked {
				_, present = s.dbs[dbid].ks.Lookup(key)
				checked = true
			}
			if !present {
				// The key already expired at WATCH time is gone now: logically no change.
				w.expired = false
				continue
			}
		}
		if cw := t.byClient[w.c]; cw != nil {
			cw.dirty = true
		}
	}
}

// touchAllWatched marks the watchers of emptied's keys as changed before FLUSHDB, FLUSHALL
// or SWAPDB replaces its contents with replacedWith's (nil: with nothing). Keys absent from
// both are unaffected, as in Redis.
func (s *Server) touchAllWatched(emptied, replacedWith *DB) {
	t := &s.watch
	if len(t.byClient) == 0 || emptied.id >= len(t.byKey) {
		return
	}
	for key, ws := range t.byKey[emptied.id] {
		k := []byte(key)
		_, inEmptied := emptied.ks.Lookup(k)
		var inReplaced, replacedExpired bool
		if replacedWith != nil {
			var r = replacedWith.ks
			if ref, ok := r.Lookup(k); ok {
				inReplaced = true
				replacedExpired = replacedWith.expired(ref)
			}
		}
		if !inEmptied && !inReplaced {
			continue
		}
		for _, w := range ws {
			if w.expired {
				if !inReplaced {
					w.expired = false // the expired key is deleted: no logical change
					continue
				}
				if replacedExpired {
					continue // an expired key remains expired
				}
			} else if !inEmptied && replacedExpired {
				w.expired = true // a missing key is replaced by an expired one
				continue
			}
			if cw := t.byClient[w.c]; cw != nil {
				cw.dirty = true
			}
		}
	}
}

// watchKey adds key of c's database to what c watches.
func (s *Server) watchKey(c *Client, key []byte) {
	t := &s.watch
	if t.byClient == nil {
		t.byClient = make(map[*Client]*clientWatch)
	}
	if len(t.byKey) < len(s.dbs) {
		t.byKey = append(t.byKey, make([]map[string][]*watcher, len(s.dbs)-len(t.byKey))...)
	}
	cw := t.byClient[c]
	if cw == nil {
		cw = &clientWatch{}
		t.byClient[c] = cw
	}
	for _, w := range cw.keys {
		if w.db == c.db.id && w.key == string(key) {
			return
		}
	}
	w := &watcher{c: c, db: c.db.id, key: string(key)}
	if r, ok := c.db.ks.Lookup(key); ok && c.db.expired(r) {
		w.expired = true
	}
	cw.keys = append(cw.keys, w)
	m := t.byKey[w.db]
	if m == nil {
		m = make(map[string][]*watcher)
		t.byKey[w.db] = m
	}
	m[w.key] = append(m[w.key], w)
}

// unwatchAll forgets every key c watches and its dirty state.
func (s *Server) unwatchAll(c *Client) {
	t := &s.watch
	cw := t.clientState(c)
	if cw == nil {
		return
	}
	for _, w := range cw.keys {
		m := t.byKey[w.db]
		ws := m[w.key]
		for i, x := range ws {
			if x == w {
				ws = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(ws) == 0 {
			delete(m, w.key)
		} else {
			m[w.key] = ws
		}
	}
	delete(t.byClient, c)
}

// watchedKeyExpired reports whether a key c watches has passed its TTL since WATCH without
// being deleted yet: Redis 7.0 aborts EXEC then too.
func (s *Server) watchedKeyExpired(cw *clientWatch) bool {
	for _, w := range cw.keys {
		if w.expired {
			continue
		}
		db := s.dbs[w.db]
		if r, ok := db.ks.Lookup([]byte(w.key)); ok && db.expired(r) {
			return true
		}
	}
	return false
}

// queueMulti records a command for EXEC. Once the transaction is doomed nothing more is kept,
// but the client still gets QUEUED, as in Redis.
func (s *Server) queueMulti(c *Client, cmd *Command) {
	if !c.multiErr {
		if cw := s.watch.clientState(c); cw == nil || !cw.dirty {
			argv := make([][]byte, len(c.argv))
			for i, a := range c.argv {
				argv[i] = append([]byte(nil), a...)
			}
			c.multiQ = append(c.multiQ, queuedCmd{cmd: cmd, argv: argv})
		}
	}
	c.w.Status("QUEUED")
}

// discardTransaction ends c's transaction, queued commands and watches included.
func (s *Server) discardTransaction(c *Client) {
	c.multiQ = nil
	c.multiErr = false
	c.flags &^= flagMulti
	s.unwatchAll(c)
}

func multiCommand(c *Client) {
	if c.flags&flagMulti != 0 {
		c.w.Error(errMultiNested)
		return
	}
	c.flags |= flagMulti
	c.w.OK()
}

func discardCommand(c *Client) {
	if c.flags&flagMulti == 0 {
		c.w.Error(errDiscardNoMulti)
		return
	}
	c.srv.discardTransaction(c)
	c.w.OK()
}

func execCommand(c *Client) {
	s := c.srv
	if c.flags&flagMulti == 0 {
		c.w.Error(errExecNoMulti)
		return
	}
	cw := s.watch.clientState(c)
	if cw != nil && !cw.dirty && s.watchedKeyExpired(cw) {
		cw.dirty = true
	}
	if c.multiErr || (cw != nil && cw.dirty) {
		if c.multiErr {
			c.w.Error(errExecAbort)
		} else {
			c.w.NullArray()
		}
		s.discardTransaction(c)
		return
	}
	// Unwatch before running: the transaction's own writes must not count as changes.
	s.unwatchAll(c)
	queue := c.multiQ
	origArgv, origCmd := c.argv, c.cmd
	// The effects go out as one MULTI ... EXEC block when there is more than one of them.
	s.prop.beginBlock()
	c.w.Array(len(queue))
	for _, q := range queue {
		c.argv, c.cmd = q.argv, q.cmd
		s.call(c, q.cmd)
	}
	s.prop.endBlock()
	c.argv, c.cmd = origArgv, origCmd
	s.discardTransaction(c)
}

func watchCommand(c *Client) {
	if c.flags&flagMulti != 0 {
		c.w.Error(errWatchInMulti)
		return
	}
	for _, key := range c.argv[1:] {
		c.srv.watchKey(c, key)
	}
	c.w.OK()
}

func unwatchCommand(c *Client) {
	c.srv.unwatchAll(c)
	c.w.OK()
}

func init() {
	register(map[string]func(*Client){
		"multi":   multiCommand,
		"exec":    execCommand,
		"discard": discardCommand,
		"watch":   watchCommand,
		"unwatch": unwatchCommand,
	})
}

// watchDirty reports whether a change to a key c watches already dooms its EXEC (the 'd'
// flag of CLIENT LIST).
func (s *Server) watchDirty(c *Client) bool {
	cw := s.watch.clientState(c)
	return cw != nil && cw.dirty
}
