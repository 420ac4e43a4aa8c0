package server

// Replication information in RDB files (Redis's rdbSaveInfo): every RDB sard writes while it
// has a replication history carries the stream's database, the replication id and the
// offset the snapshot stands for, as Redis's does. A server started from such a file picks
// its history up again, so a restarted replica can continue with a partial resync, and a
// restarted master can accept its former replicas' PSYNC at the offset it stopped at.

import (
	"strconv"

	"github.com/sard-kv/sard/internal/rdb"
)

// loadedReplInfo is what the dataset file read at start-up said.
type loadedReplInfo struct {
	streamDB int
	id       string
	offset   int64
	seen     int // bit per field seen
}

// iAmMaster is Redis's iAmMaster: no master configured, including by the replicaof
// directive before the first cron acts on it.
func (s *Server) iAmMaster() bool {
	if s.repl.masterHost != "" {
		return false
	}
	return s.repl.startChecked || s.cfgStr("replicaof") == ""
}

// replSaveInfoAux writes the replication fields of an RDB header when there is a history to
// name (rdbPopulateSaveInfo): a master with a backlog, or a replica whose master link is
// up or was. Called by newSnapshot with the lock held.
func (s *Server) replSaveInfoAux(e *rdb.Encoder) {
	var streamDB int
	switch {
	case s.repl.masterHost == "" && s.repl.backlog != nil:
		// The stream's database: the next command selects explicitly when it is unknown.
		streamDB = max(s.prop.db, 0)
	case s.repl.masterHost != "" && s.repl.link != nil && s.repl.link.db != nil:
		streamDB = s.repl.link.db.id
	case s.repl.masterHost != "" && s.repl.haveHistory:
		streamDB = max(s.repl.masterDB, 0)
	default:
		return
	}
	if s.prop.blockDepth > 0 {
		return // inside EXEC the stream and the data disagree until the block ends
	}
	// The batch's earlier writes are in the data: their stream bytes must be counted in
	// the offset too.
	s.prop.flush()
	e.AuxInt("repl-stream-db", int64(streamDB))
	e.Aux("repl-id", s.replID)
	e.AuxInt("repl-offset", s.repl.offset)
}

// replNoteLoadedInfo takes a replication field of the file being loaded. Only the start-up
// load of an RDB counts (Redis passes no rdbSaveInfo to DEBUG RELOAD or the AOF loader); the
// history is restored once the three fields are known.
func (s *Server) replNoteLoadedInfo(k, v []byte) {
	if s.repl.startChecked || !s.persist.load.yield || s.cfgBool("appendonly") {
		return
	}
	l := &s.repl.loaded
	switch string(k) {
	case "repl-stream-db":
		if n, err := strconv.Atoi(string(v)); err == nil {
			l.streamDB = n
			l.seen |= 1
		}
	case "repl-id":
		if len(v) == 40 {
			l.id = string(v)
			l.seen |= 2
		}
	case "repl-offset":
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil && n >= 0 {
			l.offset = n
			l.seen |= 4
		}
	}
	if l.seen == 7 {
		s.replRestoreLoadedInfo(*l)
	}
}

// replRestoreLoadedInfo applies the start-up file's replication information (Redis's
// loadDataFromDisk tail).
func (s *Server) replRestoreLoadedInfo(l loadedReplInfo) {
	if s.cfgStr("replicaof") != "" {
		// A replica continues its master's history from the file's point in time.
		s.replID = l.id
		s.repl.offset = l.offset
		s.repl.readOffset = l.offset
		s.repl.haveHistory = true
		s.repl.masterDB = l.streamDB
		return
	}
	// A master keeps the old history as its second id: replicas that had everything up to
	// the file's offset continue with +CONTINUE.
	s.replID2 = l.id
	s.repl.secondOffset = l.offset + 1
	s.repl.offset = l.offset
	s.ensureBacklog()
	// Nothing says which database the continued stream is in: select explicitly.
	s.prop.db = -1
}
