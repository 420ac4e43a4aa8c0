package server

// Loading the full-sync payload on a replica, as Redis 7.0's readSyncBulkPayload does for
// each repl-diskless-load mode:
//
//   - disabled: the payload is saved to a temporary file first (the old dataset is served
//     meanwhile); then the old data is flushed, the file becomes dbfilename and is loaded.
//   - on-empty-db: as disabled, unless the dataset is empty: then it loads from the socket.
//   - swapdb: loads from the socket into new databases while the old ones stay; the old
//     dataset is replaced only once the payload has loaded, and kept if it fails. When the
//     master continues our own history (same replication id), clients keep reading the old
//     data meanwhile (Redis's async loading: INFO async_loading:1, and commands flagged
//     no-async-loading get -LOADING); otherwise they get -LOADING.
//
// Decoding and reading happen without the command lock; decoded keys are stored into the
// new databases in batches under it, so a load never blocks clients on the network, and
// clients see -LOADING between batches where Redis would show it.
//
// Keys already expired in the payload are kept: a replica leaves expiry to its master,
// whose DEL follows in the stream (Redis loads them too when it is not a master).

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/sard-kv/sard/internal/rdb"
)

// loadBatch is how many decoded keys are stored per acquisition of the lock.
const loadBatch = 256

type loadedKey struct {
	key  []byte
	obj  *rdb.Object
	info rdb.KeyInfo
}

// replLoader stores a payload's keys into new databases.
type replLoader struct {
	s      *Server
	dbs    []*DB
	batch  []loadedKey
	funcs  [][]byte
	loaded int64
	read   func() int64 // bytes consumed so far, for the loading progress

	// Replication information from the payload's auxiliary fields (rdbSaveInfoAuxFields).
	streamDB int
	replID   string
	offset   int64
}

func (s *Server) newReplLoader() *replLoader {
	l := &replLoader{s: s, streamDB: -1, offset: -1}
	l.dbs = make([]*DB, len(s.dbs))
	for i := range l.dbs {
		l.dbs[i] = newDB(s, i)
	}
	return l
}

// load reads a whole payload from r. It takes the lock for short stretches only.
func (l *replLoader) load(r io.Reader) error {
	s := l.s
	s.mu.Lock()
	lim := s.rdbLimits()
	s.mu.Unlock()
	d := rdb.NewDecoder(r)
	l.read = d.Offset
	_, err := rdb.LoadDecoder(d, lim, rdb.Handler{
		Aux: func(k, v []byte) {
			switch string(k) {
			case "repl-stream-db":
				if n, err := strconv.Atoi(string(v)); err == nil {
					l.streamDB = n
				}
			case "repl-id":
				l.replID = string(v)
			case "repl-offset":
				if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
					l.offset = n
				}
			}
			s.mu.Lock()
			s.rdbAuxLogger(k, v)
			s.mu.Unlock()
		},
		Function: func(code []byte) error {
			l.funcs = append(l.funcs, code)
			return nil
		},
		Key: func(key []byte, o *rdb.Object, info rdb.KeyInfo) error {
			l.batch = append(l.batch, loadedKey{key, o, info})
			if len(l.batch) >= loadBatch {
				return l.flush()
			}
			return nil
		},
	})
	if err == nil {
		err = l.flush()
	}
	return err
}

// flush stores the decoded keys, with the lock held briefly.
func (l *replLoader) flush() error {
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = time.Now().UnixMilli()
	for i, k := range l.batch {
		if err := s.storeLoadedKey(l.dbs[k.info.DB], k.key, k.obj, k.info, false); err != nil {
			l.batch = l.batch[:0]
			return err
		}
		l.batch[i] = loadedKey{}
	}
	l.loaded += int64(len(l.batch))
	s.persist.loadedKeys = l.loaded
	if s.persist.load.running() && l.read != nil {
		s.persist.load.loaded = l.read()
	}
	l.batch = l.batch[:0]
	return nil
}

// install replaces the dataset and the functions with what was loaded. Called with s.mu.
func (l *replLoader) install() error {
	s := l.s
	if len(l.funcs) > 0 && s.persist.functionsLoad == nil {
		return errors.New("functions are not supported")
	}
	s.flushFunctions()
	for _, code := range l.funcs {
		if err := s.persist.functionsLoad(code, true); err != nil {
			return fmt.Errorf("failed loading library: %v", err)
		}
	}
	for i, db := range s.dbs {
		s.touchAllWatched(db, nil)
		db.ks = l.dbs[i].ks
		db.avgTTL = 0
	}
	s.trackingInvalidateAll()
	s.persist.loadedKeys, s.persist.expiredOnLoad = l.loaded, 0
	s.log.Noticef("Done loading RDB, keys loaded: %d, keys expired: %d.", l.loaded, 0)
	return nil
}

// datasetEmpty is dbTotalServerKeyCount() == 0.
func (s *Server) datasetEmpty() bool {
	for _, db := range s.dbs {
		if db.ks.Len() > 0 {
			return false
		}
	}
	return true
}

// emptyDatasetForSync drops the old dataset before a non-swapdb load (Redis's emptyData).
// Both replica-lazy-flush settings free it the same way here: the old tables are dropped
// whole and the garbage collector reclaims them concurrently, which is what a lazy flush
// does in Redis.
func (s *Server) emptyDatasetForSync() {
	s.flushFunctions()
	for _, db := range s.dbs {
		flushDB(db)
	}
	s.trackingInvalidateAll()
}

// markReader yields a disk-less payload without its trailing 40-byte marker, then io.EOF.
// The master sends nothing after the marker until it has our first ACK, so the marker is
// recognized as the last bytes read (as Redis's replica does).
type markReader struct {
	r       *bufio.Reader
	mark    []byte
	pend    []byte // bytes read but not returned: always holds the last len(mark) read
	chunk   []byte
	ended   bool
	refresh func()
	total   int64
}

func newMarkReader(r *bufio.Reader, mark string, refresh func()) *markReader {
	return &markReader{r: r, mark: []byte(mark), chunk: make([]byte, 64<<10), refresh: refresh}
}

func (m *markReader) Read(p []byte) (int, error) {
	for {
		keep := len(m.mark)
		if m.ended {
			keep = 0
		}
		if k := len(m.pend) - keep; k > 0 {
			n := copy(p, m.pend[:k])
			m.pend = m.pend[:copy(m.pend, m.pend[n:])]
			return n, nil
		}
		if m.ended {
			return 0, io.EOF
		}
		m.refresh()
		n, err := m.r.Read(m.chunk)
		m.pend = append(m.pend, m.chunk[:n]...)
		m.total += int64(n)
		if bytes.HasSuffix(m.pend, m.mark) && m.r.Buffered() == 0 {
			m.pend = m.pend[:len(m.pend)-len(m.mark)]
			m.total -= int64(len(m.mark))
			m.ended = true
		}
		if err != nil && !m.ended {
			return 0, err
		}
	}
}

// deadlineReader refreshes the connection's read deadline before each read.
type deadlineReader struct {
	r       io.Reader
	refresh func()
}

func (d deadlineReader) Read(p []byte) (int, error) {
	d.refresh()
	return d.r.Read(p)
}

// drainExtra reads a length-prefixed payload's unread tail, so the stream that follows is
// aligned after a load that stopped early (the checksum was read but not some padding).
func drainExtra(r io.Reader) {
	io.Copy(io.Discard, r)
}

func refreshDeadline(conn net.Conn, timeout time.Duration) func() {
	return func() { conn.SetReadDeadline(time.Now().Add(timeout)) }
}
