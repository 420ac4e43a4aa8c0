package server

// The append-only file, Redis 7.0's multi-part layout: appenddirname holds a manifest, one
// base file (an RDB with aof-use-rdb-preamble, else commands) and incremental files of
// commands. The AOF is one consumer of the propagation stream.
//
// Durability without holding the lock. Feed (under s.mu, once per batch) only appends the
// batch's bytes to a pending buffer and wakes the writer goroutine, which writes whatever
// accumulated and, with appendfsync always, fsyncs it: batches of several clients that
// arrive while one fsync runs share the next one (group commit). With always, a client's
// replies are held back until the fsync covering everything fed before its batch ended has
// completed: executeBatch records that offset in c.syncTarget. An event loop then parks the
// client in its list of clients waiting for durability and goes on serving the others; the
// writer, after each fsync, publishes the offset now durable (synced) and signals every loop
// that has parked clients through an eventfd in its epoll set, and the loop writes the
// replies of those whose target is covered (eventloop_linux.go). A client on a goroutine of
// its own waits in flush on a condition variable instead. While a loop is in the middle of
// a turn, Feed leaves the writer asleep and the loop wakes it at the end of the turn, so
// the batches of one turn share an fsync, as Redis's beforeSleep fsyncs once per turn. With everysec the goroutine writes
// as data arrives and fsyncs once a second; with no it never fsyncs; in both cases nobody
// waits.
//
// Lock order: s.mu, then aofWriter.mu, then aofState.dmu.

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sard-kv/sard/internal/aof"
)

// appendfsync policies.
const (
	fsyncEverysec int32 = iota
	fsyncAlways
	fsyncNo
)

// aofState is the AOF side of the server. Fields without a comment are under s.mu.
type aofState struct {
	on          bool // appendonly in effect (Redis's AOF_ON or AOF_WAIT_REWRITE)
	waitRewrite bool // turned on at run time: the manifest is written once the first base exists
	prefix      string
	dir         string
	manifest    *aof.Manifest
	w           *aofWriter
	rw          *aofRewrite
	scheduled   bool

	rewrites        int64
	failures        int64 // consecutive failed rewrites
	lastRewriteOK   bool
	lastRewriteSecs int64
	rewriteBase     int64 // aof_rewrite_base_size: the AOF's size after the last rewrite or load
	baseSize        int64 // size of the base file
	incrSize        int64 // size of the incremental files before the current one

	// Durability progress of the whole stream, across writers: fed counts bytes handed to
	// the AOF, synced those written (and fsynced under always). Waiters sleep on dcond.
	fed    atomic.Int64
	synced atomic.Int64
	dmu    sync.Mutex
	dcond  *sync.Cond

	// wakeLoops, once event loops exist, signals those with clients parked until synced
	// covers their batch (eventloop_linux.go).
	wakeLoops atomic.Pointer[func()]

	// rounds counts the event loops in the middle of a turn (serving the events of one
	// wait). Meanwhile Feed does not wake the writer: the loop does at the end of its turn,
	// so under always the batches of one turn share an fsync, as the commands Redis runs
	// in one event-loop iteration share beforeSleep's.
	rounds atomic.Int32
	live   atomic.Pointer[aofWriter] // w, for the loops to kick without s.mu
}

func (s *Server) initAOF() {
	a := &s.aof
	a.dcond = sync.NewCond(&a.dmu)
	a.lastRewriteOK = true
	a.lastRewriteSecs = -1
	a.prefix = s.cfgStr("appendfilename")
	a.dir = s.cfgStr("appenddirname")
	s.cfg.OnApply("appendonly", func() error {
		if s.persist.load.active {
			// The start-up load decides from the value it began with; switching now would
			// write a half-loaded dataset as the AOF base.
			return errors.New("appendonly can't be changed while the dataset is loading")
		}
		if s.cfgBool("appendonly") {
			return s.startAppendOnly()
		}
		s.stopAppendOnly()
		return nil
	})
	s.cfg.OnApply("appendfsync", func() error {
		if a.w != nil {
			a.w.policy.Store(s.fsyncPolicy())
		}
		return nil
	})
	s.cfg.OnApply("aof-timestamp-enabled", func() error {
		if a.w != nil {
			a.w.timestamps = s.cfgBool("aof-timestamp-enabled")
		}
		return nil
	})
}

func (s *Server) fsyncPolicy() int32 {
	switch s.cfgStr("appendfsync") {
	case "always":
		return fsyncAlways
	case "no":
		return fsyncNo
	}
	return fsyncEverysec
}

func (a *aofState) path(name string) string { return filepath.Join(a.dir, name) }

// markSynced publishes durability progress and wakes the clients waiting for it.
func (a *aofState) markSynced(off int64) {
	a.dmu.Lock()
	if off > a.synced.Load() {
		a.synced.Store(off)
	}
	a.dcond.Broadcast()
	a.dmu.Unlock()
	if wake := a.wakeLoops.Load(); wake != nil {
		(*wake)()
	}
}

// waitSynced blocks until everything up to off is durable (flush on a client's own
// goroutine, outside the lock).
func (a *aofState) waitSynced(off int64) {
	if a.synced.Load() >= off {
		return
	}
	a.dmu.Lock()
	for a.synced.Load() < off {
		a.dcond.Wait()
	}
	a.dmu.Unlock()
}

// aofSyncPoint records, at the end of a batch, how much of the stream must be durable before
// the client's replies may leave: with appendfsync always, everything fed so far.
func (s *Server) aofSyncPoint(c *Client) {
	if w := s.aof.w; w != nil && w.policy.Load() == fsyncAlways {
		if fed := s.aof.fed.Load(); fed > s.aof.synced.Load() {
			c.syncTarget.Store(fed)
		}
	}
}

// waitsForSync reports whether c's replies must still wait for an fsync.
func (c *Client) waitsForSync() bool {
	t := c.syncTarget.Load()
	return t > 0 && c.srv.aof.synced.Load() < t
}

// waitDurable is flush's gate: replies wait for the fsync their batch needs.
func (c *Client) waitDurable() {
	if t := c.syncTarget.Load(); t > 0 {
		c.srv.aof.waitSynced(t)
	}
}

// aofWriter owns the current incremental file and the goroutine that writes it.
type aofWriter struct {
	a          *aofState
	log        *Logger
	policy     atomic.Int32
	noSyncNow  atomic.Bool // no-appendfsync-on-rewrite while a rewrite runs
	timestamps bool        // aof-timestamp-enabled (under s.mu, read by Feed)
	lastTS     int64       // second of the last #TS annotation (under s.mu)

	mu         sync.Mutex
	cond       *sync.Cond
	f          *os.File
	pending    []byte
	spare      []byte
	busy       bool // the goroutine is writing outside mu
	size       atomic.Int64
	unsynced   bool // written since the last fsync
	lastFsync  time.Time
	writeErr   atomic.Pointer[string] // strerror of the last failed write, nil once one succeeds
	fsyncErr   atomic.Pointer[string] // strerror of the last failed fsync, nil once one succeeds
	lastErrLog time.Time              // goroutine-side: write errors are logged every 30 s at most
	delayed    atomic.Int64           // fsyncs postponed by no-appendfsync-on-rewrite (aof_delayed_fsync)

	kick chan struct{}
	quit chan struct{}
	done chan struct{}
}

func newAOFWriter(a *aofState, log *Logger, f *os.File, size int64, policy int32) *aofWriter {
	w := &aofWriter{a: a, log: log, f: f, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	w.size.Store(size)
	w.policy.Store(policy)
	w.lastFsync = time.Now()
	go w.run()
	return w
}

// Feed takes a batch of the propagation stream (under s.mu): it never blocks on the disk.
func (w *aofWriter) Feed(b []byte) {
	w.mu.Lock()
	if w.timestamps {
		if sec := time.Now().Unix(); sec > w.lastTS {
			w.lastTS = sec
			ts := "#TS:" + strconv.FormatInt(sec, 10) + "\r\n"
			w.pending = append(w.pending, ts...)
			w.a.fed.Add(int64(len(ts)))
		}
	}
	w.pending = append(w.pending, b...)
	w.a.fed.Add(int64(len(b)))
	w.mu.Unlock()
	if w.a.rounds.Load() == 0 {
		w.wake()
	}
}

func (w *aofWriter) wake() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// beginRound and endRound bracket an event loop's turn; endRound wakes the writer for what
// the turn fed.
func (a *aofState) beginRound() { a.rounds.Add(1) }

func (a *aofState) endRound() {
	a.rounds.Add(-1)
	if w := a.live.Load(); w != nil && a.fed.Load() > a.synced.Load() {
		w.wake()
	}
}

// aofGatherDelay is how long the writer lets data accumulate before a write under
// everysec and no. A process crash loses at most this much more than the unwritten
// buffer; everysec's promise is about a second.
const aofGatherDelay = time.Millisecond

func (w *aofWriter) run() {
	defer close(w.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-w.kick:
			if w.policy.Load() != fsyncAlways {
				// Nobody waits for the write: let the batches of a millisecond gather into
				// one write, as Redis writes once per turn of its event loop. Feeds
				// meanwhile only fill the kick channel, without waking anyone.
				time.Sleep(aofGatherDelay)
			}
		case <-tick.C:
		case <-w.quit:
			return
		}
		w.writeOnce(false)
		if w.policy.Load() == fsyncEverysec {
			w.fsyncEverysec()
		}
	}
}

// writeOnce writes what is pending and, under always (or when force), fsyncs it. It runs on
// the goroutine, or on a caller that needs the file up to date (switching files, shutdown).
// A failed write keeps the bytes for the next round and sets the write error the gatekeeper
// answers -MISCONF with, as Redis's flushAppendOnlyFile; under always the process exits,
// since the data of an executed command could not be made durable.
func (w *aofWriter) writeOnce(force bool) error {
	w.mu.Lock()
	for w.busy {
		w.cond.Wait()
	}
	if len(w.pending) == 0 && !(force && w.unsynced) {
		w.mu.Unlock()
		return nil
	}
	buf := w.pending
	w.pending = w.spare[:0]
	w.spare = nil
	target := w.a.fed.Load()
	f := w.f
	w.busy = true
	w.mu.Unlock()

	var err error
	group := !force && w.policy.Load() == fsyncAlways // a group commit: raw calls (aof_sync_linux.go)
	written := 0                                      // bytes of buf that stay in the file despite an error
	if len(buf) > 0 {
		var n int
		if group {
			n, err = writeFileRaw(f, buf)
		} else {
			n, err = f.Write(buf)
		}
		if err != nil {
			written = w.writeFailed(f, n, len(buf), err)
		}
	}
	didSync, syncFailed := false, false
	if err == nil && (force || group) {
		if hook := aofGroupSyncHook.Load(); hook != nil && group {
			(*hook)()
		}
		if w.noSyncNow.Load() && !force {
			w.delayed.Add(1)
		} else if err = w.sync(f, group); err == nil {
			didSync = true
			w.lastFsync = time.Now()
		} else {
			syncFailed = true
		}
	}

	w.mu.Lock()
	w.busy = false
	switch {
	case err != nil && !syncFailed:
		// Keep the bytes not in the file: they are retried on the next round.
		w.size.Add(int64(written))
		w.pending = append(buf[written:], w.pending...)
	default:
		w.size.Add(int64(len(buf)))
		if didSync {
			w.unsynced = false
		} else if len(buf) > 0 {
			w.unsynced = true
		}
		if cap(buf) <= 1<<20 {
			w.spare = buf[:0]
		}
	}
	w.cond.Broadcast()
	w.mu.Unlock()
	if syncFailed {
		if w.policy.Load() == fsyncAlways && !force {
			w.log.Warningf("Can't persist AOF for fsync error when the AOF fsync policy is 'always': %s. Exiting...", strerror(err))
			os.Exit(1)
		}
		w.fsyncFailed(err)
		return err
	}
	if err != nil {
		if w.policy.Load() == fsyncAlways {
			// Redis exits: acknowledging writes that are not on disk would break the policy.
			w.log.Warningf("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...")
			os.Exit(1)
		}
		return err
	}
	if w.writeErr.Load() != nil {
		w.log.Warningf("AOF write error looks solved, Redis can write again.")
		w.writeErr.Store(nil)
	}
	if didSync {
		w.fsyncErr.Store(nil)
	}
	w.a.markSynced(target)
	if group {
		// The raw calls kept this goroutine on its P through the fsync and the next kick may
		// be waiting already: let what markSynced woke run here rather than queue behind
		// another fsync.
		runtime.Gosched()
	}
	return nil
}

// aofGroupSyncHook, when set by a test, runs before each group commit's fsync.
var aofGroupSyncHook atomic.Pointer[func()]

func (w *aofWriter) sync(f *os.File, group bool) error {
	if group {
		return fdatasyncRaw(f)
	}
	return fdatasync(f)
}

// aofErrorLogEvery limits how often write errors are logged (Redis's
// AOF_WRITE_LOG_ERROR_RATE).
const aofErrorLogEvery = 30 * time.Second

// writeFailed handles a write that stopped after n of want bytes: a partial command is cut
// off again so the file stays loadable. It returns how many bytes remain in the file (n when
// the cut failed, 0 otherwise) and records the error text for -MISCONF.
func (w *aofWriter) writeFailed(f *os.File, n, want int, err error) int {
	canLog := time.Since(w.lastErrLog) >= aofErrorLogEvery
	if canLog {
		w.lastErrLog = time.Now()
	}
	msg := strerror(err)
	kept := 0
	if n > 0 {
		if canLog {
			w.log.Warningf("Short write while writing to the AOF file: (nwritten=%d, expected=%d)", n, want)
		}
		if terr := f.Truncate(w.size.Load()); terr != nil {
			if canLog {
				w.log.Warningf("Could not remove short write from the append-only file.  Redis may refuse to load the AOF the next time it starts.  ftruncate: %s", strerror(terr))
			}
			kept = n
		}
		msg = strerror(syscall.ENOSPC) // a short write is taken for a full disk, as Redis does
	} else if canLog {
		w.log.Warningf("Error writing to the AOF file: %s", msg)
	}
	w.writeErr.Store(&msg)
	return kept
}

// fsyncFailed records a failed background fsync (Redis's aof_bio_fsync_status): writes are
// refused until an fsync succeeds.
func (w *aofWriter) fsyncFailed(err error) {
	msg := strerror(err)
	if w.fsyncErr.Swap(&msg) == nil {
		w.log.Warningf("Fail to fsync the AOF file: %s", msg)
	}
}

// diskError returns the text of the AOF's last write or fsync error, "" when there is none.
func (w *aofWriter) diskError() string {
	if p := w.writeErr.Load(); p != nil {
		return *p
	}
	if p := w.fsyncErr.Load(); p != nil {
		return *p
	}
	return ""
}

// strerror is C's strerror(errno) for the error's errno, as Redis puts in its messages: Go's
// texts are glibc's with a lower-case initial.
func strerror(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	msg := errno.Error()
	if msg != "" && msg[0] >= 'a' && msg[0] <= 'z' {
		msg = string(msg[0]-'a'+'A') + msg[1:]
	}
	return msg
}

func (w *aofWriter) fsyncEverysec() {
	w.mu.Lock()
	due := w.unsynced && time.Since(w.lastFsync) >= time.Second && !w.busy
	f := w.f
	w.mu.Unlock()
	if !due {
		return
	}
	if w.noSyncNow.Load() {
		w.delayed.Add(1)
		return
	}
	if err := fdatasync(f); err != nil {
		w.fsyncFailed(err)
		return
	}
	w.fsyncErr.Store(nil)
	w.mu.Lock()
	w.unsynced = false
	w.lastFsync = time.Now()
	w.mu.Unlock()
}

// switchFile makes f the file new commands go to, after writing and syncing everything fed
// so far into the old one, which it returns. Called with s.mu held, so nothing is fed
// meanwhile.
func (w *aofWriter) switchFile(f *os.File) (*os.File, error) {
	if err := w.writeOnce(true); err != nil {
		return nil, err
	}
	w.mu.Lock()
	old := w.f
	w.f = f
	w.size.Store(0)
	w.unsynced = false
	w.lastTS = 0
	w.mu.Unlock()
	return old, nil
}

// stop writes and syncs what is left and ends the goroutine.
func (w *aofWriter) stop() error {
	close(w.quit)
	<-w.done
	err := w.writeOnce(true)
	w.f.Close()
	return err
}

func (w *aofWriter) pendingLen() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}

// ---- manifest and files ----

// persistManifest writes m as the manifest: a temporary file, fsynced, renamed over the old
// one, then the directory synced, so a crash leaves either manifest whole.
func (s *Server) persistManifest(m *aof.Manifest) error {
	a := &s.aof
	tmp := a.path(aof.TempManifestName(a.prefix))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err == nil {
		_, err = f.Write(m.Marshal())
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Rename(tmp, a.path(aof.ManifestName(a.prefix)))
	}
	if err != nil {
		s.log.Warningf("Can't persist the AOF manifest file %s: %v", aof.ManifestName(a.prefix), err)
		os.Remove(tmp)
		return err
	}
	syncDir(a.path(aof.ManifestName(a.prefix)))
	return nil
}

func (s *Server) ensureAOFDir() error {
	if err := os.MkdirAll(s.aof.dir, 0o755); err != nil {
		s.log.Warningf("Can't open or create append-only dir %s: %v", s.aof.dir, err)
		return err
	}
	return nil
}

// openIncr creates (or with appendOnly opens) an incremental file for appending.
func (s *Server) openIncr(name string, create bool) (*os.File, int64, error) {
	flags := os.O_WRONLY | os.O_APPEND | os.O_CREATE
	if create {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(s.aof.path(name), flags, 0o644)
	if err != nil {
		s.log.Warningf("Can't open the append-only file %s: %v", name, err)
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if create {
		syncDir(s.aof.path(name))
	}
	return f, st.Size(), nil
}

// deleteHistory removes the history files in the background and drops them from the
// manifest, as Redis's aofDelHistoryFiles.
func (s *Server) deleteHistory() {
	a := &s.aof
	if a.manifest == nil || len(a.manifest.History) == 0 || s.cfgBool("aof-disable-auto-gc") {
		return
	}
	m := a.manifest.Clone()
	hist := m.History
	m.History = nil
	if s.persistManifest(m) != nil {
		return
	}
	a.manifest = m
	for _, h := range hist {
		s.log.Noticef("Removing the history file %s in the background", h.Name)
	}
	go func() {
		for _, h := range hist {
			os.Remove(a.path(h.Name))
		}
	}()
}

// attachAOF makes the writer a consumer of the propagation stream.
func (s *Server) attachAOF(w *aofWriter) {
	s.aof.w = w
	s.aof.live.Store(w)
	w.timestamps = s.cfgBool("aof-timestamp-enabled")
	s.prop.consumers = append(s.prop.consumers, w)
	s.prop.db = -1 // a file's commands start in database 0: the first needs a SELECT
}

func (s *Server) detachAOF() {
	w := s.aof.w
	if w == nil {
		return
	}
	s.prop.flush() // commands of this batch so far belong in the file
	for i, c := range s.prop.consumers {
		if c == StreamConsumer(w) {
			s.prop.consumers = append(s.prop.consumers[:i], s.prop.consumers[i+1:]...)
			break
		}
	}
	s.aof.w = nil
	s.aof.live.Store(nil)
	if err := w.stop(); err != nil {
		s.log.Warningf("Error writing the AOF file on stop: %v", err)
	}
	s.aof.markSynced(s.aof.fed.Load()) // nobody may wait for a file that is gone
}

// ---- start-up, run-time switches, shutdown ----

// StartAOF is kept for callers that load and open in two steps: LoadDataAtStartup already
// opens the AOF it loaded, so this only opens one if nothing did.
func (s *Server) StartAOF() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.cfgBool("appendonly") || s.aof.on {
		return nil
	}
	if s.aof.manifest == nil {
		if err := s.loadAppendOnlyFiles(); err != nil {
			return err
		}
	}
	return s.openAOFOnStart()
}

// openAOFOnStart is aofOpenIfNeededOnServerStart: it creates the base when there is no AOF
// at all, then opens the newest incremental file or creates one.
func (s *Server) openAOFOnStart() error {
	a := &s.aof
	if err := s.ensureAOFDir(); err != nil {
		return err
	}
	if a.manifest == nil {
		a.manifest = &aof.Manifest{}
	}
	m := a.manifest.Clone()
	if m.Empty() {
		name := m.NewBase(a.prefix, s.cfgBool("aof-use-rdb-preamble"))
		size, err := s.writeBaseSync(a.path(name))
		if err != nil {
			s.log.Warningf("Can't create the AOF base file %s: %v", name, err)
			return err
		}
		a.baseSize = size
		s.log.Noticef("Creating AOF base file %s on server start", name)
	}
	var f *os.File
	var size int64
	var err error
	if len(m.Incr) > 0 {
		name := m.Incr[len(m.Incr)-1].Name
		if f, size, err = s.openIncr(name, false); err != nil {
			return err
		}
		s.log.Noticef("Opening AOF incr file %s on server start", name)
		a.incrSize -= size // the current file is counted by the writer
	} else {
		name := m.NewIncr(a.prefix)
		if f, size, err = s.openIncr(name, true); err != nil {
			return err
		}
		s.log.Noticef("Creating AOF incr file %s on server start", name)
	}
	if !bytes.Equal(m.Marshal(), a.manifest.Marshal()) || !s.manifestOnDisk() {
		if err := s.persistManifest(m); err != nil {
			f.Close()
			return err
		}
	}
	a.manifest = m
	a.on = true
	a.rewriteBase = a.baseSize + a.incrSize + size
	s.attachAOF(newAOFWriter(a, s.log, f, size, s.fsyncPolicy()))
	s.deleteHistory()
	return nil
}

func (s *Server) manifestOnDisk() bool {
	_, err := os.Stat(s.aof.path(aof.ManifestName(s.aof.prefix)))
	return err == nil
}

// startAppendOnly is CONFIG SET appendonly yes: the AOF is built by a rewrite of the
// dataset; until it completes the server is in Redis's AOF_WAIT_REWRITE state.
func (s *Server) startAppendOnly() error {
	a := &s.aof
	if a.on {
		return nil
	}
	if err := s.ensureAOFDir(); err != nil {
		return err
	}
	if a.manifest == nil {
		m, err := s.readManifest()
		if err != nil {
			m = &aof.Manifest{}
		}
		a.manifest = m
	}
	a.on, a.waitRewrite = true, true
	if s.rdbSaveRunning() {
		a.scheduled = true
		s.log.Warningf("AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.")
		return nil
	}
	if a.rw != nil {
		s.log.Warningf("AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now.")
		s.killRewrite()
	}
	if err := s.rewriteStart(); err != nil {
		a.on, a.waitRewrite = false, false
		s.log.Warningf("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.")
		return errors.New("Failed to start AOF")
	}
	return nil
}

// stopAppendOnly is CONFIG SET appendonly no.
func (s *Server) stopAppendOnly() {
	a := &s.aof
	if !a.on {
		return
	}
	if a.rw != nil {
		s.log.Noticef("Killing running AOF rewrite child")
		s.killRewrite()
	}
	s.detachAOF()
	a.on, a.waitRewrite, a.scheduled = false, false, false
}

// aofShutdown is prepareForShutdown's AOF part: stop a rewrite, write and fsync the rest.
func (s *Server) aofShutdown() {
	a := &s.aof
	if a.rw != nil {
		s.log.Warningf("There is a child rewriting the AOF. Killing it!")
		s.killRewrite()
	}
	if a.w != nil {
		s.log.Noticef("Calling fsync() on the AOF file.")
		s.detachAOF()
	}
}

// ---- cron, commands, INFO ----

const aofRewriteItemsPerCmd = 64 // Redis's AOF_REWRITE_ITEMS_PER_CMD

// aofCron starts scheduled and automatic rewrites (serverCron's AOF part).
func (s *Server) aofCron() {
	a := &s.aof
	if s.childActive() {
		return
	}
	if a.scheduled {
		if s.rewriteStart() == nil {
			a.scheduled = false
		}
		return
	}
	if !a.on || a.waitRewrite || a.w == nil {
		return
	}
	perc := s.cfgInt("auto-aof-rewrite-percentage")
	cur := s.aofCurrentSize()
	if perc > 0 && cur > s.cfgInt("auto-aof-rewrite-min-size") {
		base := max(a.rewriteBase, 1)
		if growth := cur*100/base - 100; growth >= perc {
			s.log.Noticef("Starting automatic rewriting of AOF on %d%% growth", growth)
			s.rewriteStart()
		}
	}
}

func (s *Server) aofCurrentSize() int64 {
	a := &s.aof
	size := a.baseSize + a.incrSize
	if a.w != nil {
		size += a.w.size.Load()
	}
	return size
}

func bgrewriteaofCommand(c *Client) {
	s := c.srv
	switch {
	case s.aof.rw != nil:
		c.w.Error("ERR Background append only file rewriting already in progress")
	case s.childActive() || s.prop.blockDepth > 0 || c.flags&flagMulti != 0:
		s.aof.scheduled = true
		s.aof.failures = 0 // a rewrite asked for by hand is not held back by past failures
		c.w.Status("Background append only file rewriting scheduled")
	case s.rewriteStart() == nil:
		c.w.Status("Background append only file rewriting started")
	default:
		c.w.Error("ERR Can't execute an AOF background rewriting. Please check the server logs for more information.")
	}
}

// infoAOF writes INFO persistence's aof_* fields up to aof_last_cow_size.
func (s *Server) infoAOF(b *infoBuilder) {
	a := &s.aof
	b.int("aof_enabled", boolInt(a.on))
	b.int("aof_rewrite_in_progress", boolInt(a.rw != nil))
	b.int("aof_rewrite_scheduled", boolInt(a.scheduled))
	b.int("aof_last_rewrite_time_sec", a.lastRewriteSecs)
	cur := int64(-1)
	if a.rw != nil {
		cur = int64(time.Since(a.rw.start).Seconds())
	}
	b.int("aof_current_rewrite_time_sec", cur)
	b.str("aof_last_bgrewrite_status", okErr(a.lastRewriteOK))
	b.int("aof_rewrites", a.rewrites)
	b.int("aof_rewrites_consecutive_failures", a.failures)
	b.str("aof_last_write_status", okErr(a.w == nil || a.w.diskError() == ""))
	b.int("aof_last_cow_size", 0)
}

// infoAOFOn writes the fields Redis adds when the AOF is on.
func (s *Server) infoAOFOn(b *infoBuilder) {
	a := &s.aof
	if !a.on {
		return
	}
	var pending, delayed int64
	if a.w != nil {
		pending = int64(a.w.pendingLen())
		delayed = a.w.delayed.Load()
	}
	b.int("aof_current_size", s.aofCurrentSize())
	b.int("aof_base_size", a.rewriteBase)
	b.int("aof_pending_rewrite", boolInt(a.scheduled))
	b.int("aof_buffer_length", pending)
	b.int("aof_pending_bio_fsync", 0)
	b.int("aof_delayed_fsync", delayed)
}

// aofBufferLen is mem_aof_buffer.
func (s *Server) aofBufferLen() int64 {
	if s.aof.w == nil {
		return 0
	}
	return int64(s.aof.w.pendingLen())
}

func okErr(ok bool) string {
	if ok {
		return "ok"
	}
	return "err"
}

func init() {
	register(map[string]func(*Client){
		"bgrewriteaof": bgrewriteaofCommand,
	})
}
