package server

import (
	"strconv"

	"github.com/sard-kv/sard/internal/config"
)

// Keyspace notifications (notify-keyspace-events): every change to a key is published on
// __keyspace@<db>__:<key> (message: the event) and __keyevent@<db>__:<event> (message: the
// key), for the classes the directive enables.

// Event classes, with the bit values of the notify-keyspace-events letters.
const (
	notifyGeneric = config.NotifyGeneric // g
	notifyString  = config.NotifyString  // $
	notifyList    = config.NotifyList    // l
	notifySet     = config.NotifySet     // s
	notifyHash    = config.NotifyHash    // h
	notifyZSet    = config.NotifyZset    // z
	notifyExpired = config.NotifyExpired // x
	notifyEvicted = config.NotifyEvicted // e
	notifyStream  = config.NotifyStream  // t
	notifyKeyMiss = config.NotifyKeyMiss // m
	notifyModule  = config.NotifyModule  // d
	notifyNew     = config.NotifyNew     // n
)

// notifyKeyspace reports event on key of database db. Every event but "keymiss" and "new"
// is a modification, so this is also where WATCH learns that a key changed: a handler that
// fires its event needs nothing else.
func (s *Server) notifyKeyspace(class int, event string, key []byte, db int) {
	if class != notifyKeyMiss && class != notifyNew {
		// expiry and eviction are the server's changes: no client made them (BCAST NOLOOP)
		s.trk.serverChange = class == notifyExpired || class == notifyEvicted
		s.signalModifiedKey(db, key)
	}
	flags := s.cfg.Values.NotifyKeyspaceEvents
	if flags&class == 0 || flags&(config.NotifyKeyspace|config.NotifyKeyevent) == 0 {
		return
	}
	p := &s.pubsub
	if len(p.subs[subChannel]) == 0 && len(p.subs[subPattern]) == 0 {
		return // nobody can be listening
	}
	var chbuf [64]byte
	if flags&config.NotifyKeyspace != 0 {
		ch := append(chbuf[:0], "__keyspace@"...)
		ch = strconv.AppendInt(ch, int64(db), 10)
		ch = append(ch, "__:"...)
		ch = append(ch, key...)
		s.publish(subChannel, ch, []byte(event))
	}
	if flags&config.NotifyKeyevent != 0 {
		ch := append(chbuf[:0], "__keyevent@"...)
		ch = strconv.AppendInt(ch, int64(db), 10)
		ch = append(ch, "__:"...)
		ch = append(ch, event...)
		s.publish(subChannel, ch, key)
	}
}
