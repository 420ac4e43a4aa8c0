package server

// The master side of replication: REPLCONF and PSYNC/SYNC from replicas, the full sync
// payload and partial resynchronization from the backlog.
//
// A full sync is served disk-less: the snapshot is encoded in memory under the server lock,
// so it is point-in-time with the offset announced in +FULLRESYNC, and queued on the
// replica's connection ahead of any later stream bytes. That stalls the server for the time
// it takes to encode the dataset; streaming it from the forkless snapshot walk is left for
// later.

import (
	"strconv"
	"strings"
	"time"

	"github.com/sard-kv/sard/internal/commands"
	"github.com/sard-kv/sard/internal/crc64"
	"github.com/sard-kv/sard/internal/num"
)

// replicaInfo is what a master knows of one replica connection.
type replicaInfo struct {
	c       *Client
	port    int    // REPLCONF listening-port
	addr    string // REPLCONF ip-address, or the connection's address
	capaEOF bool
	capaP2  bool
	synced  bool   // PSYNC/SYNC accepted: listed in INFO
	online  bool   // receiving the stream
	pending []byte // stream held back until the replica acknowledges a disk-less payload
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
			if r.synced {
				s.log.Noticef("Connection with replica %s:%d lost.", r.ip(), r.port)
			}
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
			if !r.online {
				r.online = true
				r.c.push(r.pending)
				r.pending = nil
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
		case "rdb-only":
			// accepted for redis-cli --rdb; the connection is closed after the payload
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
		if replid != "?" {
			s.log.Noticef("Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '%s', my replication IDs are '%s' and '%s')", replid, s.replID, s.replID2)
		}
		return false
	}
	if s.repl.backlog == nil {
		return false
	}
	data, ok := s.repl.backlog.since(from, s.repl.offset)
	if !ok {
		s.log.Noticef("Unable to partial resync with replica %s for lack of backlog (Replica request was: %d).", c.addr, from)
		return false
	}
	c.flags |= flagReplica
	r.synced, r.online = true, true
	r.ackTime = time.Now()
	if r.capaP2 {
		c.w.Status("CONTINUE " + s.replID)
	} else {
		c.w.Status("CONTINUE")
	}
	c.w.Buf = append(c.w.Buf, data...)
	s.log.Noticef("Partial resynchronization request from %s accepted. Sending %d bytes of backlog starting from offset %d.", c.addr, len(data), from)
	return true
}

// fullResync sends +FULLRESYNC and the snapshot, then puts the replica online.
func (s *Server) fullResync(c *Client, psync bool) {
	r := s.replicaFor(c)
	s.repl.syncFull++
	if s.repl.backlog == nil {
		// The first replica starts a new history (Redis's changeReplicationId).
		s.replID = randomHex(40)
		s.replID2 = strings.Repeat("0", 40)
		s.repl.secondOffset = -1
	}
	s.ensureBacklog()
	s.prop.flush()
	c.flags |= flagReplica
	r.synced = true
	r.ackTime = time.Now()
	s.log.Noticef("Replica %s asks for synchronization", c.addr)
	s.log.Noticef("Starting BGSAVE for SYNC with target: replicas sockets")
	if psync {
		c.w.Status("FULLRESYNC " + s.replID + " " + strconv.FormatInt(s.repl.offset, 10))
	}
	payload := s.snapshotPayload()
	if r.capaEOF && psync {
		mark := randomHex(40)
		c.w.Buf = append(c.w.Buf, "$EOF:"+mark+"\r\n"...)
		c.w.Buf = append(c.w.Buf, payload...)
		c.w.Buf = append(c.w.Buf, mark...)
	} else {
		c.w.Buf = append(c.w.Buf, "$"+strconv.Itoa(len(payload))+"\r\n"...)
		c.w.Buf = append(c.w.Buf, payload...)
	}
	// The stream after the snapshot must say which database it writes to.
	s.prop.db = -1
	// A disk-less payload ends with its mark, which the replica only recognizes as the
	// last bytes it reads: the stream waits for its first ACK, as Redis's does.
	r.online = !(r.capaEOF && psync)
	s.log.Noticef("Synchronization with replica %s succeeded", c.addr)
}

// snapshotPayload encodes the whole dataset as an RDB file in memory, with the lock held.
func (s *Server) snapshotPayload() []byte {
	sn := s.newSnapshot()
	for !sn.step(0) {
	}
	b := sn.enc.Buf
	var sum uint64
	if s.cfgBool("rdbchecksum") {
		sum = crc64.Update(0, b)
	}
	for i := 0; i < 8; i++ {
		b = append(b, byte(sum>>(8*i)))
	}
	return b
}

// isWriteCommand is Redis's is_write_command: a write, or an EXEC with a queued write.
func isWriteCommand(c *Client, cmd *Command) bool {
	if cmd.Spec.Flags&commands.FlagWrite != 0 {
		return true
	}
	if cmd.FullName == "exec" {
		for _, q := range c.multiQ {
			if q.cmd.Spec.Flags&commands.FlagWrite != 0 {
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
