package server

import "strconv"

// StreamConsumer receives the propagation stream: the RESP-encoded commands that reproduce
// every change to the dataset, in execution order, with SELECT where the database changes.
// The AOF and the replicas are consumers. Feed is called with the server lock held and must
// not block; b is only valid during the call.
type StreamConsumer interface {
	Feed(b []byte)
}

// Stream targets. Most commands reach both; Redis sends PUBLISH to replicas only, and a
// script's redis.set_repl can narrow its commands to one of them.
const (
	targetAOF  = 1 << iota // the AOF and any consumer that does not say otherwise
	targetRepl             // the replication stream
	targetAll  = targetAOF | targetRepl
)

// propagator is the one point every write's effects leave through.
type propagator struct {
	consumers []StreamConsumer
	buf       []byte
	db        int // database the stream last selected; -1 forces a SELECT

	// exclude: the targets commands appended now must not reach (a script's set_repl).
	// partial lists the byte ranges of buf that some targets must not see; SELECTs always
	// reach everyone, so every consumer agrees on the selected database.
	exclude int
	partial []partialRange
	scratch []byte

	// An open block (EXEC) counts its commands and remembers where the first one starts,
	// after its SELECT, so endBlock can wrap two or more in MULTI/EXEC as Redis 7.0 does.
	blockDepth int
	blockOps   int
	blockAt    int
}

// partialRange is a command some targets (exclude) must not see.
type partialRange struct{ start, end, exclude int }

// command appends one command to the stream: override when the handler rewrote its effect
// (EXPIRE as PEXPIREAT, SET EX as SET PXAT...), argv otherwise; an empty non-nil override
// propagates nothing.
func (p *propagator) command(db int, argv, override [][]byte) {
	p.commandExcept(0, db, argv, override)
}

// commandExcept is command for a command that must not reach the targets in exclude.
func (p *propagator) commandExcept(exclude, db int, argv, override [][]byte) {
	exclude |= p.exclude
	if len(p.consumers) == 0 || exclude == targetAll {
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
	start := len(p.buf)
	p.buf = appendCommand(p.buf, argv...)
	if exclude != 0 {
		p.partial = append(p.partial, partialRange{start, len(p.buf), exclude})
	}
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
	p.shiftPartial(p.blockAt, len(multi))
	p.buf = append(p.buf, "*1\r\n$4\r\nEXEC\r\n"...)
	p.blockOps = 0
}

// shiftPartial moves the ranges at or after from by n bytes (bytes inserted before them).
func (p *propagator) shiftPartial(from, n int) {
	for i := range p.partial {
		if r := &p.partial[i]; r.start >= from {
			r.start += n
			r.end += n
		}
	}
}

// flush hands the commands of the batch to every consumer, each without the ranges its
// target must not see.
func (p *propagator) flush() {
	if len(p.buf) == 0 {
		return
	}
	for _, c := range p.consumers {
		b := p.buf
		if len(p.partial) > 0 {
			if b = p.bytesFor(consumerTarget(c)); len(b) == 0 {
				continue
			}
		}
		c.Feed(b)
	}
	p.buf = p.buf[:0]
	p.partial = p.partial[:0]
}

// bytesFor is buf without the ranges that exclude target.
func (p *propagator) bytesFor(target int) []byte {
	out := p.scratch[:0]
	at := 0
	for _, r := range p.partial {
		if r.exclude&target != 0 {
			out = append(out, p.buf[at:r.start]...)
			at = r.end
		}
	}
	out = append(out, p.buf[at:]...)
	p.scratch = out
	return out
}

// targetedConsumer is a consumer that is not the AOF's kind of target.
type targetedConsumer interface{ streamTarget() int }

func consumerTarget(c StreamConsumer) int {
	if t, ok := c.(targetedConsumer); ok {
		return t.streamTarget()
	}
	return targetAOF
}

// streamTarget: the replicas take the replication stream, PUBLISH included.
func (replConsumer) streamTarget() int { return targetRepl }

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
