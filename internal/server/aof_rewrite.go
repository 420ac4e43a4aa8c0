package server

// AOF rewrite without fork, in Redis 7.0's multi-part scheme. At the start (under the lock)
// the commands of the batch so far are flushed, a new incremental file is opened and listed
// in the manifest, and a point-in-time snapshot of the dataset begins: the same command-level
// copy-on-write snapshot BGSAVE uses (rdb.go), walked in small steps while clients keep
// writing into the new incremental file. With aof-use-rdb-preamble the snapshot is the new
// base as is; without, the snapshot's RDB is transcoded into the commands Redis's rewrite
// writes (SET, RPUSH, SADD, ZADD, HMSET, XADD/XSETID/XGROUP/XCLAIM, PEXPIREAT). When the base
// is complete the manifest switches in one rename to the new base plus the incremental files
// opened since the rewrite began; the old base and incremental files become history and are
// deleted. A crash at any point leaves a manifest that names complete files only.

import (
	"bufio"
	"bytes"
	"errors"
	"math"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/sard-kv/sard/internal/aof"
	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/rdb"
	"github.com/sard-kv/sard/internal/stream"
)

// aofRewrite is a running rewrite.
type aofRewrite struct {
	sn       *snapshot
	start    time.Time
	tmp      string // the finished base before it is renamed into the AOF directory
	preamble bool
	killed   bool
}

// rewriteSeq numbers rewrites: a rewrite killed while it still converts its base must not
// share a temporary file with the one that replaces it (Redis's child pids differ).
var rewriteSeq atomic.Int64

func rewriteTempName() string {
	name := "temp-rewriteaof-bg-" + strconv.Itoa(os.Getpid())
	if n := rewriteSeq.Add(1); n > 1 {
		name += "-" + strconv.FormatInt(n, 10)
	}
	return name + ".aof"
}

// newBaseSnapshot is a snapshot whose header says it is an AOF base (aux aof-base 1).
func (s *Server) newBaseSnapshot() *snapshot {
	sn := s.newSnapshot()
	const zero = "\xfa\x08aof-base\xc0\x00"
	if i := bytes.Index(sn.enc.Buf, []byte(zero)); i >= 0 {
		sn.enc.Buf[i+len(zero)-1] = 1
	}
	sn.autoSync = s.cfgBool("aof-rewrite-incremental-fsync")
	return sn
}

// rewriteStart is rewriteAppendOnlyFileBackground. Called with s.mu held.
func (s *Server) rewriteStart() error {
	a := &s.aof
	if s.childActive() {
		return errors.New("a background operation is in progress")
	}
	if s.prop.blockDepth > 0 {
		// Inside EXEC the stream cannot be cut between two files: start after the block.
		a.scheduled = true
		return nil
	}
	if err := s.ensureAOFDir(); err != nil {
		return err
	}
	if a.manifest == nil {
		a.manifest = &aof.Manifest{}
	}
	// Whatever this batch already did belongs before the snapshot's point in time.
	s.prop.flush()
	if a.on {
		if err := s.openNewIncr(); err != nil {
			a.lastRewriteOK = false
			a.failures++
			return err
		}
	}
	preamble := s.cfgBool("aof-use-rdb-preamble")
	sn := s.newBaseSnapshot()
	tmp := rewriteTempName()
	snapFile := tmp
	if !preamble {
		snapFile = tmp + ".rdb"
	}
	if err := sn.open(snapFile); err != nil {
		s.log.Warningf("Opening the temp file for AOF rewrite in rewriteAppendOnlyFile(): %v", err)
		a.lastRewriteOK = false
		a.failures++
		return err
	}
	sn.background()
	rw := &aofRewrite{sn: sn, start: time.Now(), tmp: tmp, preamble: preamble}
	a.rw = rw
	s.persist.bgsave = sn // one snapshot at a time: the gatekeeper's copy-on-write serves it
	sn.attach()
	if a.w != nil && s.cfgBool("no-appendfsync-on-rewrite") {
		a.w.noSyncNow.Store(true)
	}
	s.log.Noticef("Background append only file rewriting started by pid %d", os.Getpid())
	go s.runRewrite(rw)
	return nil
}

// openNewIncr is openNewIncrAofForAppend: commands from now on go to a new incremental file.
// While the AOF waits for its first base, the manifest is written only when the base is done.
func (s *Server) openNewIncr() error {
	a := &s.aof
	m := a.manifest.Clone()
	name := m.NewIncr(a.prefix)
	f, _, err := s.openIncr(name, true)
	if err != nil {
		return err
	}
	if !a.waitRewrite {
		if err := s.persistManifest(m); err != nil {
			f.Close()
			os.Remove(a.path(name))
			return err
		}
	}
	a.manifest = m
	if a.w == nil {
		s.attachAOF(newAOFWriter(a, s.log, f, 0, s.fsyncPolicy()))
	} else {
		old, err := a.w.switchFile(f)
		if err != nil {
			return err
		}
		a.incrSize += fileSize(old)
		old.Close()
		s.prop.db = -1 // the new file starts in database 0
	}
	s.log.Noticef("Creating AOF incr file %s on background rewrite", name)
	return nil
}

func fileSize(f *os.File) int64 {
	st, err := f.Stat()
	if err != nil {
		return 0
	}
	return st.Size()
}

// runRewrite walks the snapshot like BGSAVE's goroutine, then finishes the base.
func (s *Server) runRewrite(rw *aofRewrite) {
	sn := rw.sn
	sn.runSteps(func() bool { return rw.killed })
	var err error
	if sn.aborted || rw.killed {
		sn.cleanup()
		err = errors.New("rewrite aborted")
	} else {
		err = sn.finish(sn.tmp) // a write error is logged and the file removed
	}
	sn.ioMu.Unlock()
	// The file side is done with the live values: the gatekeeper's copy-on-write is no
	// longer needed while the base is converted (the rewrite still counts as running).
	s.mu.Lock()
	if s.persist.bgsave == sn {
		sn.detach()
		s.persist.bgsave = nil
	}
	sn.logSteps("Background AOF rewrite")
	s.mu.Unlock()
	if err == nil && !rw.preamble {
		err = s.transcodeBase(sn.tmp, rw.tmp)
		os.Remove(sn.tmp)
	}
	if err == nil {
		s.log.Noticef("Successfully created the temporary AOF base file %s", rw.tmp)
	}
	s.rewriteDone(rw, err)
}

// rewriteDone is backgroundRewriteDoneHandler: install the new base or clean up.
func (s *Server) rewriteDone(rw *aofRewrite, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := &s.aof
	if s.persist.bgsave == rw.sn {
		rw.sn.detach()
		s.persist.bgsave = nil
	}
	if a.rw != rw {
		os.Remove(rw.tmp)
		return
	}
	a.rw = nil
	if a.w != nil {
		a.w.noSyncNow.Store(false)
	}
	if err == nil && !rw.killed {
		err = s.installBase(rw)
	}
	if err != nil || rw.killed {
		os.Remove(rw.tmp)
		if !rw.killed {
			s.log.Warningf("Background AOF rewrite failed: %v", err)
			a.lastRewriteOK = false
			a.failures++
			// A snapshot aborted by FLUSHALL, or the first base of a run-time enabled
			// AOF, is tried again from the cron.
			a.scheduled = rw.sn.aborted || a.waitRewrite
		}
		return
	}
	s.log.Noticef("Background AOF rewrite finished successfully")
	a.lastRewriteOK = true
	a.failures = 0
	a.rewrites++
	a.lastRewriteSecs = int64(time.Since(rw.start).Seconds())
}

func (s *Server) installBase(rw *aofRewrite) error {
	a := &s.aof
	s.log.Noticef("Background AOF rewrite terminated with success")
	m := a.manifest.Clone()
	name := m.NewBase(a.prefix, rw.preamble)
	if err := os.Rename(rw.tmp, a.path(name)); err != nil {
		s.log.Warningf("Error trying to rename the temporary AOF base file %s into %s: %v", rw.tmp, name, err)
		return err
	}
	syncDir(a.path(name))
	if a.on {
		m.MarkRewrittenIncrAsHistory()
	} else {
		// With the AOF off there is no incremental file: the base is the whole AOF.
		for _, ai := range m.Incr {
			ai.Type = aof.TypeHistory
			m.History = append(m.History, ai)
		}
		m.Incr = nil
	}
	if err := s.persistManifest(m); err != nil {
		os.Remove(a.path(name))
		return err
	}
	a.manifest = m
	s.log.Noticef("Successfully renamed the temporary AOF base file %s into %s", rw.tmp, name)
	st, _ := os.Stat(a.path(name))
	if st != nil {
		a.baseSize = st.Size()
	}
	a.incrSize = 0
	a.waitRewrite = false
	a.rewriteBase = s.aofCurrentSize()
	s.deleteHistory()
	return nil
}

// killRewrite stops a running rewrite: its walk stops after the piece being written and
// its temporary file goes; the goroutine notices and finishes quietly.
func (s *Server) killRewrite() {
	a := &s.aof
	rw := a.rw
	if rw == nil {
		return
	}
	rw.killed = true
	a.rw = nil
	rw.sn.abort()
	if s.persist.bgsave == rw.sn {
		s.persist.bgsave = nil
	}
	if a.w != nil {
		a.w.noSyncNow.Store(false)
	}
}

// writeBaseSync writes the whole dataset as a base file now, with the lock held (the base
// created at start-up, when the dataset is usually empty). It returns the file's size.
func (s *Server) writeBaseSync(path string) (int64, error) {
	sn := s.newBaseSnapshot()
	tmp := rewriteTempName()
	snapFile := tmp
	preamble := s.cfgBool("aof-use-rdb-preamble")
	if !preamble {
		snapFile = tmp + ".rdb"
	}
	if err := sn.open(snapFile); err != nil {
		return 0, err
	}
	for !sn.step(0) {
		sn.out(sn.take())
	}
	sn.out(sn.take())
	if err := sn.finish(snapFile); err != nil {
		return 0, err
	}
	if !preamble {
		err := s.transcodeBase(snapFile, tmp)
		os.Remove(snapFile)
		if err != nil {
			return 0, err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return 0, err
	}
	syncDir(path)
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// ---- the command form of a base ----

// transcodeBase turns a snapshot RDB into the commands Redis's rewrite writes when
// aof-use-rdb-preamble is no.
func (s *Server) transcodeBase(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(out, 256<<10)
	rw := respBaseWriter{w: bw, db: -1, now: time.Now().UnixMilli(),
		autoSync: s.cfgBool("aof-rewrite-incremental-fsync"), f: out}
	if s.cfgBool("aof-timestamp-enabled") {
		bw.WriteString("#TS:" + strconv.FormatInt(time.Now().Unix(), 10) + "\r\n")
	}
	lim := s.rdbLimits()
	lim.SkipChecksum = true // our own file, just written
	_, err = rdb.Load(bufio.NewReaderSize(in, 1<<20), lim, rdb.Handler{
		Function: func(code []byte) error {
			rw.command([]byte("FUNCTION"), []byte("LOAD"), code)
			return rw.err
		},
		Key: func(key []byte, o *rdb.Object, info rdb.KeyInfo) error {
			rw.key(key, o, info)
			return rw.err
		},
	})
	err = firstErr(func() error { return err }, func() error { return rw.err }, bw.Flush, out.Sync, out.Close)
	if err != nil {
		out.Close()
		os.Remove(dst)
	}
	return err
}

// respBaseWriter emits a dataset as commands.
type respBaseWriter struct {
	w        *bufio.Writer
	f        *os.File
	db       int
	now      int64
	buf      []byte
	args     [][]byte
	err      error
	written  int64
	synced   int64
	autoSync bool
}

func (rw *respBaseWriter) command(argv ...[]byte) {
	if rw.err != nil {
		return
	}
	rw.buf = appendCommand(rw.buf[:0], argv...)
	_, rw.err = rw.w.Write(rw.buf)
	rw.written += int64(len(rw.buf))
	if rw.err == nil && rw.autoSync && rw.written-rw.synced >= incrementalFsync {
		if rw.err = rw.w.Flush(); rw.err == nil {
			rw.err = rw.f.Sync()
		}
		rw.synced = rw.written
	}
}

// batched emits name key items... in commands of at most aofRewriteItemsPerCmd items
// (pairs count as one item each), as Redis does.
func (rw *respBaseWriter) batched(name string, key []byte, each func(emit func(item ...[]byte))) {
	head := [][]byte{[]byte(name), key}
	rw.args = append(rw.args[:0], head...)
	n := 0
	each(func(item ...[]byte) {
		for _, it := range item {
			rw.args = append(rw.args, append([]byte(nil), it...))
		}
		n++
		if n == aofRewriteItemsPerCmd {
			rw.command(rw.args...)
			rw.args = append(rw.args[:0], head...)
			n = 0
		}
	})
	if n > 0 {
		rw.command(rw.args...)
	}
}

func (rw *respBaseWriter) key(key []byte, o *rdb.Object, info rdb.KeyInfo) {
	if info.ExpireAt != keyspace.NoExpire && info.ExpireAt < rw.now {
		return // already expired: Redis's rewrite skips it too
	}
	if info.DB != rw.db {
		rw.command([]byte("SELECT"), []byte(strconv.Itoa(info.DB)))
		rw.db = info.DB
	}
	switch o.Kind {
	case keyspace.TypeString:
		rw.command([]byte("SET"), key, o.Str)
	case keyspace.TypeList:
		rw.batched("RPUSH", key, func(emit func(...[]byte)) {
			var nb [24]byte
			it := o.List.Iterator(0, false)
			for e, ok := it.Next(); ok; e, ok = it.Next() {
				if e.IsInt {
					emit(strconv.AppendInt(nb[:0], e.Int, 10))
				} else {
					emit(e.Str)
				}
			}
		})
	case keyspace.TypeSet:
		sv := &setValue{is: o.Intset, ht: o.Table}
		rw.batched("SADD", key, func(emit func(...[]byte)) {
			sv.each(func(m []byte, _ int64, _ bool) bool { emit(m); return true })
		})
	case keyspace.TypeHash:
		hv := &hashValue{lp: o.Listpack, ht: o.Table}
		rw.batched("HMSET", key, func(emit func(...[]byte)) {
			hv.each(func(f, v []byte) bool { emit(f, v); return true })
		})
	case keyspace.TypeZSet:
		z := o.ZSet
		rw.batched("ZADD", key, func(emit func(...[]byte)) {
			z.Range(0, z.Len()-1, false, func(m []byte, score float64) bool {
				emit(formatScore(score), m)
				return true
			})
		})
	case keyspace.TypeStream:
		rw.stream(key, o.Stream)
	}
	if info.ExpireAt != keyspace.NoExpire {
		rw.command([]byte("PEXPIREAT"), key, []byte(strconv.FormatInt(info.ExpireAt, 10)))
	}
}

// formatScore is Redis's "%.17g" for a rewritten score.
func formatScore(f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return []byte("inf")
	case math.IsInf(f, -1):
		return []byte("-inf")
	}
	return strconv.AppendFloat(nil, f, 'g', 17, 64)
}

func idBytes(id stream.ID) []byte {
	b := strconv.AppendUint(nil, id.Ms, 10)
	b = append(b, '-')
	return strconv.AppendUint(b, id.Seq, 10)
}

// stream emits a stream as Redis's rewriteStreamObject: the entries, XSETID with the
// counters, each group with XGROUP CREATE, its pending entries with XCLAIM ... FORCE and
// consumers without any with XGROUP CREATECONSUMER.
func (rw *respBaseWriter) stream(key []byte, st *stream.Stream) {
	if st.Length > 0 {
		st.Range(stream.ID{}, stream.ID{Ms: math.MaxUint64, Seq: math.MaxUint64}, false, func(id stream.ID, fv [][]byte) bool {
			args := [][]byte{[]byte("XADD"), key, idBytes(id)}
			rw.command(append(args, fv...)...)
			return rw.err == nil
		})
	} else {
		// An empty stream still needs to exist with its last ID.
		rw.command([]byte("XADD"), key, []byte("MAXLEN"), []byte("0"), idBytes(st.LastID), []byte("x"), []byte("y"))
	}
	rw.command([]byte("XSETID"), key, idBytes(st.LastID), []byte("ENTRIESADDED"),
		[]byte(strconv.FormatUint(st.EntriesAdded, 10)), []byte("MAXDELETEDID"), idBytes(st.MaxDeletedID))
	for _, g := range st.Groups() {
		rw.command([]byte("XGROUP"), []byte("CREATE"), key, g.Name, idBytes(g.LastID),
			[]byte("ENTRIESREAD"), []byte(strconv.FormatInt(g.EntriesRead, 10)))
		for _, c := range g.Consumers() {
			if c.PEL.Len() == 0 {
				rw.command([]byte("XGROUP"), []byte("CREATECONSUMER"), key, g.Name, c.Name)
				continue
			}
			c.PEL.Ascend(stream.ID{}, func(id stream.ID, _ *stream.NACK) bool {
				n, ok := g.PEL.Get(id)
				if !ok {
					return true
				}
				rw.command([]byte("XCLAIM"), key, g.Name, c.Name, []byte("0"), idBytes(id),
					[]byte("TIME"), []byte(strconv.FormatInt(n.DeliveryTime, 10)),
					[]byte("RETRYCOUNT"), []byte(strconv.FormatInt(n.DeliveryCount, 10)),
					[]byte("JUSTID"), []byte("FORCE"))
				return rw.err == nil
			})
		}
	}
}
