package server

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"

	"github.com/sard-kv/sard/internal/commands"
	"github.com/sard-kv/sard/internal/num"
)

// Client-side caching (CLIENT TRACKING): the keys each tracking client read, the prefixes
// BCAST clients watch, and the invalidation messages sent when those keys change. The
// tables are global, not per database, as in Redis: a key name is invalidated whichever
// database it changed in.

const (
	errTrackingPrefixNoBcast = "ERR PREFIX option requires BCAST mode to be enabled"
	errTrackingBcastSwitch   = "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode."
	errTrackingBcastOpt      = "ERR OPTIN and OPTOUT are not compatible with BCAST"
	errTrackingOptBoth       = "ERR You can't specify both OPTIN mode and OPTOUT mode"
	errTrackingOptSwitch     = "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode."
	errTrackingRedirMissing  = "ERR The client ID you want redirect to does not exist"
	errTrackingPrefixOverlap = "ERR Prefix '%s' overlaps with an existing prefix '%s'. Prefixes for a single client must not overlap."
	errTrackingPrefixSelf    = "ERR Prefix '%s' overlaps with another provided prefix '%s'. Prefixes for a single client must not overlap."
	errCachingNotTracking    = "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"
	errCachingYes            = "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."
	errCachingNo             = "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."
)

// Per-client tracking flags.
const (
	trackOn = 1 << iota
	trackBcast
	trackOptin
	trackOptout
	trackNoloop
	trackCaching     // CLIENT CACHING YES (optin) or NO (optout) applies to the next command
	trackBrokenRedir // the redirect target went away
)

// clientTracking is one client's tracking settings; nil until it first enables tracking.
type clientTracking struct {
	flags    int
	redirect int64               // 0: none; kept after TRACKING OFF, as Redis does
	prefixes map[string]struct{} // BCAST prefixes
}

// idSet holds the ids of the clients that read one key: a slice while small, since most
// keys are cached by few clients, a map once many clients share a hot key.
type idSet struct {
	small []int64
	big   map[int64]struct{}
}

const idSetSmallMax = 16

func (s *idSet) add(id int64) bool {
	if s.big != nil {
		if _, ok := s.big[id]; ok {
			return false
		}
		s.big[id] = struct{}{}
		return true
	}
	if slices.Contains(s.small, id) {
		return false
	}
	if len(s.small) < idSetSmallMax {
		s.small = append(s.small, id)
		return true
	}
	s.big = make(map[int64]struct{}, 2*idSetSmallMax)
	for _, x := range s.small {
		s.big[x] = struct{}{}
	}
	s.small = nil
	s.big[id] = struct{}{}
	return true
}

func (s *idSet) len() int {
	if s.big != nil {
		return len(s.big)
	}
	return len(s.small)
}

func (s *idSet) each(fn func(id int64)) {
	if s.big != nil {
		for id := range s.big {
			fn(id)
		}
		return
	}
	for _, id := range s.small {
		fn(id)
	}
}

// bcastPrefix is one prefix some BCAST clients watch: its clients, and the keys under it
// modified since the last broadcast with the client that last modified each (nil when the
// server did: expiry, eviction), so that NOLOOP clients can be spared their own changes.
type bcastPrefix struct {
	clients map[*Client]struct{}
	keys    map[string]*Client
}

// pendingInvalidation is an invalidation for the client whose command is running, held until
// its reply is written; flush stands for the null invalidation of FLUSHDB/FLUSHALL.
type pendingInvalidation struct {
	key   []byte
	flush bool
}

// trackingState is the server-wide tracking state, under the server lock.
type trackingState struct {
	clients  int // clients with tracking on (INFO tracking_clients)
	table    map[string]*idSet
	items    int64 // sum of the id sets' sizes (INFO tracking_total_items)
	prefixes map[string]*bcastPrefix

	// top is the client whose command is running at top level (Redis's current_client): its
	// own invalidations wait in pending for its reply, and NOLOOP spares it.
	top        *Client
	pending    []pendingInvalidation
	pendingFor *Client
	afterReply bool // top's reply is complete: messages for it may follow in its buffer

	// serverChange marks the modification being signalled as the server's own (expiry,
	// eviction): BCAST attributes it to nobody.
	serverChange bool
	// evictRuns counts the consecutive passes that could not bring the table under
	// tracking-table-max-keys; each pass tries harder.
	evictRuns int
	buf       []byte
}

// --- enabling and disabling -------------------------------------------------------------------

func (s *Server) enableTracking(c *Client, redirect int64, opts int, prefixes [][]byte) {
	t := &s.trk
	if c.trk == nil {
		c.trk = &clientTracking{}
	}
	ct := c.trk
	if ct.flags&trackOn == 0 {
		t.clients++
	}
	ct.flags |= trackOn
	ct.flags &^= trackBrokenRedir | trackBcast | trackOptin | trackOptout | trackNoloop
	ct.redirect = redirect
	if t.table == nil {
		t.table = make(map[string]*idSet)
		t.prefixes = make(map[string]*bcastPrefix)
	}
	if opts&trackBcast != 0 {
		ct.flags |= trackBcast
		if len(prefixes) == 0 {
			s.addBcastPrefix(c, nil)
		}
		for _, p := range prefixes {
			s.addBcastPrefix(c, p)
		}
	}
	ct.flags |= opts & (trackOptin | trackOptout | trackNoloop)
}

func (s *Server) addBcastPrefix(c *Client, prefix []byte) {
	bp := s.trk.prefixes[string(prefix)]
	if bp == nil {
		bp = &bcastPrefix{clients: make(map[*Client]struct{}), keys: make(map[string]*Client)}
		s.trk.prefixes[string(prefix)] = bp
	}
	if _, ok := bp.clients[c]; ok {
		return
	}
	bp.clients[c] = struct{}{}
	if c.trk.prefixes == nil {
		c.trk.prefixes = make(map[string]struct{})
	}
	c.trk.prefixes[string(prefix)] = struct{}{}
}

// disableTracking turns tracking off for c (TRACKING OFF, RESET, disconnection). The ids it
// left in the key table stay there until those keys are invalidated, as in Redis.
func (s *Server) disableTracking(c *Client) {
	ct := c.trk
	if ct == nil {
		return
	}
	if ct.flags&trackBcast != 0 {
		for p := range ct.prefixes {
			if bp := s.trk.prefixes[p]; bp != nil {
				delete(bp.clients, c)
				if len(bp.clients) == 0 {
					delete(s.trk.prefixes, p)
				}
			}
		}
		ct.prefixes = nil
	}
	if ct.flags&trackOn != 0 {
		s.trk.clients--
		ct.flags &^= trackOn | trackBrokenRedir | trackBcast | trackOptin | trackOptout | trackCaching | trackNoloop
	}
}

// --- remembering keys ---------------------------------------------------------------------------

// trackingEnter runs before every command execution: a top-level one makes c the current
// client for tracking.
func (s *Server) trackingEnter(c *Client, top bool) {
	if top {
		s.trk.top = c
	}
}

// trackingExit runs after every command execution: the keys of a read-only command are
// remembered for the top-level client if it tracks them (for a script, the keys of the
// commands it runs, on behalf of its caller).
func (s *Server) trackingExit(c *Client, cmd *Command, top bool) {
	t := &s.trk
	caller := t.top
	if top {
		t.top = nil
	}
	if t.clients == 0 || caller == nil || caller.trk == nil || cmd.Spec.Flags&commands.FlagReadOnly == 0 {
		return
	}
	ct := caller.trk
	if ct.flags&trackOn == 0 || ct.flags&trackBcast != 0 {
		return
	}
	switch cmd.FullName {
	case "eval_ro", "evalsha_ro", "fcall_ro":
		return // the commands the script runs are what it reads
	}
	caching := ct.flags&trackCaching != 0
	if (ct.flags&trackOptin != 0 && !caching) || (ct.flags&trackOptout != 0 && caching) {
		return
	}
	refs, err := cmd.Spec.GetKeysAndFlags(c.argv)
	if err != nil {
		return
	}
	for _, r := range refs {
		key := c.argv[r.Pos]
		set := t.table[string(key)]
		if set == nil {
			set = &idSet{}
			t.table[string(key)] = set
		}
		if set.add(caller.id) {
			t.items++
		}
	}
}

// trackingAfterRequest runs after each request of a batch: the invalidations held for the
// client are written after its reply, and CLIENT CACHING's one-command effect ends, unless
// the request was a CLIENT subcommand or is queued in a transaction.
func (s *Server) trackingAfterRequest(c *Client) {
	if t := &s.trk; len(t.pending) > 0 {
		// the reply is in c's buffer now, CLIENT REPLY OFF or not: what follows goes after it
		t.top, t.afterReply = c, true
		s.flushPendingInvalidations()
		t.top, t.afterReply = nil, false
	}
	ct := c.trk
	if ct == nil || ct.flags&trackCaching == 0 || c.flags&flagMulti != 0 {
		return
	}
	if len(c.argv) > 0 {
		if cmd, unknownSub := s.lookupCommand(c.argv); cmd != nil && !unknownSub &&
			(cmd.FullName == "client" || (cmd.Parent != nil && cmd.Parent.FullName == "client")) {
			return
		}
	}
	ct.flags &^= trackCaching
}

func (s *Server) flushPendingInvalidations() {
	t := &s.trk
	c := t.pendingFor
	pending := t.pending
	t.pending, t.pendingFor = t.pending[:0], nil
	for _, p := range pending {
		if p.flush {
			s.sendTrackingMessage(c, nullPayload(c.w.Proto))
		} else {
			s.sendTrackingMessage(c, s.keyPayload(p.key))
		}
	}
}

func nullPayload(proto int) []byte {
	if proto >= 3 {
		return []byte("_\r\n")
	}
	return []byte("$-1\r\n")
}

// keyPayload encodes a one-key invalidation array.
func (s *Server) keyPayload(key []byte) []byte {
	b := append(s.trk.buf[:0], "*1\r\n"...)
	b = appendBulk(b, key)
	s.trk.buf = b
	return b
}

// --- invalidation -------------------------------------------------------------------------------

// trackingInvalidateKey is called for every modified key (from signalModifiedKey): the
// clients that read it are told, and BCAST prefixes matching it collect it for the next
// broadcast.
func (s *Server) trackingInvalidateKey(key []byte) {
	t := &s.trk
	byServer := t.serverChange
	t.serverChange = false
	if len(t.table) == 0 && len(t.prefixes) == 0 {
		return
	}
	if len(t.prefixes) > 0 {
		modifier := s.curClient
		if byServer {
			modifier = nil
		}
		for p, bp := range t.prefixes {
			if bytes.HasPrefix(key, []byte(p)) {
				bp.keys[string(key)] = modifier
			}
		}
	}
	s.invalidateTrackedKey(key)
}

// invalidateTrackedKey sends the invalidation of key to every client that read it and forgets
// them: they read it again to be told of the next change.
func (s *Server) invalidateTrackedKey(key []byte) {
	t := &s.trk
	set := t.table[string(key)]
	if set == nil {
		return
	}
	delete(t.table, string(key))
	t.items -= int64(set.len())
	set.each(func(id int64) {
		target := s.clients[id]
		// a client that switched to BCAST since it read the key gets nothing for it
		if target == nil || target.trk == nil || target.trk.flags&trackOn == 0 || target.trk.flags&trackBcast != 0 {
			return
		}
		if target == t.top {
			if target.trk.flags&trackNoloop != 0 {
				return
			}
			s.addPending(target, pendingInvalidation{key: append([]byte(nil), key...)})
			return
		}
		s.sendTrackingMessage(target, s.keyPayload(key))
	})
}

func (s *Server) addPending(c *Client, p pendingInvalidation) {
	t := &s.trk
	if t.pendingFor != nil && t.pendingFor != c {
		s.flushPendingInvalidations()
	}
	t.pendingFor = c
	t.pending = append(t.pending, p)
}

// trackingInvalidateAll tells every tracking client, BCAST and NOLOOP ones included, that
// everything changed (FLUSHDB, FLUSHALL: a null invalidation) and empties the key table.
func (s *Server) trackingInvalidateAll() {
	t := &s.trk
	if t.clients > 0 {
		for _, c := range s.sortedClients() {
			if c.trk == nil || c.trk.flags&trackOn == 0 {
				continue
			}
			if c == t.top {
				s.addPending(c, pendingInvalidation{flush: true})
			} else {
				s.sendTrackingMessage(c, nullPayload(c.w.Proto))
			}
		}
	}
	if t.table != nil {
		clear(t.table)
		t.items = 0
	}
}

// sendTrackingMessage delivers an invalidation with the given payload (the array of keys, or
// a null) for tracking client c: to c itself in RESP3, or to its redirect target, as a push
// in RESP3 or as a __redis__:invalidate message to a RESP2 target in pub/sub mode. Anything
// else has no way to carry it and gets nothing.
func (s *Server) sendTrackingMessage(c *Client, payload []byte) {
	target, redirected := c, false
	if c.trk != nil && c.trk.redirect != 0 {
		r := s.clients[c.trk.redirect]
		if r == nil || r.closed.Load() || r.flags&flagCloseAfterReply != 0 {
			c.trk.flags |= trackBrokenRedir
			if c.w.Proto >= 3 {
				b := append([]byte(nil), ">2\r\n$21\r\ntracking-redir-broken\r\n:"...)
				b = strconv.AppendInt(b, c.trk.redirect, 10)
				b = append(b, '\r', '\n')
				s.deliverTracking(c, b)
			}
			return
		}
		target, redirected = r, true
	}
	var b []byte
	switch {
	case target.w.Proto >= 3:
		b = append(b, ">2\r\n$10\r\ninvalidate\r\n"...)
	case redirected && target.flags&flagPubSub != 0:
		b = append(b, "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n"...)
	default:
		return
	}
	s.deliverTracking(target, append(b, payload...))
}

// deliverTracking writes msg to target: among the replies of the batch being executed when
// target is the running client, where Redis puts it, otherwise to its connection now.
func (s *Server) deliverTracking(target *Client, msg []byte) {
	// A push reaches a client even under CLIENT REPLY OFF, whose replies are dropped.
	if target == s.trk.top {
		start := len(target.w.Buf)
		target.w.Raw(msg)
		if !s.trk.afterReply {
			s.notePush(target, start)
		}
		return
	}
	target.push(msg)
}

// trackingBeforeSleep runs once per batch and per cron tick, as Redis's beforeSleep: BCAST
// clients get the keys modified meanwhile, and the key table is brought back under
// tracking-table-max-keys.
func (s *Server) trackingBeforeSleep() {
	t := &s.trk
	if len(t.pending) > 0 {
		s.flushPendingInvalidations()
	}
	if t.clients > 0 && len(t.prefixes) > 0 {
		s.trackingBroadcast()
	}
	if len(t.table) > 0 {
		s.trackingLimitKeys()
	}
}

// trackingBroadcast sends each prefix's modified keys, sorted, to its clients, sparing NOLOOP
// clients the keys they modified themselves.
func (s *Server) trackingBroadcast() {
	t := &s.trk
	var names []string
	for p, bp := range t.prefixes {
		if len(bp.keys) > 0 {
			names = append(names, p)
		}
	}
	if len(names) == 0 {
		return
	}
	slices.Sort(names)
	for _, p := range names {
		bp := t.prefixes[p]
		keys := make([]string, 0, len(bp.keys))
		for k := range bp.keys {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var common []byte
		for c := range bp.clients {
			if c.trk.flags&trackNoloop != 0 {
				if own := bcastPayload(nil, keys, bp.keys, c); own != nil {
					s.sendTrackingMessage(c, own)
				}
				continue
			}
			if common == nil {
				common = bcastPayload(nil, keys, nil, nil)
			}
			s.sendTrackingMessage(c, common)
		}
		clear(bp.keys)
	}
}

// bcastPayload encodes keys as an array, leaving out those last modified by skip (when
// modifiers is given); nil when nothing is left.
func bcastPayload(b []byte, keys []string, modifiers map[string]*Client, skip *Client) []byte {
	n := len(keys)
	if modifiers != nil {
		for _, k := range keys {
			if modifiers[k] == skip {
				n--
			}
		}
	}
	if n == 0 {
		return nil
	}
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, '\r', '\n')
	for _, k := range keys {
		if modifiers != nil && modifiers[k] == skip {
			continue
		}
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(k)), 10)
		b = append(b, '\r', '\n')
		b = append(b, k...)
		b = append(b, '\r', '\n')
	}
	return b
}

// trackingLimitKeys invalidates random keys while the table holds more than
// tracking-table-max-keys, with an effort that grows while it keeps failing, as Redis does.
func (s *Server) trackingLimitKeys() {
	t := &s.trk
	maxKeys := s.cfgInt("tracking-table-max-keys")
	if maxKeys <= 0 {
		return
	}
	if int64(len(t.table)) <= maxKeys {
		t.evictRuns = 0
		return
	}
	for effort := 100 * (t.evictRuns + 1); effort > 0; effort-- {
		var victim string
		for k := range t.table { // map iteration starts at a random key
			victim = k
			break
		}
		s.invalidateTrackedKey([]byte(victim))
		if int64(len(t.table)) <= maxKeys {
			t.evictRuns = 0
			return
		}
	}
	t.evictRuns++
}

// --- commands -----------------------------------------------------------------------------------

func clientTrackingCommand(c *Client) {
	s := c.srv
	var redirect int64
	var opts int
	var prefixes [][]byte
	for j := 3; j < len(c.argv); j++ {
		more := j+1 < len(c.argv)
		arg := c.argv[j]
		switch {
		case argEq(arg, "redirect") && more:
			j++
			if redirect != 0 {
				c.w.Error("ERR A client can only redirect to a single other client")
				return
			}
			id, ok := num.ParseInt64(c.argv[j])
			if !ok {
				c.w.Error(errNotInt)
				return
			}
			// the target must exist now, even though it may disconnect later
			if o := s.clients[id]; o == nil || o.closed.Load() {
				c.w.Error(errTrackingRedirMissing)
				return
			}
			redirect = id
		case argEq(arg, "bcast"):
			opts |= trackBcast
		case argEq(arg, "optin"):
			opts |= trackOptin
		case argEq(arg, "optout"):
			opts |= trackOptout
		case argEq(arg, "noloop"):
			opts |= trackNoloop
		case argEq(arg, "prefix") && more:
			j++
			prefixes = append(prefixes, c.argv[j])
		default:
			c.w.Error(errSyntax)
			return
		}
	}
	switch {
	case argEq(c.argv[2], "on"):
	case argEq(c.argv[2], "off"):
		s.disableTracking(c)
		c.w.OK()
		return
	default:
		c.w.Error(errSyntax)
		return
	}
	cur := 0
	if c.trk != nil {
		cur = c.trk.flags
	}
	switch {
	case opts&trackBcast == 0 && len(prefixes) > 0:
		c.w.Error(errTrackingPrefixNoBcast)
		return
	case cur&trackOn != 0 && (cur&trackBcast != 0) != (opts&trackBcast != 0):
		c.w.Error(errTrackingBcastSwitch)
		return
	case opts&trackBcast != 0 && opts&(trackOptin|trackOptout) != 0:
		c.w.Error(errTrackingBcastOpt)
		return
	case opts&trackOptin != 0 && opts&trackOptout != 0:
		c.w.Error(errTrackingOptBoth)
		return
	case (opts&trackOptin != 0 && cur&trackOptout != 0) || (opts&trackOptout != 0 && cur&trackOptin != 0):
		c.w.Error(errTrackingOptSwitch)
		return
	}
	if opts&trackBcast != 0 && !checkPrefixCollisions(c, prefixes) {
		return
	}
	s.enableTracking(c, redirect, opts, prefixes)
	c.w.OK()
}

// checkPrefixCollisions refuses prefixes that overlap (one is a prefix of the other) an
// existing prefix of c or another given one. It reports whether tracking may be enabled.
func checkPrefixCollisions(c *Client, prefixes [][]byte) bool {
	var existing []string
	if c.trk != nil {
		for p := range c.trk.prefixes {
			existing = append(existing, p)
		}
		slices.Sort(existing)
	}
	for i, p := range prefixes {
		for _, e := range existing {
			if prefixesOverlap(p, []byte(e)) {
				c.w.Error(fmt.Sprintf(errTrackingPrefixOverlap, cString(p), cString([]byte(e))))
				return false
			}
		}
		for _, q := range prefixes[i+1:] {
			if prefixesOverlap(p, q) {
				c.w.Error(fmt.Sprintf(errTrackingPrefixSelf, cString(p), cString(q)))
				// Redis 7.0 quirk: past the first given prefix this overlap is reported and
				// then ignored, so the command also enables tracking and replies +OK.
				return i != 0
			}
		}
	}
	return true
}

func prefixesOverlap(a, b []byte) bool {
	n := min(len(a), len(b))
	return bytes.Equal(a[:n], b[:n])
}

func clientCachingCommand(c *Client) {
	ct := c.trk
	if ct == nil || ct.flags&trackOn == 0 {
		c.w.Error(errCachingNotTracking)
		return
	}
	switch {
	case argEq(c.argv[2], "yes"):
		if ct.flags&trackOptin == 0 {
			c.w.Error(errCachingYes)
			return
		}
	case argEq(c.argv[2], "no"):
		if ct.flags&trackOptout == 0 {
			c.w.Error(errCachingNo)
			return
		}
	default:
		c.w.Error(errSyntax)
		return
	}
	ct.flags |= trackCaching
	c.w.OK()
}

// trackingRedirect is what CLIENT GETREDIR, TRACKINGINFO and CLIENT LIST's redir show: -1
// when tracking is off, 0 when on without redirection.
func trackingRedirect(c *Client) int64 {
	if c.trk == nil || c.trk.flags&trackOn == 0 {
		return -1
	}
	return c.trk.redirect
}

// appendTrackingFlags adds CLIENT LIST's tracking flags: t (on), R (broken redirect), B (BCAST).
func appendTrackingFlags(b []byte, c *Client) []byte {
	if c.trk == nil {
		return b
	}
	if c.trk.flags&trackOn != 0 {
		b = append(b, 't')
	}
	if c.trk.flags&trackBrokenRedir != 0 {
		b = append(b, 'R')
	}
	if c.trk.flags&trackBcast != 0 {
		b = append(b, 'B')
	}
	return b
}

func clientGetredirCommand(c *Client) { c.w.Int(trackingRedirect(c)) }

func clientTrackinginfoCommand(c *Client) {
	var flags []string
	var f int
	if c.trk != nil {
		f = c.trk.flags
	}
	if f&trackOn != 0 {
		flags = append(flags, "on")
	} else {
		flags = append(flags, "off")
	}
	if f&trackBcast != 0 {
		flags = append(flags, "bcast")
	}
	if f&trackOptin != 0 {
		flags = append(flags, "optin")
		if f&trackCaching != 0 {
			flags = append(flags, "caching-yes")
		}
	}
	if f&trackOptout != 0 {
		flags = append(flags, "optout")
		if f&trackCaching != 0 {
			flags = append(flags, "caching-no")
		}
	}
	if f&trackNoloop != 0 {
		flags = append(flags, "noloop")
	}
	if f&trackBrokenRedir != 0 {
		flags = append(flags, "broken_redirect")
	}
	c.w.Map(3)
	c.w.BulkString("flags")
	c.w.Set(len(flags))
	for _, fl := range flags {
		c.w.BulkString(fl)
	}
	c.w.BulkString("redirect")
	c.w.Int(trackingRedirect(c))
	c.w.BulkString("prefixes")
	var prefixes []string
	if c.trk != nil {
		for p := range c.trk.prefixes {
			prefixes = append(prefixes, p)
		}
	}
	slices.Sort(prefixes)
	c.w.Array(len(prefixes))
	for _, p := range prefixes {
		c.w.BulkString(p)
	}
}

func init() {
	register(map[string]func(*Client){
		"client|tracking":     clientTrackingCommand,
		"client|caching":      clientCachingCommand,
		"client|getredir":     clientGetredirCommand,
		"client|trackinginfo": clientTrackinginfoCommand,
	})
}
