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
	"time"

	"github.com/sard-kv/sard/internal/resp"
)

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
	timeout := time.Duration(s.cfgInt("repl-timeout")) * time.Second
	auth, user := s.cfgStr("masterauth"), s.cfgStr("masteruser")
	announcePort := s.cfgInt("replica-announce-port")
	if announcePort == 0 {
		announcePort = s.cfgInt("port")
	}
	replid, offset, history := s.replID, s.repl.offset, s.repl.haveHistory
	s.mu.Unlock()

	conn.SetDeadline(time.Now().Add(timeout))
	r := bufio.NewReaderSize(conn, 64*1024)
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
		reply, err = readLine(r) // keepalive newlines
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

// receiveSnapshot reads the RDB payload into a temporary file and loads it in place of the
// dataset.
func (s *Server) receiveSnapshot(gen int64, conn net.Conn, r *bufio.Reader, timeout time.Duration, replid string, off int64) error {
	s.mu.Lock()
	s.repl.syncing = true
	s.mu.Unlock()
	var header string
	var err error
	for header == "" {
		conn.SetDeadline(time.Now().Add(timeout))
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
	tmp := fmt.Sprintf("temp-%d.%d.rdb", time.Now().Unix(), os.Getpid())
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("Opening the temp file needed for MASTER <-> REPLICA synchronization: %v", err)
	}
	defer os.Remove(tmp)
	w := bufio.NewWriterSize(f, 256*1024)
	var size int64
	if mark, ok := strings.CutPrefix(header, "$EOF:"); ok && len(mark) == 40 {
		s.log.Noticef("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk")
		size, err = copyUntilMark(w, r, []byte(mark), conn, timeout)
	} else {
		n, perr := strconv.ParseInt(header[1:], 10, 64)
		if perr != nil || n < 0 {
			f.Close()
			return fmt.Errorf("Bad protocol from MASTER: '%s'", header)
		}
		s.log.Noticef("MASTER <-> REPLICA sync: receiving %d bytes from master to disk", n)
		size, err = copyN(w, r, n, conn, timeout)
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("I/O error trying to sync with MASTER: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repl.gen != gen {
		return errStaleLink
	}
	s.log.Noticef("MASTER <-> REPLICA sync: Flushing old data")
	s.bgsaveAbort()
	s.flushFunctions()
	for _, db := range s.dbs {
		flushDB(db)
	}
	s.log.Noticef("MASTER <-> REPLICA sync: Loading DB in memory")
	if err := s.loadRDB(tmp, false, true); err != nil {
		s.log.Warningf("Failed trying to load the MASTER synchronization DB from disk: %v", err)
		return errors.New("MASTER <-> REPLICA sync: failed to load the payload")
	}
	// The loaded payload becomes our dump file, as in Redis's disk-based load.
	if name := s.rdbFilename(); name != "" {
		if data, err := os.ReadFile(tmp); err == nil {
			os.WriteFile(name, data, 0o644)
		}
	}
	s.replID = replid
	s.replID2 = strings.Repeat("0", 40)
	s.repl.secondOffset = -1
	s.repl.offset = off
	s.repl.readOffset = off
	s.repl.backlog = nil
	s.ensureBacklog()
	s.repl.haveHistory = true
	s.repl.masterDB = -1
	// Our own replicas hold the old data set: they must sync again.
	s.disconnectReplicas()
	if s.aof.on {
		s.stopAppendOnly()
		if err := s.startAppendOnly(); err != nil {
			s.log.Warningf("Failed enabling the AOF after successful master synchronization!")
		}
	}
	s.repl.syncing = false
	s.log.Noticef("MASTER <-> REPLICA sync: Finished with success (%d bytes)", size)
	return nil
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
		s.replFeed(raw)
	}
	c.argv = nil
	s.afterCommands()
	if c.rstart == c.rend {
		c.rstart, c.rend = 0, 0
	}
	return true
}
