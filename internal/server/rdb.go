package server

// RDB persistence: SAVE, BGSAVE [SCHEDULE], LASTSAVE, save points, the -MISCONF refusal
// of writes (stop-writes-on-bgsave-error, AOF write errors) and the save at shutdown. The
// snapshot machinery is rdb_snapshot.go, loading is rdb_load.go and the file format itself
// is package rdb.
//
// As in Redis, one background operation runs at a time: a BGSAVE, an AOF rewrite or a
// full-sync snapshot occupies s.persist.bgsave (the snapshot the gatekeeper's copy-on-write
// serves). A BGSAVE asked for while an AOF rewrite runs is refused, or scheduled with
// SCHEDULE; a BGREWRITEAOF asked for while a save runs is scheduled. The cron starts
// scheduled operations once the slot is free.

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"time"
)

const bgsaveRetryDelay = 5 // seconds before save points retry after a failure

// errMisconf is Redis 7.0's refusal of writes after a failed background save.
const errMisconf = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error."

// persistState is the RDB side of the server (under s.mu).
type persistState struct {
	lastSave        int64 // unix s of the last successful save (start time before any)
	lastBgsaveOK    bool
	lastBgsaveTry   int64
	lastBgsaveSecs  int64
	saves           int64
	bgsave          *snapshot // the running background snapshot: BGSAVE, AOF rewrite or full sync
	gate            lockGate  // client batches waiting for s.mu, seen by the walk (snapshot_gate.go)
	bgsaveScheduled bool
	dirtyAtStart    int64
	loadedKeys      int64
	expiredOnLoad   int64
	load            loadingState // rdb_load.go

	// Function library hooks, filled in by the functions family: the libraries' code to
	// write (FUNCTION2 records) and how to load one back.
	functionsDump func() [][]byte
	functionsLoad func(code []byte, replace bool) error
}

func (s *Server) initPersistence() {
	s.persist.lastSave = s.startTime.Unix()
	s.persist.lastBgsaveOK = true
	s.persist.lastBgsaveSecs = -1
}

func (s *Server) lastSaveTime() int64 { return s.persist.lastSave }

// rdbFilename is dbfilename, relative to dir (the process runs in dir, as Redis does).
func (s *Server) rdbFilename() string { return s.cfgStr("dbfilename") }

func (s *Server) tempName() string { return "temp-" + strconv.Itoa(os.Getpid()) + ".rdb" }

// rdbSaveRunning reports whether the background slot holds an RDB save (a BGSAVE or a
// full-sync snapshot: Redis's CHILD_TYPE_RDB), not an AOF rewrite.
func (s *Server) rdbSaveRunning() bool {
	sn := s.persist.bgsave
	return sn != nil && (s.aof.rw == nil || s.aof.rw.sn != sn)
}

// childActive is Redis's hasActiveChildProcess: a save or an AOF rewrite is running (a
// rewrite without the RDB preamble still converts its snapshot after the walk).
func (s *Server) childActive() bool { return s.persist.bgsave != nil || s.aof.rw != nil }

// saveSync is rdbSave: the whole dataset to dbfilename with the lock held.
func (s *Server) saveSync() error {
	sn := s.newSnapshot()
	if err := sn.open(s.tempName()); err != nil {
		s.log.Warningf("Failed opening the temp RDB file %s (in server root dir %s) for saving: %s", s.tempName(), cwd(), strerror(err))
		return err
	}
	if sn.keyDelay = s.cfgInt("rdb-key-save-delay"); sn.keyDelay != 0 {
		sn.inDelay = true
	}
	for {
		done := sn.step(0)
		sn.out(sn.take())
		if done || sn.err != nil {
			break
		}
	}
	if err := sn.finish(s.rdbFilename()); err != nil {
		return err
	}
	s.log.Noticef("DB saved on disk")
	s.persist.lastSave = time.Now().Unix()
	s.persist.lastBgsaveOK = true
	s.persist.saves++
	s.dirty = 0
	return nil
}

// bgsaveStart is rdbSaveBackground: a snapshot written by a goroutine while clients run.
func (s *Server) bgsaveStart() error {
	s.persist.lastBgsaveTry = time.Now().Unix()
	sn := s.newSnapshot()
	if err := sn.open(s.tempName()); err != nil {
		s.log.Warningf("Failed opening the temp RDB file %s (in server root dir %s) for saving: %s", s.tempName(), cwd(), strerror(err))
		s.persist.lastBgsaveOK = false
		return err
	}
	sn.background()
	s.persist.dirtyAtStart = s.dirty
	s.persist.bgsave = sn
	sn.attach()
	s.log.Noticef("Background saving started by pid %d", os.Getpid())
	go sn.run()
	return nil
}

// run is the BGSAVE goroutine.
func (sn *snapshot) run() {
	s := sn.srv
	sn.runSteps(func() bool { return false })
	var err error
	if !sn.aborted {
		err = sn.finish(s.rdbFilename())
	}
	sn.ioMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if sn.aborted || s.persist.bgsave != sn {
		return
	}
	sn.detach()
	s.persist.bgsave = nil
	s.persist.lastBgsaveSecs = int64(time.Since(sn.start).Seconds())
	sn.logSteps("Background saving")
	if err != nil {
		s.log.Warningf("Background saving error")
		s.persist.lastBgsaveOK = false
		return
	}
	s.log.Noticef("DB saved on disk")
	s.log.Noticef("Background saving terminated with success")
	s.dirty -= s.persist.dirtyAtStart
	s.persist.lastSave = time.Now().Unix()
	s.persist.lastBgsaveOK = true
	s.persist.saves++
}

// writesDeniedByDiskError reports whether writes are refused because the data can't be
// persisted: the last background save failed (stop-writes-on-bgsave-error, with save
// points), or the AOF's last write or fsync did.
func (s *Server) writesDeniedByDiskError() bool { return s.diskErrorText() != "" }

// diskErrorText is the -MISCONF error writes get, "" when they are allowed (Redis's
// writeCommandsDeniedByDiskError and writeCommandsGetDiskErrorMessage).
func (s *Server) diskErrorText() string {
	if !s.persist.lastBgsaveOK && s.cfgBool("stop-writes-on-bgsave-error") && len(s.saveParams()) > 0 {
		return errMisconf
	}
	if s.aof.on && s.aof.w != nil {
		if e := s.aof.w.diskError(); e != "" {
			return errAOFDiskPrefix + e
		}
	}
	return ""
}

type saveParam struct{ seconds, changes int64 }

// saveParams parses the save directive ("3600 1 300 100 ...").
func (s *Server) saveParams() []saveParam {
	f := strings.Fields(s.cfgStr("save"))
	var out []saveParam
	for i := 0; i+1 < len(f); i += 2 {
		sec, err1 := strconv.ParseInt(f[i], 10, 64)
		ch, err2 := strconv.ParseInt(f[i+1], 10, 64)
		if err1 == nil && err2 == nil {
			out = append(out, saveParam{sec, ch})
		}
	}
	return out
}

// persistenceCron is serverCron's part: save points and scheduled BGSAVEs, when no
// background operation runs.
func (s *Server) persistenceCron() {
	if s.childActive() {
		return
	}
	now := time.Now().Unix()
	retryOK := now-s.persist.lastBgsaveTry > bgsaveRetryDelay || s.persist.lastBgsaveOK
	for _, sp := range s.saveParams() {
		if s.dirty >= sp.changes && now-s.persist.lastSave > sp.seconds && retryOK {
			s.log.Noticef("%d changes in %d seconds. Saving...", sp.changes, sp.seconds)
			s.bgsaveStart()
			return
		}
	}
	if s.persist.bgsaveScheduled && retryOK && s.bgsaveStart() == nil {
		s.persist.bgsaveScheduled = false
	}
}

func saveCommand(c *Client) {
	if c.srv.saveForClient(c) {
		c.w.OK()
	}
}

// saveForClient is SAVE's work, shared with DEBUG RELOAD: a foreground save, refused while a
// background one runs. On failure it replies the error and returns false.
func (s *Server) saveForClient(c *Client) bool {
	if s.rdbSaveRunning() {
		c.w.Error("ERR Background save already in progress")
		return false
	}
	if err := s.saveSync(); err != nil {
		c.w.Error("ERR")
		return false
	}
	return true
}

func bgsaveCommand(c *Client) {
	s := c.srv
	schedule := false
	if len(c.argv) > 1 {
		if len(c.argv) == 2 && strings.EqualFold(string(c.argv[1]), "schedule") {
			schedule = true
		} else {
			c.w.Error(errSyntax)
			return
		}
	}
	inExec := c.flags&flagMulti != 0
	switch {
	case s.rdbSaveRunning():
		c.w.Error("ERR Background save already in progress")
	case s.childActive() || inExec:
		// Inside EXEC Redis defers the save to the cron, as SCHEDULE asks during a rewrite.
		if schedule || inExec {
			s.persist.bgsaveScheduled = true
			c.w.Status("Background saving scheduled")
		} else {
			c.w.Error("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")
		}
	case s.bgsaveStart() == nil:
		c.w.Status("Background saving started")
	default:
		c.w.Error("ERR")
	}
}

// shutdownSave is prepareForShutdown's save part.
func (s *Server) shutdownSave(flags int) error {
	if s.persist.load.active {
		// Saving a half-loaded dataset would overwrite the file being loaded.
		flags = flags&^shutdownSave | shutdownNoSave
	}
	if s.rdbSaveRunning() {
		s.log.Warningf("There is a child saving an .rdb. Killing it!")
		s.bgsaveAbort()
	}
	if flags&shutdownNoSave != 0 {
		return nil
	}
	if len(s.saveParams()) == 0 && flags&shutdownSave == 0 {
		return nil
	}
	s.log.Noticef("Saving the final RDB snapshot before exiting.")
	if err := s.saveSync(); err != nil {
		if flags&shutdownForce != 0 {
			s.log.Warningf("Error trying to save the DB. Exit anyway.")
			return nil
		}
		return errors.New("Error trying to save the DB, can't exit.")
	}
	return nil
}

func init() {
	register(map[string]func(*Client){
		"save":   saveCommand,
		"bgsave": bgsaveCommand,
	})
}

// afterFlushAll is Redis's flushAllDataAndResetRDB tail: with save points set, the emptied
// dataset is saved at once. The save resets the change counter, so FLUSHALL propagates
// itself (Redis forces its propagation too) and counts as the one change since the save.
func (s *Server) afterFlushAll(c *Client) {
	if len(s.saveParams()) == 0 {
		return
	}
	if s.saveSync() != nil {
		return
	}
	s.dirty = 1
	s.prop.command(c.db.id, c.argv, nil)
	c.propArgv = [][]byte{}
}
