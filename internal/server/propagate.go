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
	p.buf = appendCommand(p.buf, argv...)
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
