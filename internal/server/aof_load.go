package server

// Loading the AOF: the manifest's base (an RDB preamble or commands) then the incremental
// files in order, each command replayed through the normal handlers on a fake client whose
// replies go nowhere, as Redis's loadSingleAppendOnlyFile does.

import (
	"bufio"
	"errors"
	"io"
	"os"
	"time"

	"github.com/sard-kv/sard/internal/aof"
	"github.com/sard-kv/sard/internal/rdb"
)

// Outcomes of loading one file (Redis's AOF_OK, AOF_EMPTY, AOF_TRUNCATED, AOF_FAILED).
const (
	aofLoadOK = iota
	aofLoadEmpty
	aofLoadTruncated
	aofLoadFailed
)

// errAOFLoad stops the start-up; the reasons were logged in Redis's words.
var errAOFLoad = errors.New("AOF loading failed, exiting")

// readManifest reads the manifest from the AOF directory; a missing one is an empty
// manifest, an invalid one is logged as Redis does and returned as an error.
func (s *Server) readManifest() (*aof.Manifest, error) {
	data, err := os.ReadFile(s.aof.path(aof.ManifestName(s.aof.prefix)))
	if errors.Is(err, os.ErrNotExist) {
		return &aof.Manifest{}, nil
	}
	if err != nil {
		s.log.Warningf("Can't open the AOF manifest %s for reading: %v", aof.ManifestName(s.aof.prefix), err)
		return nil, err
	}
	m, err := aof.ParseManifest(data)
	if err != nil {
		var me *aof.ManifestError
		if errors.As(err, &me) {
			s.log.Warningf("\n*** FATAL AOF MANIFEST FILE ERROR ***\n")
			if me.Line > 0 {
				s.log.Warningf("Reading the manifest file, at line %d\n", me.Line)
				s.log.Warningf(">>> '%s'\n", me.Text)
			}
			s.log.Warningf("%s\n", me.Reason)
		}
		return nil, err
	}
	return m, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func dirExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// loadAOFAtStartup loads the AOF named by the manifest in the LOADING state, letting
// clients in between slices, then opens it for appending.
func (s *Server) loadAOFAtStartup() error {
	s.startLoading(0, true)
	s.aof.on = true // as Redis sets aof_state before loading: INFO shows aof_enabled:1
	err := s.loadAppendOnlyFiles()
	if s.persist.load.aborted {
		return errLoadAborted
	}
	if err == nil {
		// Open it for appending before any client may write.
		err = s.openAOFOnStart()
	}
	if err == nil {
		// On failure the state stays: until the process exits, clients get -LOADING.
		s.stopLoading()
	}
	return err
}

// loadAppendOnlyFiles is Redis's loadAppendOnlyFiles, with the legacy upgrade first. It
// leaves s.aof.manifest set. Called with s.mu held.
func (s *Server) loadAppendOnlyFiles() error {
	a := &s.aof
	m, err := s.readManifest()
	if err != nil {
		return errAOFLoad
	}
	if aof.LegacyUpgrade(fileExists(a.prefix), dirExists(a.dir), m, a.prefix, fileExists(a.path(a.prefix))) {
		if m, err = s.upgradeLegacyAOF(); err != nil {
			return errAOFLoad
		}
	}
	a.manifest = m
	if m.Empty() {
		return nil
	}
	files := m.Files()
	var total int64
	sizes := make([]int64, len(files))
	for i, f := range files {
		st, err := os.Stat(a.path(f.Name))
		if err != nil {
			s.log.Warningf("Unable to obtain the AOF file %s length. stat: %s", f.Name, errText(err))
			return errAOFLoad
		}
		sizes[i] = st.Size()
		total += st.Size()
	}
	s.persist.load.total = total
	// Propagation is off while loading: the commands are already in the files.
	consumers := s.prop.consumers
	s.prop.consumers = nil
	defer func() { s.prop.consumers = consumers }()

	start := time.Now()
	a.baseSize, a.incrSize = 0, 0
	var done int64
	for i, f := range files {
		last := i == len(files)-1
		t := time.Now()
		s.persist.load.base = done
		ret := s.loadSingleAOF(f.Name, sizes[i])
		done += sizes[i]
		if ret == aofLoadTruncated && !last {
			s.log.Warningf("Fatal error: the truncated file is not the last file")
			ret = aofLoadFailed
		}
		if ret == aofLoadFailed {
			return errAOFLoad
		}
		if st, err := os.Stat(a.path(f.Name)); err == nil {
			sizes[i] = st.Size() // a cut tail is no longer there
		}
		kind := "incr"
		if f.Type == aof.TypeBase {
			kind = "base"
			a.baseSize = sizes[i]
		} else {
			a.incrSize += sizes[i]
		}
		if ret != aofLoadEmpty || f.Type != aof.TypeBase {
			s.log.Noticef("DB loaded from %s file %s: %.3f seconds", kind, f.Name, time.Since(t).Seconds())
		}
	}
	s.log.Noticef("DB loaded from append only file: %.3f seconds", time.Since(start).Seconds())
	a.rewriteBase = a.baseSize + a.incrSize
	return nil
}

func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, os.ErrNotExist) {
		return "No such file or directory"
	}
	return err.Error()
}

// upgradeLegacyAOF moves a pre-7.0 appendonly.aof into the AOF directory as its base, in
// Redis's order: the manifest first, then the rename, so a crash in between is retried.
func (s *Server) upgradeLegacyAOF() (*aof.Manifest, error) {
	a := &s.aof
	if err := s.ensureAOFDir(); err != nil {
		return nil, err
	}
	m := aof.UpgradedManifest(a.prefix)
	if err := s.persistManifest(m); err != nil {
		return nil, err
	}
	if err := os.Rename(a.prefix, a.path(a.prefix)); err != nil {
		s.log.Warningf("Error trying to rename the existing AOF to the new AOF directory: %v", err)
		return nil, err
	}
	syncDir(a.path(a.prefix))
	s.log.Noticef("Successfully migrated an old-style AOF file (%s) into the AOF directory (%s).", a.prefix, a.dir)
	return m, nil
}

// loadSingleAOF replays one file. size is its length on disk.
func (s *Server) loadSingleAOF(name string, size int64) int {
	path := s.aof.path(name)
	f, err := os.Open(path)
	if err != nil {
		s.log.Warningf("Fatal error: can't open the append log file %s for reading: %s", name, errText(err))
		return aofLoadFailed
	}
	defer f.Close()
	if size == 0 {
		return aofLoadEmpty
	}
	br := bufio.NewReaderSize(f, 1<<20)
	var off int64
	if sig, _ := br.Peek(5); string(sig) == "REDIS" {
		s.log.Noticef("Reading RDB base file on AOF loading...")
		consumed, err := s.loadRDBPreamble(br, size)
		if s.persist.load.aborted {
			return aofLoadFailed
		}
		if err != nil {
			var re *rdb.Error
			if errors.As(err, &re) {
				s.log.Warningf("Internal error in RDB reading offset %d -> %s", re.Offset, re.Reason)
			}
			s.log.Warningf("Error reading the RDB base file %s, AOF loading aborted", name)
			return aofLoadFailed
		}
		// The RDB decoder reads ahead: go back to where its bytes ended.
		if _, err := f.Seek(consumed, io.SeekStart); err != nil {
			s.log.Warningf("Unrecoverable error reading the append only file %s: %v", name, err)
			return aofLoadFailed
		}
		br = bufio.NewReaderSize(f, 1<<20)
		off = consumed
	}
	r := aof.NewReader(br, size-off)
	r.SetOffset(off)
	fc := &Client{srv: s, authed: true, user: "default", db: s.dbs[0], name: "aof-loader"}
	fc.w.Proto = 2
	validUpTo, beforeMulti := off, int64(-1)
	for n := 1; ; n++ {
		// Like Redis, let clients in every 1024 commands while loading at start-up.
		if n%1024 == 0 && s.loadingProgress(validUpTo) != nil {
			return aofLoadFailed
		}
		argv, err := r.Next()
		if err == io.EOF {
			break
		}
		switch {
		case err == aof.ErrTruncated:
			return s.aofTruncated(path, name, validUpTo)
		case err == aof.ErrFormat:
			s.log.Warningf("Bad file format reading the append only file %s: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>", name)
			s.log.Warningf("AOF %s: invalid command header after offset %d", name, validUpTo)
			return aofLoadFailed
		case err != nil:
			s.log.Warningf("Unrecoverable error reading the append only file %s: %v", name, err)
			return aofLoadFailed
		}
		cmd, _ := s.lookupCommand(argv)
		if cmd == nil {
			s.log.Warningf("Unknown command '%s' reading the append only file %s", cString(argv[0]), name)
			return aofLoadFailed
		}
		if cmd.FullName == "multi" {
			beforeMulti = validUpTo
		}
		fc.argv = argv
		s.now = time.Now().UnixMilli()
		s.replayCommand(fc, cmd)
		fc.w.Buf = fc.w.Buf[:0]
		fc.argv = nil
		validUpTo = r.Offset()
	}
	if fc.flags&flagMulti != 0 {
		// The tail is a transaction that never reached EXEC: cut it like a short read.
		s.log.Warningf("Revert incomplete MULTI/EXEC transaction in AOF file %s", name)
		s.discardMulti(fc)
		return s.aofTruncated(path, name, beforeMulti)
	}
	return aofLoadOK
}

// replayCommand runs a loaded command as Redis's loader does: straight to the command, or
// into the transaction being queued, past the gatekeeper's client checks (a replica's
// read-only mode, pauses, MISCONF), which are about clients, not about the dataset's history.
func (s *Server) replayCommand(fc *Client, cmd *Command) {
	if a := cmd.Spec.Arity; (a > 0 && len(fc.argv) != a) || len(fc.argv) < -a || cmd.Proc == nil {
		return // Redis would misbehave; sard skips what no handler could have written
	}
	fc.cmd = cmd
	if fc.flags&flagMulti != 0 && !runsInsideMulti(cmd) {
		s.queueMulti(fc, cmd)
		return
	}
	s.call(fc, cmd)
}

// discardMulti drops a fake client's queued transaction.
func (s *Server) discardMulti(fc *Client) {
	fc.argv = [][]byte{[]byte("DISCARD")}
	if cmd, _ := s.lookupCommand(fc.argv); cmd != nil {
		s.replayCommand(fc, cmd)
	}
	fc.w.Buf = fc.w.Buf[:0]
}

// aofTruncated handles a file that ends inside a command: with aof-load-truncated the
// incomplete tail is cut off and loading goes on, otherwise the start-up stops.
func (s *Server) aofTruncated(path, name string, validUpTo int64) int {
	if s.cfgBool("aof-load-truncated") {
		s.log.Warningf("!!! Warning: short read while loading the AOF file %s!!!", name)
		s.log.Warningf("!!! Truncating the AOF %s at offset %d !!!", name, validUpTo)
		if validUpTo < 0 {
			s.log.Warningf("Last valid command offset is invalid")
		} else if err := os.Truncate(path, validUpTo); err != nil {
			s.log.Warningf("Error truncating the AOF file %s: %v", name, err)
		} else {
			s.log.Warningf("AOF %s loaded anyway because aof-load-truncated is enabled", name)
			return aofLoadTruncated
		}
	}
	s.log.Warningf("Unexpected end of file reading the append only file %s. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.", name)
	return aofLoadFailed
}

// loadRDBPreamble loads an RDB base into the current databases and returns how many bytes
// it took. Keys that already expired are kept, as Redis does for a preamble: the
// incremental files that follow may still refer to them.
func (s *Server) loadRDBPreamble(r io.Reader, size int64) (int64, error) {
	var loaded, expired int64
	delay := s.cfgInt("key-load-delay")
	d := rdb.NewDecoder(r)
	st, err := rdb.LoadDecoder(d, s.rdbLimits(), rdb.Handler{
		Aux:      s.rdbAuxLogger,
		ResizeDB: func(db int, keys, _ uint64) { reserveKeys(s.dbs[db].ks, keys, size) },
		Function: func(code []byte) error {
			if s.persist.functionsLoad == nil {
				return errors.New("functions are not supported")
			}
			return s.persist.functionsLoad(code, false)
		},
		Key: func(key []byte, o *rdb.Object, info rdb.KeyInfo) error {
			if err := s.storeLoadedKey(s.dbs[info.DB], key, o, info, false); err != nil {
				return err
			}
			loaded++
			if delay != 0 {
				debugDelay(delay)
			}
			s.persist.loadedKeys = loaded
			return s.loadingProgress(d.Offset())
		},
	})
	if err != nil {
		return 0, err
	}
	s.log.Noticef("Done loading RDB, keys loaded: %d, keys expired: %d.", loaded, expired)
	return st.Consumed, nil
}
