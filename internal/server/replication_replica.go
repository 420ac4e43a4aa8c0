package server

// The replica side of replication: one goroutine per REPLICAOF connects to the master,
// performs Redis's handshake (PING, AUTH, REPLCONF listening-port, REPLCONF capa, PSYNC),
// receives and loads the snapshot on a full resync, then applies the stream through the
// normal command path as the master client, with its replies dropped. It reconnects every
// second while the link is down, asking for a partial resync from its offset.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sard-kv/sard/internal/resp"
)

// xferProgress counts the bytes read from the master during a full sync and when the last
// ones came, for INFO's master_sync_* fields; the link goroutine updates it without the lock.
type xferProgress struct {
	read   atomic.Int64
	lastIO atomic.Int64 // unix s
}

type countingReader struct {
	r io.Reader
	p *xferProgress
}

func (c countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if n > 0 {
		c.p.read.Add(int64(n))
		c.p.lastIO.Store(time.Now().Unix())
	}
	return n, err
}

// errStaleLink ends a link goroutine whose REPLICAOF has been replaced.
var errStaleLink = errors.New("replication link replaced")

func (s *Server) startReplicaLink() {
	go s.replicaLoop(s.repl.gen, s.repl.masterHost, s.repl.masterPort)
}

func (s *Server) linkCurrent(gen int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repl.gen == gen && !s.shuttingDown.Load()
}

func (s *Server) replicaLoop(gen int64, host string, port int) {
	for s.linkCurrent(gen) {
		err := s.replicaSession(gen, host, port)
		if errors.Is(err, errStaleLink) {
			return
		}
		s.mu.Lock()
		if s.repl.gen == gen {
			if err != nil {
				s.log.Warningf("%v", err)
			}
			s.repl.linkUp, s.repl.syncing = false, false
			if s.repl.linkDownAt.IsZero() || s.repl.link != nil {
				s.repl.linkDownAt = time.Now()
			}
			s.repl.link = nil
		}
		s.mu.Unlock()
		select {
		case <-s.done:
			return
		case <-time.After(time.Second):
		}
	}
}

// replicaSession runs one connection to the master, from the dial to the end of the stream.
func (s *Server) replicaSession(gen int64, host string, port int) (err error) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return fmt.Errorf("Error condition on socket for SYNC: %v", err)
	}
	s.log.Noticef("MASTER <-> REPLICA sync started")
	defer func() {
		if err != nil {
			conn.Close()
		}
	}()
	s.mu.Lock()
	// Redis checks the silence once a second against repl-timeout whole seconds, so a
	// newline a second from the master always keeps the link: allow one more second.
	timeout := time.Duration(s.cfgInt("repl-timeout"))*time.Second + time.Second
	auth, user := s.cfgStr("masterauth"), s.cfgStr("masteruser")
	announceIP := s.cfgStr("replica-announce-ip")
	announcePort := s.cfgInt("replica-announce-port")
	if announcePort == 0 {
		announcePort = s.cfgInt("port")
	}
	replid, offset, history := s.replID, s.repl.offset, s.repl.haveHistory
	s.mu.Unlock()

	conn.SetDeadline(time.Now().Add(timeout))
	r := bufio.NewReaderSize(countingReader{conn, &s.repl.xfer}, 64*1024)
	ask := func(args ...string) (string, error) {
		argv := make([][]byte, len(args))
		for i, a := range args {
			argv[i] = []byte(a)
		}
		if _, err := conn.Write(appendCommand(nil, argv...)); err != nil {
			return "", err
		}
		return readLine(r)
	}
	reply, err := ask("PING")
	if err != nil {
		return fmt.Errorf("Error reply to PING from master: %v", err)
	}
	// An unauthenticated PING fails with NOAUTH or NOPERM; AUTH comes next, so that is fine.
	if strings.HasPrefix(reply, "-") && !strings.HasPrefix(reply, "-NOAUTH") && !strings.HasPrefix(reply, "-NOPERM") &&
		!strings.HasPrefix(reply, "-ERR operation not permitted") {
		return fmt.Errorf("Error reply to PING from master: '%s'", reply)
	}
	s.log.Noticef("Master replied to PING, replication can continue...")
	if auth != "" {
		args := []string{"AUTH", auth}
		if user != "" {
			args = []string{"AUTH", user, auth}
		}
		if reply, err = ask(args...); err != nil || strings.HasPrefix(reply, "-") {
			return fmt.Errorf("Unable to AUTH to MASTER: %s%v", reply, errOrEmpty(err))
		}
	}
	if reply, err = ask("REPLCONF", "listening-port", strconv.FormatInt(announcePort, 10)); err != nil {
		return err
	} else if strings.HasPrefix(reply, "-") {
		s.log.Noticef("(Non critical) Master does not understand REPLCONF listening-port: %s", reply)
	}
	if announceIP != "" {
		if reply, err = ask("REPLCONF", "ip-address", announceIP); err != nil {
			return err
		} else if strings.HasPrefix(reply, "-") {
			s.log.Noticef("(Non critical) Master does not understand REPLCONF ip-address: %s", reply)
		}
	}
	if reply, err = ask("REPLCONF", "capa", "eof", "capa", "psync2"); err != nil {
		return err
	} else if strings.HasPrefix(reply, "-") {
		s.log.Noticef("(Non critical) Master does not understand REPLCONF capa: %s", reply)
	}
	psyncID, psyncOff := "?", "-1"
	if history {
		psyncID, psyncOff = replid, strconv.FormatInt(offset+1, 10)
		s.log.Noticef("Trying a partial resynchronization (request %s:%s).", psyncID, psyncOff)
	} else {
		s.log.Noticef("Partial resynchronization not possible (no cached master)")
	}
	reply, err = ask("PSYNC", psyncID, psyncOff)
	for err == nil && reply == "" {
		// Newlines keep the link alive while the master prepares our snapshot.
		conn.SetDeadline(time.Now().Add(timeout))
		reply, err = readLine(r)
	}
	if err != nil {
		return fmt.Errorf("Error reading PSYNC reply: %v", err)
	}
	switch {
	case strings.HasPrefix(reply, "+FULLRESYNC"):
		f := strings.Fields(reply)
		if len(f) != 3 {
			return fmt.Errorf("Bad +FULLRESYNC reply from master: '%s'", reply)
		}
		off, perr := strconv.ParseInt(f[2], 10, 64)
		if perr != nil {
			return fmt.Errorf("Bad +FULLRESYNC reply from master: '%s'", reply)
		}
		s.log.Noticef("Full resync from master: %s:%d", f[1], off)
		if err = s.receiveSnapshot(gen, conn, r, timeout, f[1], off); err != nil {
			return err
		}
	case strings.HasPrefix(reply, "+CONTINUE"):
		s.log.Noticef("Successful partial resynchronization with master.")
		newID := strings.TrimSpace(strings.TrimPrefix(reply, "+CONTINUE"))
		s.mu.Lock()
		if s.repl.gen != gen {
			s.mu.Unlock()
			return errStaleLink
		}
		if newID != "" && newID != s.replID {
			s.replID2 = s.replID
			s.repl.secondOffset = s.repl.offset + 1
			s.replID = newID
			s.log.Noticef("Master replication ID changed to %s", newID)
			s.disconnectReplicas()
		}
		s.mu.Unlock()
		s.log.Noticef("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.")
	default:
		return fmt.Errorf("Unexpected reply to PSYNC from master: %s", reply)
	}
	conn.SetDeadline(time.Time{})
	return s.runMasterLink(gen, conn, r)
}

func errOrEmpty(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// readLine reads one CRLF-terminated line without its terminator.
func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// receiveSnapshot reads and loads the full-sync payload, as repl-diskless-load says (see
// replication_load.go), and adopts the master's history (replid, offset) on success.
func (s *Server) receiveSnapshot(gen int64, conn net.Conn, r *bufio.Reader, timeout time.Duration, replid string, off int64) error {
	s.mu.Lock()
	s.repl.syncing = true
	s.mu.Unlock()
	refresh := refreshDeadline(conn, timeout)
	var header string
	var err error
	for header == "" {
		refresh()
		if header, err = readLine(r); err != nil {
			return fmt.Errorf("I/O error reading bulk count from MASTER: %v", err)
		}
	}
	if header[0] == '-' {
		return fmt.Errorf("MASTER aborted replication with an error: %s", header[1:])
	}
	if header[0] != '$' {
		return fmt.Errorf("Bad protocol from MASTER, the first byte is not '$' (we received '%s'), are you sure the host and port are right?", header)
	}
	mark, eof := strings.CutPrefix(header, "$EOF:")
	eof = eof && len(mark) == 40
	var size int64 = -1
	if !eof {
		n, perr := strconv.ParseInt(header[1:], 10, 64)
		if perr != nil || n < 0 {
			return fmt.Errorf("Bad protocol from MASTER: '%s'", header)
		}
		size = n
	}

	s.mu.Lock()
	s.repl.xferSize = max(size, 0) // 0 for the EOF form, as Redis shows it
	s.repl.xfer.read.Store(int64(r.Buffered()))
	mode := s.cfgStr("repl-diskless-load")
	diskless := mode == "swapdb" || (mode == "on-empty-db" && s.datasetEmpty())
	s.mu.Unlock()
	if !diskless {
		return s.loadSyncFromDisk(gen, conn, r, timeout, replid, off, eof, mark, size)
	}

	// Disk-less: load straight from the socket.
	var src io.Reader
	if eof {
		s.log.Noticef("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to parser")
		src = newMarkReader(r, mark, refresh)
	} else {
		s.log.Noticef("MASTER <-> REPLICA sync: receiving %d bytes from master to parser", size)
		src = deadlineReader{io.LimitReader(r, size), refresh}
	}
	s.mu.Lock()
	if s.repl.gen != gen {
		s.mu.Unlock()
		return errStaleLink
	}
	swap := mode == "swapdb"
	async := swap && s.replID == replid
	s.replBeforeLoad()
	if !swap {
		s.log.Noticef("MASTER <-> REPLICA sync: Flushing old data")
		s.emptyDatasetForSync()
	}
	if async {
		s.startAsyncLoading(max(size, 0))
	} else {
		s.startLoading(max(size, 0), false)
	}
	s.log.Noticef("MASTER <-> REPLICA sync: Loading DB in memory")
	s.mu.Unlock()

	l := s.newReplLoader()
	err = l.load(src)
	if err == nil && !eof {
		drainExtra(src)
	}
	if m, ok := src.(*markReader); ok && err == nil {
		if _, rerr := m.Read(make([]byte, 1)); rerr != io.EOF {
			err = errors.New("the payload did not end with its EOF marker")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLoading()
	if s.repl.gen != gen {
		return errStaleLink
	}
	if err == nil {
		err = l.install()
	}
	if err != nil {
		s.log.Warningf("Failed trying to load the MASTER synchronization DB from socket, check server logs.")
		s.log.Warningf("%v", err)
		if swap {
			s.log.Noticef("MASTER <-> REPLICA sync: Discarding the half-loaded data")
		} else {
			s.emptyDatasetForSync()
		}
		s.replAfterLoad(false)
		return errors.New("MASTER <-> REPLICA sync: failed to load the payload")
	}
	if swap {
		s.log.Noticef("MASTER <-> REPLICA sync: Swapping the loaded data in place of the old")
	}
	s.replAdoptMaster(l, replid, off)
	s.replAfterLoad(true)
	s.log.Noticef("MASTER <-> REPLICA sync: Finished with success")
	return nil
}

// loadSyncFromDisk receives the payload into a temporary file, then loads it as dbfilename.
func (s *Server) loadSyncFromDisk(gen int64, conn net.Conn, r *bufio.Reader, timeout time.Duration, replid string, off int64, eof bool, mark string, size int64) error {
	tmp := fmt.Sprintf("temp-%d.%d.rdb", time.Now().Unix(), os.Getpid())
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("Opening the temp file needed for MASTER <-> REPLICA synchronization: %v", err)
	}
	defer os.Remove(tmp)
	w := bufio.NewWriterSize(f, 256*1024)
	if eof {
		s.log.Noticef("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk")
		size, err = copyUntilMark(w, r, []byte(mark), conn, timeout)
	} else {
		s.log.Noticef("MASTER <-> REPLICA sync: receiving %d bytes from master to disk", size)
		size, err = copyN(w, r, size, conn, timeout)
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("I/O error trying to sync with MASTER: %v", err)
	}
	s.mu.Lock()
	if s.repl.gen != gen {
		s.mu.Unlock()
		return errStaleLink
	}
	s.replBeforeLoad()
	s.log.Noticef("MASTER <-> REPLICA sync: Flushing old data")
	s.emptyDatasetForSync()
	name := s.rdbFilename()
	if err := os.Rename(tmp, name); err != nil {
		s.log.Warningf("Failed trying to rename the temp DB into %s in MASTER <-> REPLICA synchronization: %v", name, err)
		s.replAfterLoad(false)
		s.mu.Unlock()
		return errors.New("MASTER <-> REPLICA sync: failed to install the payload")
	}
	syncDir(name)
	s.log.Noticef("MASTER <-> REPLICA sync: Loading DB in memory")
	s.startLoading(size, false)
	s.mu.Unlock()

	l := s.newReplLoader()
	in, err := os.Open(name)
	if err == nil {
		err = l.load(bufio.NewReaderSize(in, 1<<20))
		in.Close()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLoading()
	if s.repl.gen != gen {
		return errStaleLink
	}
	if err == nil {
		err = l.install()
	}
	if err != nil {
		s.log.Warningf("Failed trying to load the MASTER synchronization DB from disk, check server logs.")
		s.log.Warningf("%v", err)
		s.emptyDatasetForSync()
		s.replAfterLoad(false)
		s.replDelReceivedFile()
		return errors.New("MASTER <-> REPLICA sync: failed to load the payload")
	}
	s.replDelReceivedFile()
	s.replAdoptMaster(l, replid, off)
	s.replAfterLoad(true)
	s.log.Noticef("MASTER <-> REPLICA sync: Finished with success")
	return nil
}

// replDelReceivedFile is rdb-del-sync-files on a replica without persistence: the payload
// saved as dbfilename is removed once loaded.
func (s *Server) replDelReceivedFile() {
	if s.cfgBool("rdb-del-sync-files") && s.allPersistenceDisabled() {
		s.log.Noticef("Removing the RDB file obtained from the master. This replica has persistence disabled")
		os.Remove(s.rdbFilename())
	}
}

// replBeforeLoad stops what must not run across a full-sync load: a snapshot of the old
// data and the AOF (restarted after, on the new data, as Redis does). Our own replicas hold
// the old history and must sync again.
func (s *Server) replBeforeLoad() {
	s.bgsaveAbort()
	s.disconnectReplicas()
	s.repl.backlog = nil
	s.repl.haveHistory = false
	if s.aof.on {
		s.stopAppendOnly()
		s.repl.aofWasOn = true
	}
}

// replAfterLoad restarts the AOF stopped by replBeforeLoad.
func (s *Server) replAfterLoad(bool) {
	if s.repl.aofWasOn {
		s.repl.aofWasOn = false
		if err := s.startAppendOnly(); err != nil {
			s.log.Warningf("Failed enabling the AOF after successful master synchronization!")
		}
	}
}

// replAdoptMaster takes the master's history after a full sync: its replication id and the
// offset of the snapshot; the master client starts in the database the payload names.
func (s *Server) replAdoptMaster(l *replLoader, replid string, off int64) {
	s.replID = replid
	s.replID2 = zeroReplID
	s.repl.secondOffset = -1
	s.repl.offset = off
	s.repl.readOffset = off
	s.repl.backlog = nil
	s.ensureBacklog()
	s.repl.haveHistory = true
	s.repl.masterDB = max(l.streamDB, 0)
	s.repl.syncing = false
}

// copyN copies exactly n bytes, refreshing the read deadline as data flows.
func copyN(w io.Writer, r *bufio.Reader, n int64, conn net.Conn, timeout time.Duration) (int64, error) {
	buf := make([]byte, 64*1024)
	var done int64
	for done < n {
		conn.SetDeadline(time.Now().Add(timeout))
		k, err := r.Read(buf[:min(int64(len(buf)), n-done)])
		if k > 0 {
			if _, werr := w.Write(buf[:k]); werr != nil {
				return done, werr
			}
			done += int64(k)
		}
		if err != nil && done < n {
			return done, err
		}
	}
	return done, nil
}

// copyUntilMark copies the disk-less payload, which ends with the 40-byte mark announced in
// its header. Bytes after the mark are already the stream and stay in r.
func copyUntilMark(w io.Writer, r *bufio.Reader, mark []byte, conn net.Conn, timeout time.Duration) (int64, error) {
	var pending []byte
	var total int64
	for {
		conn.SetDeadline(time.Now().Add(timeout))
		if _, err := r.Peek(1); err != nil {
			return total, err
		}
		chunk, _ := r.Peek(r.Buffered())
		pending = append(pending, chunk...)
		if i := bytes.Index(pending, mark); i >= 0 {
			// Consume only up to the end of the mark.
			consumed := len(chunk) - (len(pending) - (i + len(mark)))
			r.Discard(consumed)
			if _, err := w.Write(pending[:i]); err != nil {
				return total, err
			}
			return total + int64(i), nil
		}
		r.Discard(len(chunk))
		if keep := len(mark) - 1; len(pending) > keep {
			out := pending[:len(pending)-keep]
			if _, err := w.Write(out); err != nil {
				return total, err
			}
			total += int64(len(out))
			pending = append(pending[:0], pending[len(pending)-keep:]...)
		}
	}
}

// runMasterLink makes the connection our master client and applies the stream until it
// ends. Bytes already buffered by the handshake reader are the start of the stream.
func (s *Server) runMasterLink(gen int64, conn net.Conn, r *bufio.Reader) error {
	c := newClient(s, conn, s.nextID.Add(1))
	c.flags |= flagMaster
	c.authed = true
	if n := r.Buffered(); n > 0 {
		head, _ := r.Peek(n)
		if n > len(c.rbuf) {
			c.rbuf = make([]byte, n+readChunk)
		}
		c.rend = copy(c.rbuf, head)
	}
	s.mu.Lock()
	if s.repl.gen != gen {
		s.mu.Unlock()
		conn.Close()
		return errStaleLink
	}
	db := max(s.repl.masterDB, 0)
	if db >= len(s.dbs) {
		db = 0
	}
	c.db = s.dbs[db]
	s.clients[c.id] = c
	s.repl.multiBuf = s.repl.multiBuf[:0]
	s.ensureBacklog()
	s.repl.link = c
	s.repl.linkUp = true
	s.repl.lastIO = time.Now()
	s.repl.readOffset = s.repl.offset + int64(c.rend)
	s.log.Noticef("MASTER <-> REPLICA sync: Master link is up")
	s.sendAck()
	ok := s.applyMasterStream(c, gen)
	s.mu.Unlock()
	c.flush()
	defer s.unlinkClient(c)
	if !ok {
		return errors.New("Protocol error from MASTER, closing the link")
	}
	for {
		if c.rend == len(c.rbuf) && !c.growReadBuffer() {
			return errors.New("MASTER query buffer limit reached")
		}
		n, err := conn.Read(c.rbuf[c.rend:])
		if n > 0 {
			c.rend += n
			s.stats.netInput.Add(int64(n))
			c.lastInteraction.Store(unixMs())
			s.mu.Lock()
			s.repl.lastIO = time.Now()
			s.repl.readOffset += int64(n)
			ok := s.applyMasterStream(c, gen)
			s.mu.Unlock()
			c.flush()
			if !ok {
				return errors.New("Protocol error from MASTER, closing the link")
			}
		}
		if err != nil {
			s.mu.Lock()
			stale := s.repl.gen != gen
			s.mu.Unlock()
			if stale {
				return errStaleLink
			}
			return fmt.Errorf("Connection with master lost: %v", err)
		}
	}
}

// applyMasterStream executes every complete command in c's buffer, with the lock held. Each
// command's bytes then advance our offset and go to our backlog and replicas unchanged.
func (s *Server) applyMasterStream(c *Client, gen int64) bool {
	s.holdMasterWhileBusy(c)
	s.now = time.Now().UnixMilli()
	c.parser.MaxBulkLen = s.maxBulkLen.Load()
	for c.rstart < c.rend && s.repl.gen == gen {
		args, n, err := c.parser.Parse(c.rbuf[c.rstart:c.rend], c.argPool[:0])
		if err != nil {
			if errors.Is(err, resp.ErrIncomplete) {
				break
			}
			return false
		}
		raw := c.rbuf[c.rstart : c.rstart+n]
		c.rstart += n
		if len(args) == 0 {
			continue
		}
		c.argPool = args[:0]
		c.argv = args
		s.processCommand(c)
		s.afterCommand(c)
		c.w.Buf = c.w.Buf[:0] // the master gets no replies
		// A MULTI block counts as applied, and reaches our backlog and replicas, only at
		// its EXEC, as Redis advances the master client's offset outside MULTI only: a link
		// lost inside the block resumes from its MULTI.
		switch {
		case c.flags&flagMulti != 0:
			s.repl.multiBuf = append(s.repl.multiBuf, raw...)
		case len(s.repl.multiBuf) > 0:
			s.repl.multiBuf = append(s.repl.multiBuf, raw...)
			s.replFeed(s.repl.multiBuf)
			s.repl.multiBuf = s.repl.multiBuf[:0]
		default:
			s.replFeed(raw)
		}
	}
	c.argv = nil
	s.afterCommands()
	if c.rstart == c.rend {
		c.rstart, c.rend = 0, 0
	}
	return true
}
