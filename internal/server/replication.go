package server

// Master-replica replication, shared state: the replication ids and offset, the backlog,
// REPLICAOF/SLAVEOF, ROLE, WAIT, INFO replication and the once-a-second cron. The master
// side (REPLCONF, PSYNC, full sync) is replication_master.go; the replica side (the link
// to our master) is replication_replica.go.
//
// Offsets count bytes of the replication stream since the history named by replID began,
// as Redis counts them: master_repl_offset is the offset of the last byte produced (on a
// master) or applied (on a replica). A replica proxies the bytes it applies from its master
// unchanged to its own backlog and replicas, so offsets agree along a chain.

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sard-kv/sard/internal/num"
)

const (
	errReadOnlyReplica = "READONLY You can't write against a read only replica."
	errWaitOnReplica   = "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."
	errNoReplicas      = "NOREPLICAS Not enough good replicas to write."
)

// zeroReplID is the replid2 of a server with no previous history.
var zeroReplID = strings.Repeat("0", 40)

// replState is the replication side of the server, under s.mu.
type replState struct {
	offset          int64 // master_repl_offset
	secondOffset    int64 // second_repl_offset: first offset replID2 is no longer valid for
	backlog         *replBacklog
	attached        bool // the stream consumer is installed
	replicas        []*replicaInfo
	ackCond         *sync.Cond // WAIT waits here for REPLCONF ACKs
	lastPing        time.Time
	noReplicasSince time.Time // repl-backlog-ttl
	lastCron        time.Time

	syncFull, syncPartialOK, syncPartialErr int64

	sync         *replSync // the full-sync snapshot in progress (replication_sync.go)
	sendingBulk  int       // disk payloads being sent
	rdbForSync   bool      // dbfilename was written for replicas (rdb-del-sync-files)
	goodReplicas int       // min-replicas-max-lag's count (refreshGoodReplicas)

	// Replica side: masterHost is empty on a master. gen changes with every REPLICAOF so a
	// stale link goroutine notices it has been replaced.
	masterHost   string
	masterPort   int
	gen          int64
	link         *Client // the master client while the link is up
	linkUp       bool
	linkDownAt   time.Time
	syncing      bool // a full sync is being received
	lastIO       time.Time
	masterDB     int  // the master client's database, kept across partial resyncs
	haveHistory  bool // our replid and offset name data we hold: PSYNC them, not "? -1"
	readOffset   int64
	startChecked bool           // the replicaof directive has been acted on
	aofWasOn     bool           // the AOF was stopped for a full-sync load
	multiBuf     []byte         // stream bytes of a MULTI block from the master not yet applied
	loaded       loadedReplInfo // replication fields of the file loaded at start-up
	xferSize     int64          // the payload's announced size, 0 for the EOF form
	xfer         xferProgress   // bytes read from the master during a full sync
}

// replBacklog is a ring of the last bytes of the stream, for partial resynchronization.
type replBacklog struct {
	buf     []byte
	histlen int64
}

func newBacklog(size int64) *replBacklog {
	return &replBacklog{buf: make([]byte, max(size, 16*1024))}
}

// write appends p, which ends at stream offset end.
func (b *replBacklog) write(p []byte, end int64) {
	size := int64(len(b.buf))
	if int64(len(p)) > size {
		p = p[int64(len(p))-size:]
	}
	pos := (end - int64(len(p))) % size
	n := copy(b.buf[pos:], p)
	copy(b.buf, p[n:])
	b.histlen = min(b.histlen+int64(len(p)), size)
}

// since returns the bytes after offset from (1-based next byte wanted) up to end, or false
// when they are no longer held.
func (b *replBacklog) since(from, end int64) ([]byte, bool) {
	first := end - b.histlen + 1
	if from < first || from > end+1 {
		return nil, false
	}
	size := int64(len(b.buf))
	out := make([]byte, 0, end-from+1)
	for o := from; o <= end; {
		pos := (o - 1) % size
		chunk := min(size-pos, end-o+1)
		out = append(out, b.buf[pos:pos+chunk]...)
		o += chunk
	}
	return out, true
}

func (s *Server) replCond() *sync.Cond {
	if s.repl.ackCond == nil {
		s.repl.ackCond = sync.NewCond(&s.mu)
	}
	return s.repl.ackCond
}

// ensureBacklog creates the backlog and attaches the stream consumer (Redis creates the
// backlog when the first replica syncs, or when a replica's link to its master comes up).
func (s *Server) ensureBacklog() {
	if s.repl.backlog == nil {
		s.repl.backlog = newBacklog(s.cfgInt("repl-backlog-size"))
	}
	if !s.repl.attached {
		s.repl.attached = true
		s.prop.consumers = append(s.prop.consumers, replConsumer{s})
	}
}

// replConsumer takes a master's propagation stream into the backlog and the replicas. On a
// replica the stream it feeds is the master's, proxied by the link instead.
type replConsumer struct{ s *Server }

func (r replConsumer) Feed(b []byte) {
	if r.s.repl.masterHost != "" {
		return
	}
	r.s.replFeed(b)
}

// replFeed appends bytes to the replication stream: offset, backlog, every replica.
func (s *Server) replFeed(b []byte) {
	if s.repl.backlog == nil {
		return
	}
	s.repl.offset += int64(len(b))
	s.repl.backlog.write(b, s.repl.offset)
	for _, r := range s.repl.replicas {
		switch {
		case r.streaming:
			r.c.push(b)
		case r.state >= replWaitBgsaveEnd:
			// Held until the replica has its payload; it counts against the replica's
			// output buffer limit as Redis's replication buffer does.
			r.pending = append(r.pending, b...)
			if s.overOutputLimit(r.c, len(r.pending)) && !r.c.closed.Load() {
				s.closeOverLimit(r.c)
			}
		}
	}
}

// isReplica reports whether the server follows a master.
func (s *Server) isReplica() bool { return s.repl.masterHost != "" }

// readonlyReplicaDenied is the gatekeeper's replication check on writes, in Redis's order:
// a master without enough good replicas (min-replicas-to-write) refuses them, and so does a
// read-only replica to anyone but its master.
func (s *Server) readonlyReplicaDenied(c *Client, cmd *Command) bool {
	if s.repl.masterHost == "" {
		need := s.hot.minReplicas.Get()
		if need == 0 || s.hot.minReplicasLag.Get() == 0 ||
			!isWriteCommand(c, cmd) || int64(s.refreshGoodReplicas()) >= need {
			return false
		}
		s.rejectCommand(c, cmd, errNoReplicas)
		return true
	}
	if c.flags&flagMaster != 0 || !s.cfgBool("replica-read-only") {
		return false
	}
	if !isWriteCommand(c, cmd) {
		return false
	}
	s.rejectCommand(c, cmd, errReadOnlyReplica)
	return true
}

// refreshGoodReplicas counts the online replicas whose last ACK is at most
// min-replicas-max-lag seconds old (Redis's refreshGoodSlavesCount). It runs every cron tick
// and before each write the count may refuse, so it is never staler than Redis's.
func (s *Server) refreshGoodReplicas() int {
	maxLag := s.cfgInt("min-replicas-max-lag")
	now := time.Now().Unix()
	n := 0
	for _, r := range s.repl.replicas {
		if r.state == replOnline && !r.c.closed.Load() && now-r.ackTime.Unix() <= maxLag {
			n++
		}
	}
	s.repl.goodReplicas = n
	return n
}

// goodReplicaCount is refreshGoodReplicas for callers that only read the count (scripts).
func (s *Server) goodReplicaCount() int { return s.refreshGoodReplicas() }

// --- REPLICAOF / SLAVEOF -------------------------------------------------------------------

func replicaofCommand(c *Client) {
	s := c.srv
	if s.cfgBool("cluster-enabled") {
		c.w.Error("ERR REPLICAOF not allowed in cluster mode.")
		return
	}
	host, portArg := string(c.argv[1]), c.argv[2]
	if strings.EqualFold(host, "no") && strings.EqualFold(string(portArg), "one") {
		if s.repl.masterHost != "" {
			s.replicationUnsetMaster()
			s.log.Noticef("MASTER MODE enabled (user request from 'id=%d addr=%s laddr=%s fd=%d name=%s')", c.id, c.addr, c.laddr, connFD(c.conn), c.name)
		}
		c.w.OK()
		return
	}
	if c.flags&flagReplica != 0 {
		c.w.Error("ERR Command is not valid when client is a replica.")
		return
	}
	port, ok := num.ParseInt64(portArg)
	if !ok || port < 0 || port > 65535 {
		c.w.Error("ERR Invalid master port")
		return
	}
	if s.repl.masterHost != "" && strings.EqualFold(s.repl.masterHost, host) && s.repl.masterPort == int(port) {
		s.log.Noticef("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.")
		c.w.Status("OK Already connected to specified master")
		return
	}
	s.replicationSetMaster(host, int(port))
	s.log.Noticef("REPLICAOF %s:%d enabled (user request from 'id=%d addr=%s laddr=%s fd=%d name=%s')", host, port, c.id, c.addr, c.laddr, connFD(c.conn), c.name)
	c.w.OK()
}

// replicationSetMaster makes the server follow host:port, starting the link.
func (s *Server) replicationSetMaster(host string, port int) {
	wasMaster := s.repl.masterHost == ""
	s.dropMasterLink()
	s.repl.masterHost, s.repl.masterPort = host, port
	s.cfg.SetReplicaOf(host, port)
	if wasMaster {
		// As replicationCacheMasterUsingMyself: our own history can be continued by the
		// new master if it shares it (a failover).
		s.repl.haveHistory = true
		s.repl.masterDB = -1
	}
	s.log.SetRole('S')
	s.log.Noticef("Connecting to MASTER %s:%d", host, port)
	s.startReplicaLink()
}

// replicationUnsetMaster is REPLICAOF NO ONE: keep the data, start a new history whose
// past is the old master's (replid2), so replicas of either can partially resync.
func (s *Server) replicationUnsetMaster() {
	s.dropMasterLink()
	s.repl.masterHost, s.repl.masterPort = "", 0
	s.cfg.SetReplicaOf("", 0)
	s.replID2 = s.replID
	s.repl.secondOffset = s.repl.offset + 1
	s.replID = randomHex(40)
	s.log.Noticef("Setting secondary replication ID to %s, valid up to offset: %d. New replication ID is %s", s.replID2, s.repl.secondOffset, s.replID)
	s.log.SetRole('M')
	// Our replicas must learn the new id: they reconnect and continue with +CONTINUE.
	s.disconnectReplicas()
	// The next command must select its database explicitly.
	s.prop.db = -1
}

// dropMasterLink closes the link to the master, if any; its goroutine sees the generation
// change and exits.
func (s *Server) dropMasterLink() {
	s.repl.gen++
	if s.repl.link != nil {
		s.repl.link.close()
		s.repl.link = nil
	}
	s.repl.linkUp = false
	s.repl.syncing = false
}

func (s *Server) disconnectReplicas() {
	for _, r := range s.repl.replicas {
		r.c.close()
	}
}

// --- ROLE ----------------------------------------------------------------------------------

func roleCommand(c *Client) {
	s := c.srv
	if s.repl.masterHost == "" {
		c.w.Array(3)
		c.w.BulkString("master")
		c.w.Int(s.repl.offset)
		n := 0
		for _, r := range s.repl.replicas {
			if r.state == replOnline {
				n++
			}
		}
		c.w.Array(n)
		for _, r := range s.repl.replicas {
			if r.state != replOnline {
				continue
			}
			c.w.Array(3)
			c.w.BulkString(r.ip())
			c.w.BulkString(strconv.Itoa(r.port))
			c.w.BulkString(strconv.FormatInt(r.ackOff, 10))
		}
		return
	}
	c.w.Array(5)
	c.w.BulkString("slave")
	c.w.BulkString(s.repl.masterHost)
	c.w.Int(int64(s.repl.masterPort))
	c.w.BulkString(s.linkStateName())
	off := int64(-1)
	if s.repl.linkUp {
		off = s.repl.offset
	}
	c.w.Int(off)
}

// linkStateName is the replica state as ROLE names it.
func (s *Server) linkStateName() string {
	switch {
	case s.repl.linkUp:
		return "connected"
	case s.repl.syncing:
		return "sync"
	case s.repl.link == nil:
		return "connect"
	}
	return "connecting"
}

// --- INFO replication ------------------------------------------------------------------------

func (s *Server) infoReplication(b *infoBuilder) {
	if s.repl.masterHost == "" {
		b.str("role", "master")
	} else {
		b.str("role", "slave")
		b.str("master_host", s.repl.masterHost)
		b.int("master_port", int64(s.repl.masterPort))
		if s.repl.linkUp {
			b.str("master_link_status", "up")
		} else {
			b.str("master_link_status", "down")
		}
		if s.repl.linkUp {
			b.int("master_last_io_seconds_ago", int64(time.Since(s.repl.lastIO).Seconds()))
		} else {
			b.int("master_last_io_seconds_ago", -1)
		}
		b.int("master_sync_in_progress", boolInt(s.repl.syncing))
		b.int("slave_read_repl_offset", s.repl.readOffset)
		b.int("slave_repl_offset", s.repl.offset)
		if s.repl.syncing {
			// The EOF form has no size: Redis then shows 0 total and negative bytes left.
			read := s.repl.xfer.read.Load()
			if s.repl.xferSize > 0 {
				read = min(read, s.repl.xferSize)
			}
			perc := 0.0
			if s.repl.xferSize > 0 {
				perc = float64(read) / float64(s.repl.xferSize) * 100
			}
			b.int("master_sync_total_bytes", s.repl.xferSize)
			b.int("master_sync_read_bytes", read)
			b.int("master_sync_left_bytes", s.repl.xferSize-read)
			b.float("master_sync_perc", perc, 2)
			b.int("master_sync_last_io_seconds_ago", time.Now().Unix()-s.repl.xfer.lastIO.Load())
		}
		if !s.repl.linkUp {
			since := int64(-1)
			if !s.repl.linkDownAt.IsZero() {
				since = int64(time.Since(s.repl.linkDownAt).Seconds())
			}
			b.int("master_link_down_since_seconds", since)
		}
		b.int("slave_priority", s.cfgInt("replica-priority"))
		b.int("slave_read_only", boolInt(s.cfgBool("replica-read-only")))
		b.int("replica_announced", boolInt(s.cfgBool("replica-announced")))
	}
	n := 0
	for _, r := range s.repl.replicas {
		if r.state != replStateNone {
			n++
		}
	}
	b.int("connected_slaves", int64(n))
	if s.cfgInt("min-replicas-to-write") != 0 && s.cfgInt("min-replicas-max-lag") != 0 {
		b.int("min_slaves_good_slaves", int64(s.repl.goodReplicas))
	}
	i := 0
	for _, r := range s.repl.replicas {
		state := ""
		switch r.state {
		case replStateNone:
			continue
		case replWaitBgsaveStart, replWaitBgsaveEnd:
			state = "wait_bgsave"
		case replSendBulk:
			state = "send_bulk"
		case replOnline:
			state = "online"
		}
		lag := time.Now().Unix() - r.ackTime.Unix()
		b.str("slave"+strconv.Itoa(i), fmt.Sprintf("ip=%s,port=%d,state=%s,offset=%d,lag=%d", r.ip(), r.port, state, r.ackOff, lag))
		i++
	}
	b.str("master_failover_state", "no-failover")
	b.str("master_replid", s.replID)
	b.str("master_replid2", s.replID2)
	b.int("master_repl_offset", s.repl.offset)
	b.int("second_repl_offset", s.repl.secondOffset)
	if bl := s.repl.backlog; bl != nil {
		b.int("repl_backlog_active", 1)
		b.int("repl_backlog_size", int64(len(bl.buf)))
		b.int("repl_backlog_first_byte_offset", s.repl.offset-bl.histlen+1)
		b.int("repl_backlog_histlen", bl.histlen)
	} else {
		b.int("repl_backlog_active", 0)
		b.int("repl_backlog_size", s.cfgInt("repl-backlog-size"))
		b.int("repl_backlog_first_byte_offset", 0)
		b.int("repl_backlog_histlen", 0)
	}
}

// --- WAIT ----------------------------------------------------------------------------------

// waitCommand is WAIT numreplicas timeout. It parks the client's goroutine on a condition
// of the server lock, as a pause does, until enough replicas acknowledged the offset the
// stream had reached, or the timeout.
func waitCommand(c *Client) {
	s := c.srv
	if s.repl.masterHost != "" {
		c.w.Error(errWaitOnReplica)
		return
	}
	want, ok := num.ParseInt64(c.argv[1])
	if !ok {
		c.w.Error(errNotInt)
		return
	}
	timeout, ok := num.ParseInt64(c.argv[2])
	if !ok {
		c.w.Error(errPositiveTimeout)
		return
	}
	if timeout < 0 {
		c.w.Error("ERR timeout is negative")
		return
	}
	target := s.repl.offset
	acked := s.replicasAcked(target)
	if acked >= want || c.flags&flagMulti != 0 || s.curClient != c {
		c.w.Int(int64(acked))
		return
	}
	s.requestAcks()
	s.prop.flush()
	cond := s.replCond()
	timedOut := false
	var timer *time.Timer
	if timeout > 0 {
		timer = time.AfterFunc(time.Duration(timeout)*time.Millisecond, func() {
			s.mu.Lock()
			timedOut = true
			cond.Broadcast()
			s.mu.Unlock()
		})
	}
	// Other clients run while we wait; they must not see us as the running client.
	saved := s.curClient
	s.curClient = nil
	c.emit()
	c.flags |= flagBlocked
	c.detach() // the replicas' acknowledgements may come through this goroutine's event loop
	for !timedOut && !c.closed.Load() && s.replicasAcked(target) < want {
		cond.Wait()
	}
	c.flags &^= flagBlocked
	s.curClient = saved
	if timer != nil {
		timer.Stop()
	}
	s.now = time.Now().UnixMilli()
	c.w.Int(int64(s.replicasAcked(target)))
}

func (s *Server) replicasAcked(off int64) int64 {
	var n int64
	for _, r := range s.repl.replicas {
		if r.state == replOnline && r.ackOff >= off {
			n++
		}
	}
	return n
}

// requestAcks sends REPLCONF GETACK * through the stream, as Redis does for WAIT.
func (s *Server) requestAcks() {
	if len(s.repl.replicas) == 0 {
		return
	}
	s.replFeed(appendCommand(nil, []byte("REPLCONF"), []byte("GETACK"), []byte("*")))
}

// --- cron ----------------------------------------------------------------------------------

// replicationCron runs from the server cron: it starts the link the replicaof directive
// asks for, pings the replicas, acknowledges to our master once a second and wakes WAIT
// callers whose clients went away.
func (s *Server) replicationCron() {
	if !s.repl.startChecked {
		s.repl.startChecked = true
		if v := s.cfgStr("replicaof"); v != "" && s.repl.masterHost == "" {
			if host, port, ok := strings.Cut(v, " "); ok {
				if p, err := strconv.Atoi(port); err == nil {
					s.repl.masterHost, s.repl.masterPort = host, p
					if !s.repl.haveHistory {
						s.repl.masterDB = -1
					}
					s.log.SetRole('S')
					s.log.Noticef("Connecting to MASTER %s:%d", host, p)
					s.startReplicaLink()
				}
			}
		}
	}
	if s.repl.ackCond != nil {
		s.repl.ackCond.Broadcast()
	}
	now := time.Now()
	if (len(s.repl.replicas) > 0 || s.repl.sync != nil) && !s.persist.load.active {
		s.replSyncCron(now)
	}
	s.refreshGoodReplicas()
	if now.Sub(s.repl.lastCron) < time.Second {
		return
	}
	s.repl.lastCron = now
	timeout := time.Duration(s.cfgInt("repl-timeout")) * time.Second
	if s.repl.link != nil && s.repl.linkUp {
		if now.Sub(s.repl.lastIO) > timeout {
			s.log.Warningf("MASTER timeout: no data nor PING received...")
			s.repl.link.close()
		} else {
			s.sendAck()
		}
	}
	for _, r := range s.repl.replicas {
		// An online replica that stops acknowledging is dropped (old SYNC replicas never
		// acknowledge).
		if r.state == replOnline && r.psync && now.Sub(r.ackTime) > timeout {
			s.log.Warningf("Disconnecting timedout replica (streaming sync): %s", r.name())
			r.c.close()
		}
	}
	s.presyncNewlines()
	period := time.Duration(s.cfgInt("repl-ping-replica-period")) * time.Second
	if s.repl.masterHost == "" && len(s.repl.replicas) > 0 && now.Sub(s.repl.lastPing) >= period {
		s.repl.lastPing = now
		s.replFeed([]byte("*1\r\n$4\r\nPING\r\n"))
	}
	s.backlogTTLCron(now)
	if bl := s.repl.backlog; bl != nil && int64(len(bl.buf)) != max(s.cfgInt("repl-backlog-size"), 16*1024) {
		// CONFIG SET repl-backlog-size: Redis resizes by starting the history afresh.
		s.repl.backlog = newBacklog(s.cfgInt("repl-backlog-size"))
	}
}

// backlogTTLCron is repl-backlog-ttl: a master without replicas for that long frees its
// backlog and starts a new history (a replica keeps it: it may be promoted).
func (s *Server) backlogTTLCron(now time.Time) {
	if len(s.repl.replicas) > 0 || s.repl.masterHost != "" || s.repl.backlog == nil {
		s.repl.noReplicasSince = time.Time{}
		return
	}
	if s.repl.noReplicasSince.IsZero() {
		s.repl.noReplicasSince = now
		return
	}
	ttl := s.cfgInt("repl-backlog-ttl")
	if idle := int64(now.Sub(s.repl.noReplicasSince).Seconds()); ttl > 0 && idle > ttl {
		s.replID = randomHex(40)
		s.replID2 = zeroReplID
		s.repl.secondOffset = -1
		s.repl.backlog = nil
		s.repl.noReplicasSince = time.Time{}
		s.log.Noticef("Replication backlog freed after %d seconds without connected replicas.", ttl)
	}
}

// sendAck reports our offset to the master (REPLCONF ACK), under s.mu.
func (s *Server) sendAck() {
	if s.repl.link == nil {
		return
	}
	s.repl.link.push(appendCommand(nil, []byte("REPLCONF"), []byte("ACK"), []byte(strconv.FormatInt(s.repl.offset, 10))))
}

func splitHostPort(addr string) (string, int) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

func init() {
	register(map[string]func(*Client){
		"replicaof": replicaofCommand,
		"slaveof":   replicaofCommand,
		"wait":      waitCommand,
		"role":      roleCommand,
	})
}
