package server

// Full synchronization on the master, Redis's "BGSAVE for replication" built on the forkless
// snapshot of rdb_snapshot.go. A replica that needs a full resync waits (replWaitBgsaveStart) until a
// snapshot starts; then it is answered +FULLRESYNC with the stream offset the snapshot stands
// for, and the stream from that offset on is held for it (replicaInfo.pending) until it has
// the payload. Two targets, as repl-diskless-sync chooses:
//
//   - disk: an ordinary BGSAVE to dbfilename. When it has finished, each waiting replica is
//     sent "$<size>\r\n" and the file, then the held stream. A replica that asks while such
//     a save runs joins it by taking a copy of another waiting replica's held stream.
//   - sockets: the snapshot's bytes go to every replica of the sync as they are produced,
//     in the EOF-marker form ("$EOF:<40 bytes>\r\n", the RDB, the same 40 bytes). The held
//     stream follows the replica's first REPLCONF ACK, so the marker is the last thing it
//     reads before it has loaded the payload.
//
// A socket sync starts repl-diskless-sync-delay seconds after the first replica asked, or at
// once when repl-diskless-sync-max-replicas are waiting, so that replicas arriving together
// share one walk of the dataset. That walk is paced by the slowest replica: the next step is
// taken once every socket has accepted the previous one, and the command lock is free while
// the bytes are written.
//
// Either kind occupies the snapshot slot (s.persist.bgsave), as Redis's RDB child does: the
// gatekeeper's copy-on-write serves it, BGSAVE answers that a save is in progress, FLUSHALL
// aborts it (its replicas are dropped and come back for a new sync).

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/sard-kv/sard/internal/crc64"
	"github.com/sard-kv/sard/internal/rdb"
)

// Replica states on the master, Redis's SLAVE_STATE_*.
const (
	replStateNone       = iota // handshake: REPLCONF only, not a replica yet
	replWaitBgsaveStart        // full resync asked, no snapshot for it yet
	replWaitBgsaveEnd          // its snapshot is being produced (or, on sockets, sent)
	replSendBulk               // the disk snapshot is being sent
	replOnline                 // it has the payload
)

// replSync is the snapshot of a full sync in progress.
type replSync struct {
	sn    *snapshot
	disk  bool
	saves int64 // persist.saves when a disk sync began: it grows if the save succeeds

	// socket target
	mark    string
	targets []*replicaInfo
	mu      sync.Mutex // buf, crc: filled under the snapshot's ioMu, drained by the sender
	buf     []byte
	spare   []byte
	crc     uint64
}

// Write receives the snapshot's bytes on a socket sync (the snapshot's file writer).
func (rs *replSync) Write(p []byte) (int, error) {
	rs.mu.Lock()
	rs.crc = crc64.Update(rs.crc, p)
	rs.buf = append(rs.buf, p...)
	rs.mu.Unlock()
	return len(p), nil
}

// name is how Redis's log lines name a replica: its address and listening port.
func (r *replicaInfo) name() string {
	if r.port == 0 {
		return r.ip() + ":<unknown-replica-port>"
	}
	return r.ip() + ":" + strconv.Itoa(r.port)
}

// fullResync is the full-resync branch of SYNC/PSYNC (Redis's syncCommand tail).
func (s *Server) fullResync(c *Client, psync bool) {
	r := s.replicaFor(c)
	r.psync = psync
	s.repl.syncFull++
	c.flags |= flagReplica
	s.replSetNoDelay(c)
	r.state = replWaitBgsaveStart
	r.waitSince = time.Now()
	r.ackTime = time.Now()
	if s.repl.backlog == nil {
		// The first replica starts a new history (Redis's changeReplicationId).
		s.replID = randomHex(40)
		s.replID2 = zeroReplID
		s.repl.secondOffset = -1
		s.ensureBacklog()
		s.log.Noticef("Replication backlog created, my new replication IDs are '%s' and '%s'", s.replID, s.replID2)
	}
	if r.filtered && r.capaEOF {
		s.filteredSync(r)
		return
	}
	rs := s.repl.sync
	switch {
	case rs != nil && rs.disk:
		// A disk save for replication is running: join it if another replica waits for
		// it with no more capabilities than this one has.
		for _, o := range s.repl.replicas {
			if o != r && o.sync == rs && o.state == replWaitBgsaveEnd && (!o.capaEOF || r.capaEOF) {
				r.pending = append([]byte(nil), o.pending...)
				s.setupFullResync(r, rs, o.initialOffset)
				s.log.Noticef("Waiting for end of BGSAVE for SYNC")
				return
			}
		}
		s.log.Noticef("Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC")
	case rs != nil:
		s.log.Noticef("Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC")
	case s.rdbSaveRunning():
		// A BGSAVE nobody replicates from: its point in time is not ours to announce.
		s.log.Noticef("Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC")
	case s.cfgBool("repl-diskless-sync") && r.capaEOF && s.cfgInt("repl-diskless-sync-delay") > 0:
		s.log.Noticef("Delay next BGSAVE for diskless SYNC")
	case s.childActive():
		s.log.Noticef("No BGSAVE in progress, but another BG operation is active. BGSAVE for replication delayed")
	default:
		s.startBgsaveForReplication(r.capaEOF)
	}
}

// replSetNoDelay is repl-disable-tcp-nodelay: the replica's socket batches small writes.
func (s *Server) replSetNoDelay(c *Client) {
	if tc, ok := c.conn.(*net.TCPConn); ok && s.cfgBool("repl-disable-tcp-nodelay") {
		tc.SetNoDelay(false)
	}
}

// filteredSync serves a replica that asked for a payload without keys (REPLCONF
// rdb-filter-only): an RDB of the header and, if asked, the functions, needs no walk of the
// dataset, so it is sent at once in the EOF form.
func (s *Server) filteredSync(r *replicaInfo) {
	s.log.Noticef("Starting BGSAVE for SYNC with target: replicas sockets")
	s.prop.flush()
	var e rdb.Encoder
	e.Buf = append(e.Buf, fmt.Sprintf("REDIS%04d", rdb.Version)...)
	e.Aux("redis-ver", VersionCompat)
	e.AuxInt("redis-bits", 64)
	e.AuxInt("ctime", time.Now().Unix())
	e.AuxInt("used-mem", 0)
	s.replSaveInfoAux(&e)
	e.AuxInt("aof-base", 0)
	if r.filterFunctions && s.persist.functionsDump != nil {
		for _, code := range s.persist.functionsDump() {
			e.Byte(rdb.OpFunction2)
			e.String(code)
		}
	}
	e.Byte(rdb.OpEOF)
	var sum uint64
	if s.cfgBool("rdbchecksum") {
		sum = crc64.Update(0, e.Buf)
	}
	for i := 0; i < 8; i++ {
		e.Buf = append(e.Buf, byte(sum>>(8*i)))
	}
	s.setupFullResync(r, nil, s.repl.offset)
	mark := randomHex(40)
	r.c.push([]byte("$EOF:" + mark + "\r\n"))
	r.c.push(e.Buf)
	r.c.push([]byte(mark))
	r.sync = nil
	r.state = replOnline
	r.ackTime = time.Now()
	r.startOnAck = true
	s.log.Noticef("Streamed RDB transfer with replica %s succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming", r.name())
	if r.rdbOnly {
		c := r.c
		go func() {
			c.flush()
			c.close()
		}()
	}
}

// replStartPendingSync starts the snapshot the waiting replicas need, once nothing else
// occupies the slot and, for a socket target, the delay has passed or enough replicas wait
// (Redis's shouldStartChildForReplication). Called from the cron and when a sync ends.
func (s *Server) replStartPendingSync() {
	if s.childActive() || s.repl.sync != nil {
		return
	}
	waiting, eof := 0, true
	var idle time.Duration
	now := time.Now()
	for _, r := range s.repl.replicas {
		if r.state != replWaitBgsaveStart || r.c.closed.Load() {
			continue
		}
		waiting++
		eof = eof && r.capaEOF
		idle = max(idle, now.Sub(r.waitSince))
	}
	if waiting == 0 {
		return
	}
	maxReplicas := s.cfgInt("repl-diskless-sync-max-replicas")
	delay := time.Duration(s.cfgInt("repl-diskless-sync-delay")) * time.Second
	if !s.cfgBool("repl-diskless-sync") || (maxReplicas > 0 && int64(waiting) >= maxReplicas) || idle >= delay {
		s.startBgsaveForReplication(eof)
	}
}

// startBgsaveForReplication starts a snapshot for every replica waiting for one: to their
// sockets when diskless sync is on and all of them understand the EOF form, else to disk.
func (s *Server) startBgsaveForReplication(allEOF bool) {
	socket := s.cfgBool("repl-diskless-sync") && allEOF
	target := "disk"
	if socket {
		target = "replicas sockets"
	}
	s.log.Noticef("Starting BGSAVE for SYNC with target: %s", target)
	// What the running batch already did belongs before the snapshot's point in time.
	s.prop.flush()
	var waiting []*replicaInfo
	for _, r := range s.repl.replicas {
		if r.state == replWaitBgsaveStart && !r.c.closed.Load() {
			waiting = append(waiting, r)
		}
	}
	var err error
	if socket {
		s.startSocketSync(waiting)
	} else {
		err = s.startDiskSync(waiting)
	}
	if err == nil {
		return
	}
	s.log.Warningf("BGSAVE for replication failed")
	for _, r := range waiting {
		r.state = replStateNone
		r.c.flags &^= flagReplica
		s.dropReplica(r, "-ERR BGSAVE failed, replication can't continue\r\n")
	}
}

// setupFullResync answers +FULLRESYNC: from offset on, the stream is held for r.
func (s *Server) setupFullResync(r *replicaInfo, rs *replSync, offset int64) {
	r.initialOffset = offset
	r.state = replWaitBgsaveEnd
	r.sync = rs
	// The stream after the snapshot must say which database it writes to.
	s.prop.db = -1
	if r.psync {
		r.c.push([]byte("+FULLRESYNC " + s.replID + " " + strconv.FormatInt(offset, 10) + "\r\n"))
	}
}

// startDiskSync is BGSAVE to dbfilename for the waiting replicas.
func (s *Server) startDiskSync(waiting []*replicaInfo) error {
	saves := s.persist.saves
	if err := s.bgsaveStart(); err != nil {
		return err
	}
	// The header names our history and offset (replSaveInfoAux), as Redis's rsi.
	rs := &replSync{sn: s.persist.bgsave, disk: true, saves: saves}
	s.repl.sync = rs
	for _, r := range waiting {
		r.pending = nil
		s.setupFullResync(r, rs, s.repl.offset)
	}
	if s.cfgBool("rdb-del-sync-files") {
		s.repl.rdbForSync = true
	}
	return nil
}

// replCheckDiskSync notices the end of a disk save for replication (Redis's
// updateSlavesWaitingBgsave) and starts sending the file to its replicas.
func (s *Server) replCheckDiskSync() {
	rs := s.repl.sync
	if rs == nil || !rs.disk || s.persist.bgsave == rs.sn {
		return
	}
	s.repl.sync = nil
	ok := !rs.sn.aborted && s.persist.saves > rs.saves && s.persist.lastBgsaveOK
	for _, r := range s.repl.replicas {
		if r.sync != rs || r.state != replWaitBgsaveEnd {
			continue
		}
		r.sync = nil
		if !ok {
			s.log.Warningf("SYNC failed. BGSAVE child returned an error")
			s.dropReplica(r, "")
			continue
		}
		f, err := os.Open(s.rdbFilename())
		var st os.FileInfo
		if err == nil {
			st, err = f.Stat()
		}
		if err != nil {
			if f != nil {
				f.Close()
			}
			s.log.Warningf("SYNC failed. Can't open/stat DB after BGSAVE: %v", err)
			s.dropReplica(r, "")
			continue
		}
		r.state = replSendBulk
		s.repl.sendingBulk++
		go s.sendBulk(r, f, st.Size())
	}
	s.replStartPendingSync()
}

// sendBulk sends a disk snapshot to one replica, then puts it online.
func (s *Server) sendBulk(r *replicaInfo, f *os.File, size int64) {
	defer f.Close()
	ok := writeOut(r, []byte("$"+strconv.FormatInt(size, 10)+"\r\n"))
	buf := make([]byte, 1<<20)
	for sent := int64(0); ok && sent < size; {
		n, err := f.Read(buf[:min(int64(len(buf)), size-sent)])
		if n > 0 {
			ok = writeOut(r, buf[:n])
			sent += int64(n)
		}
		if err != nil && sent < size {
			ok = false
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repl.sendingBulk--
	if !ok || r.state != replSendBulk {
		if !r.c.closed.Load() {
			s.log.Warningf("Write error sending DB to replica: %s", r.name())
			r.c.close()
		}
		s.replDelSyncFile()
		return
	}
	r.state = replOnline
	r.ackTime = time.Now()
	s.startReplicaStream(r)
	s.replDelSyncFile()
}

// startSocketSync starts a snapshot written straight to the waiting replicas.
func (s *Server) startSocketSync(waiting []*replicaInfo) {
	sn := s.newSnapshot()
	sn.background() // large values across steps, as BGSAVE
	rs := &replSync{sn: sn, mark: randomHex(40), targets: waiting}
	// The snapshot writes to us instead of a file. Steps finished by a FLUSHDB or SWAPDB
	// (finishWalk) come through here too, with the lock held: Write only buffers.
	sn.w = bufio.NewWriterSize(rs, 64<<10)
	sn.autoSync = false
	s.persist.bgsave = sn
	sn.attach()
	s.repl.sync = rs
	for _, r := range waiting {
		r.pending = nil
		s.setupFullResync(r, rs, s.repl.offset)
		r.c.push([]byte("$EOF:" + rs.mark + "\r\n"))
	}
	s.log.Noticef("Background RDB transfer started by pid %d", os.Getpid())
	go s.runSocketSync(rs)
}

// liveTargets lists the replicas of a socket sync still waiting for its bytes.
func (rs *replSync) liveTargets() []*replicaInfo {
	var out []*replicaInfo
	for _, r := range rs.targets {
		if r.sync == rs && r.state == replWaitBgsaveEnd && !r.c.closed.Load() {
			out = append(out, r)
		}
	}
	return out
}

// runSocketSync is the goroutine of a socket sync: a step of the walk under the lock, then
// the step's bytes to every replica without it.
func (s *Server) runSocketSync(rs *replSync) {
	sn := rs.sn
	// On its own thread the goroutine's CPU time per step can be read (logSteps).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sn.startGate()
	for {
		sn.lockForStep()
		live := rs.liveTargets()
		if sn.aborted || len(live) == 0 {
			if !sn.aborted {
				s.log.Warningf("Diskless rdb transfer, last replica dropped, killing fork child.")
				s.replAbortSnapshot(sn)
			} else {
				s.log.Warningf("Background transfer terminated by signal 10")
			}
			s.endSocketSync(rs, false)
			s.mu.Unlock()
			sn.stopGate()
			return
		}
		done, segs := sn.timedStep()
		sn.ioMu.Lock()
		s.mu.Unlock()
		// Strings are compressed here, outside the lock, as in BGSAVE.
		sn.timedOut(segs, func() { sn.w.Flush() })
		if done {
			// The trailer: the checksum of everything before it, then the marker.
			rs.mu.Lock()
			var sum uint64
			if sn.checksum {
				sum = rs.crc
			}
			for i := 0; i < 8; i++ {
				rs.buf = append(rs.buf, byte(sum>>(8*i)))
			}
			rs.buf = append(rs.buf, rs.mark...)
			rs.mu.Unlock()
		}
		sn.ioMu.Unlock()
		rs.send(live)
		if done {
			break
		}
		if sn.keyDelay != 0 {
			debugDelay(sn.keyDelay) // rdb-key-save-delay, between steps as in BGSAVE
		}
		runtime.Gosched() // let the clients waiting for the lock in first
	}
	sn.stopGate()
	s.mu.Lock()
	live := rs.liveTargets()
	s.log.Warningf("Diskless rdb transfer, done reading from pipe, %d replicas still up.", len(live))
	if s.persist.bgsave == sn {
		s.persist.bgsave = nil
	}
	s.log.Noticef("Background RDB transfer terminated with success")
	sn.logSteps("Diskless rdb transfer")
	s.endSocketSync(rs, true)
	s.mu.Unlock()
}

// send writes what the snapshot produced since the last call to every live replica, in
// parallel, and returns when all have taken it.
func (rs *replSync) send(live []*replicaInfo) {
	rs.mu.Lock()
	b := rs.buf
	rs.buf = rs.spare[:0]
	rs.spare = nil
	rs.mu.Unlock()
	if len(b) > 0 {
		if len(live) == 1 {
			writeOut(live[0], b)
		} else {
			var wg sync.WaitGroup
			for _, r := range live {
				wg.Add(1)
				go func() {
					defer wg.Done()
					writeOut(r, b)
				}()
			}
			wg.Wait()
		}
	}
	rs.mu.Lock()
	if cap(b) <= 2*snapFlushBytes {
		rs.spare = b[:0]
	}
	rs.mu.Unlock()
}

// endSocketSync releases the replicas of a socket sync, under s.mu: on success they are
// online and wait for their first ACK to get the stream; on failure they are dropped.
func (s *Server) endSocketSync(rs *replSync, ok bool) {
	if s.repl.sync == rs {
		s.repl.sync = nil
	}
	for _, r := range rs.targets {
		if r.sync != rs {
			continue
		}
		r.sync = nil
		if r.state != replWaitBgsaveEnd || r.c.closed.Load() {
			continue
		}
		if !ok {
			s.log.Warningf("SYNC failed. BGSAVE child returned an error")
			s.dropReplica(r, "")
			continue
		}
		r.state = replOnline
		r.ackTime = time.Now()
		r.startOnAck = true
		s.log.Noticef("Streamed RDB transfer with replica %s succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming", r.name())
		if r.rdbOnly {
			s.dropReplica(r, "")
		}
	}
	s.replStartPendingSync()
}

// replAbortSnapshot stops a socket sync's snapshot (no replica left), under s.mu.
func (s *Server) replAbortSnapshot(sn *snapshot) {
	sn.abort()
	if s.persist.bgsave == sn {
		s.persist.bgsave = nil
	}
}

// writeOut queues b on the replica's connection and returns once it has been written, so
// the snapshot goes at the pace of the socket. It reports false when the connection is
// gone. Called without s.mu.
func writeOut(r *replicaInfo, b []byte) bool {
	c := r.c
	if c.closed.Load() {
		return false
	}
	r.writingSince.Store(time.Now().UnixMilli())
	defer r.writingSince.Store(0)
	c.outMu.Lock()
	c.out = append(c.out, b...)
	c.outMu.Unlock()
	c.flush()
	// Another writer (the connection's own) may have been flushing: wait for it to drain.
	for wait := 50 * time.Microsecond; c.outputLen() > 0 && !c.closed.Load(); wait = min(2*wait, 5*time.Millisecond) {
		time.Sleep(wait)
		c.flush()
	}
	return !c.closed.Load()
}

// dropReplica closes a replica's connection, after msg when there is one.
func (s *Server) dropReplica(r *replicaInfo, msg string) {
	c := r.c
	if msg == "" {
		c.close()
		return
	}
	c.push([]byte(msg))
	go func() {
		c.flush()
		c.close()
	}()
}

// startReplicaStream sends a replica the stream held for it and feeds it directly from now
// on (Redis's replicaStartCommandStream).
func (s *Server) startReplicaStream(r *replicaInfo) {
	if r.rdbOnly {
		s.dropReplica(r, "")
		return
	}
	r.startOnAck = false
	r.streaming = true
	if len(r.pending) > 0 {
		r.c.push(r.pending)
	}
	r.pending = nil
	s.log.Noticef("Synchronization with replica %s succeeded", r.name())
}

// replDelSyncFile is rdb-del-sync-files on the master: the dump written only to sync
// replicas is removed once no replica still reads it, when nothing else persists data.
func (s *Server) replDelSyncFile() {
	if !s.repl.rdbForSync || s.repl.sendingBulk > 0 || s.repl.sync != nil {
		return
	}
	s.repl.rdbForSync = false
	if !s.cfgBool("rdb-del-sync-files") || !s.allPersistenceDisabled() {
		return
	}
	s.log.Noticef("Removing the RDB file used to feed replicas in a persistence-less instance")
	os.Remove(s.rdbFilename())
}

// allPersistenceDisabled: no save points and no AOF.
func (s *Server) allPersistenceDisabled() bool {
	return len(s.saveParams()) == 0 && !s.cfgBool("appendonly")
}

// replSyncCron is the per-tick part of the replication cron for full syncs.
func (s *Server) replSyncCron(now time.Time) {
	s.replCheckDiskSync()
	s.replStartPendingSync()
	timeout := time.Duration(s.cfgInt("repl-timeout")) * time.Second
	for _, r := range s.repl.replicas {
		// Only a socket sync waits on its replicas; a stuck disk-based one blocks no one.
		if r.state == replWaitBgsaveEnd && r.sync != nil && !r.sync.disk {
			if since := r.writingSince.Load(); since != 0 && now.UnixMilli()-since > timeout.Milliseconds() {
				s.log.Warningf("Disconnecting timedout replica (full sync): %s", r.name())
				r.c.close()
			}
		}
	}
}

// presyncNewlines is Redis's keepalive for replicas waiting for their snapshot to start or,
// for a disk target, to end: a bare newline, which replicas skip.
func (s *Server) presyncNewlines() {
	for _, r := range s.repl.replicas {
		if r.state == replWaitBgsaveStart || (r.state == replWaitBgsaveEnd && r.sync != nil && r.sync.disk) {
			r.c.push([]byte("\n"))
		}
	}
}

var _ io.Writer = (*replSync)(nil)
