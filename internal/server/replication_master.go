package server

// The master side of replication: REPLCONF and PSYNC/SYNC from replicas, partial
// resynchronization from the backlog, and the stream fed to each replica. Full syncs are
// replication_sync.go.

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/sard-kv/sard/internal/commands"
	"github.com/sard-kv/sard/internal/num"
	"github.com/sard-kv/sard/internal/resp"
)

// replicaInfo is what a master knows of one replica connection.
type replicaInfo struct {
	c       *Client
	port    int    // REPLCONF listening-port
	addr    string // REPLCONF ip-address, or the connection's address
	capaEOF bool
	capaP2  bool
	rdbOnly bool // REPLCONF rdb-only 1: the connection ends after the payload
	psync   bool // came with PSYNC, not the old SYNC

	// REPLCONF rdb-filter-only: the payload holds no keys, and functions only if asked
	filtered, filterFunctions bool

	state         int          // replStateNone ... replOnline
	sync          *replSync    // the snapshot it waits for, while replWaitBgsaveEnd
	waitSince     time.Time    // when it started waiting for a snapshot
	initialOffset int64        // the offset its +FULLRESYNC announced
	pending       []byte       // stream held until it has its payload
	streaming     bool         // the stream goes straight to its connection
	startOnAck    bool         // a socket payload was sent: stream on the first ACK
	writingSince  atomic.Int64 // unix ms since a payload write has been blocked, 0 when none

	ackOff  int64
	ackTime time.Time
}

func (r *replicaInfo) ip() string {
	if r.addr != "" {
		return r.addr
	}
	h, _ := splitHostPort(r.c.addr)
	return h
}

// replicaFor returns the replication record of c, creating it for a handshake.
func (s *Server) replicaFor(c *Client) *replicaInfo {
	for _, r := range s.repl.replicas {
		if r.c == c {
			return r
		}
	}
	r := &replicaInfo{c: c, ackTime: time.Now()}
	s.repl.replicas = append(s.repl.replicas, r)
	return r
}

// replClientGone forgets a replica or our master link when its connection ends.
func (s *Server) replClientGone(c *Client) {
	for i, r := range s.repl.replicas {
		if r.c == c {
			s.repl.replicas = append(s.repl.replicas[:i], s.repl.replicas[i+1:]...)
			if r.state != replStateNone {
				s.log.Noticef("Connection with replica %s lost.", r.name())
			}
			r.pending = nil
			break
		}
	}
	if s.repl.link == c {
		s.repl.link = nil
		s.repl.linkUp = false
		s.repl.linkDownAt = time.Now()
		s.repl.masterDB = c.db.id
	}
}

// replconfCommand is REPLCONF option value ...: the replica's half of the handshake and its
// acknowledgements.
func replconfCommand(c *Client) {
	s := c.srv
	if len(c.argv)%2 == 0 {
		c.w.Error(errSyntax)
		return
	}
	for i := 1; i < len(c.argv); i += 2 {
		opt, val := strings.ToLower(string(c.argv[i])), c.argv[i+1]
		switch opt {
		case "listening-port":
			port, ok := num.ParseInt64(val)
			if !ok {
				c.w.Error(errNotInt)
				return
			}
			s.replicaFor(c).port = int(port)
		case "ip-address":
			s.replicaFor(c).addr = string(val)
		case "capa":
			r := s.replicaFor(c)
			switch strings.ToLower(string(val)) {
			case "eof":
				r.capaEOF = true
			case "psync2":
				r.capaP2 = true
			}
		case "ack":
			// Acknowledgements get no reply, and only count from a synced replica.
			if c.flags&flagReplica == 0 {
				return
			}
			off, ok := num.ParseInt64(val)
			if !ok {
				return
			}
			r := s.replicaFor(c)
			if off > r.ackOff {
				r.ackOff = off
			}
			r.ackTime = time.Now()
			if r.startOnAck {
				s.startReplicaStream(r)
			}
			if s.repl.ackCond != nil {
				s.repl.ackCond.Broadcast()
			}
			return
		case "getack":
			if c.flags&flagMaster != 0 {
				s.sendAck()
			}
			return
		case "rdb-filter-only":
			// Include filters for the payload: "functions", or none for an empty RDB
			// (redis-cli --functions-rdb and --replica).
			args, ok := resp.SplitArgs(val, nil)
			if !ok {
				c.w.Error("ERR Missing rdb-filter-only values")
				return
			}
			functions := false
			for _, a := range args {
				if !strings.EqualFold(string(a), "functions") {
					c.w.Error("ERR Unsupported rdb-filter-only option: " + string(a))
					return
				}
				functions = true
			}
			r := s.replicaFor(c)
			r.filtered, r.filterFunctions = true, functions
		case "rdb-only":
			// redis-cli --rdb: the connection is closed after the payload
			v, ok := num.ParseInt64(val)
			if !ok || (v != 0 && v != 1) {
				c.w.Error(errSyntax)
				return
			}
			s.replicaFor(c).rdbOnly = v == 1
		default:
			c.w.Error("ERR Unrecognized REPLCONF option: " + string(c.argv[i]))
			return
		}
	}
	c.w.OK()
}

// psyncCommand is PSYNC replid offset and the old SYNC: a partial resynchronization when
// the backlog covers the replica's offset on our history, a full one otherwise.
func psyncCommand(c *Client) {
	s := c.srv
	if c.flags&flagReplica != 0 {
		return // already a replica: Redis ignores it
	}
	if s.repl.masterHost != "" && !s.repl.linkUp {
		c.w.Error("NOMASTERLINK Can't SYNC while not connected with my master")
		return
	}
	r := s.replicaFor(c)
	s.log.Noticef("Replica %s asks for synchronization", r.name())
	psync := strings.EqualFold(string(c.argv[0]), "psync")
	if psync {
		if len(c.argv) != 3 {
			c.w.Error("ERR wrong number of arguments for 'psync' command")
			return
		}
		off, ok := num.ParseInt64(c.argv[2])
		if !ok {
			c.w.Error(errNotInt)
			return
		}
		if s.tryPartialResync(c, string(c.argv[1]), off) {
			s.repl.syncPartialOK++
			return
		}
		if string(c.argv[1]) != "?" {
			s.repl.syncPartialErr++
		}
	}
	s.fullResync(c, psync)
}

// tryPartialResync answers +CONTINUE and queues the missing stream when it can.
func (s *Server) tryPartialResync(c *Client, replid string, from int64) bool {
	r := s.replicaFor(c)
	if !strings.EqualFold(replid, s.replID) && (!strings.EqualFold(replid, s.replID2) || from > s.repl.secondOffset) {
		switch {
		case replid == "?":
			s.log.Noticef("Full resync requested by replica %s", r.name())
		case strings.EqualFold(replid, s.replID2):
			s.log.Noticef("Partial resynchronization not accepted: Requested offset for second ID was %d, but I can reply up to %d", from, s.repl.secondOffset)
		default:
			s.log.Noticef("Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '%s', my replication IDs are '%s' and '%s')", replid, s.replID, s.replID2)
		}
		return false
	}
	if s.repl.backlog == nil {
		return false
	}
	data, ok := s.repl.backlog.since(from, s.repl.offset)
	if !ok {
		s.log.Noticef("Unable to partial resync with replica %s for lack of backlog (Replica request was: %d).", r.name(), from)
		if from > s.repl.offset {
			s.log.Warningf("Warning: replica %s tried to PSYNC with an offset that is greater than the master replication offset.", r.name())
		}
		return false
	}
	c.flags |= flagReplica
	s.replSetNoDelay(c)
	r.psync = true
	r.state = replOnline
	r.streaming = true
	r.ackTime = time.Now()
	if r.capaP2 {
		c.w.Status("CONTINUE " + s.replID)
	} else {
		c.w.Status("CONTINUE")
	}
	c.w.Buf = append(c.w.Buf, data...)
	s.log.Noticef("Partial resynchronization request from %s accepted. Sending %d bytes of backlog starting from offset %d.", r.name(), len(data), from)
	return true
}

// isWriteCommand is Redis's is_write_command: a write, or an EXEC with a queued write.
func isWriteCommand(c *Client, cmd *Command) bool {
	if c.srv.commandFlags(c, cmd)&commands.FlagWrite != 0 { // scripts: their declared flags
		return true
	}
	if cmd.FullName == "exec" {
		for _, q := range c.multiQ {
			if c.srv.flagsFor(q.cmd, q.argv)&commands.FlagWrite != 0 {
				return true
			}
		}
	}
	return false
}

func init() {
	register(map[string]func(*Client){
		"replconf": replconfCommand,
		"psync":    psyncCommand,
		"sync":     psyncCommand,
	})
}
