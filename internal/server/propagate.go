package server

import "strconv"

// StreamConsumer receives the propagation stream: the RESP-encoded commands that reproduce
// every change to the dataset, in execution order, with SELECT where the database changes.
// The AOF and the replicas are consumers. Feed is called with the server lock held and must
// not block; b is only valid during the call.
type StreamConsumer interface {
	Feed(b []byte)
}

// propagator is the one point every write's effects leave through.
type propagator struct {
	consumers []StreamConsumer
	buf       []byte
	db        int // database the stream last selected; -1 forces a SELECT

	// An open block (EXEC) counts its commands and remembers where the first one starts,
	// after its SELECT, so endBlock can wrap two or more in MULTI/EXEC as Redis 7.0 does.
	blockDepth int
	blockOps   int
	blockAt    int
}

// command appends one command to the stream: override when the handler rewrote its effect
// (EXPIRE as PEXPIREAT, SET EX as SET PXAT...), argv otherwise; an empty non-nil override
// propagates nothing.
func (p *propagator) command(db int, argv, override [][]byte) {
	if len(p.consumers) == 0 {
		return
	}
	if override != nil {
		if len(override) == 0 {
			return // the handler propagated its effects itself (Redis's preventCommandPropagation)
		}
		argv = override
	}
	if db != p.db {
		p.buf = appendCommand(p.buf, []byte("SELECT"), []byte(strconv.Itoa(db)))
		p.db = db
	}
	if p.blockDepth > 0 {
		if p.blockOps == 0 {
			p.blockAt = len(p.buf)
		}
		p.blockOps++
	}
	p.buf = appendCommand(p.buf, argv...)
}

// beginBlock opens a block of commands that must reach consumers atomically. Blocks nest;
// only the outermost one wraps.
func (p *propagator) beginBlock() {
	if p.blockDepth == 0 {
		p.blockOps = 0
	}
	p.blockDepth++
}

// endBlock closes a block: a single command stays as it is (it is atomic already), two or
// more are wrapped in MULTI ... EXEC, the MULTI after the SELECT of the first.
func (p *propagator) endBlock() {
	p.blockDepth--
	if p.blockDepth > 0 || p.blockOps < 2 {
		return
	}
	const multi = "*1\r\n$5\r\nMULTI\r\n"
	p.buf = append(p.buf, multi...)
	copy(p.buf[p.blockAt+len(multi):], p.buf[p.blockAt:len(p.buf)-len(multi)])
	copy(p.buf[p.blockAt:], multi)
	p.buf = append(p.buf, "*1\r\n$4\r\nEXEC\r\n"...)
	p.blockOps = 0
}

// flush hands the commands of the batch to every consumer.
func (p *propagator) flush() {
	if len(p.buf) == 0 {
		return
	}
	for _, c := range p.consumers {
		c.Feed(p.buf)
	}
	p.buf = p.buf[:0]
}

// AddConsumer attaches a consumer; the next command it sees is preceded by a SELECT.
func (s *Server) AddConsumer(c StreamConsumer) {
	s.mu.Lock()
	s.prop.consumers = append(s.prop.consumers, c)
	s.prop.db = -1
	s.mu.Unlock()
}

func appendCommand(b []byte, argv ...[]byte) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(argv)), 10)
	b = append(b, '\r', '\n')
	for _, a := range argv {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}
