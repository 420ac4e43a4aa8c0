package server

import (
	"strconv"
	"strings"

	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/num"
	"github.com/sard-kv/sard/internal/rdb"
)

// DUMP and RESTORE: one value in Redis's payload format (the RDB encoding, the RDB version
// and a CRC64), so payloads move between sard and Redis in both directions. Payloads are
// always checked in depth whatever sanitize-dump-payload says: a malformed one is refused
// with "Bad data format" instead of being trusted.

const (
	errDumpPayload = "ERR DUMP payload version or checksum are wrong"
	errBadData     = "ERR Bad data format"
	errInvalidTTL  = "ERR Invalid TTL value, must be >= 0"
	errInvalidIdle = "ERR Invalid IDLETIME value, must be >= 0"
	errInvalidFreq = "ERR Invalid FREQ value, must be >= 0 and <= 255"
)

// dumpPayload serializes r's value as DUMP returns it.
func (s *Server) dumpPayload(ks *keyspace.DB, r keyspace.Ref) []byte {
	e := rdb.Encoder{Compress: s.cfgBool("rdbcompression")}
	e.Byte(rdbValueType(ks, r))
	encodeValue(&e, ks, r)
	return rdb.AppendDumpFooter(e.Buf)
}

func dumpCommand(c *Client) {
	r, ok := c.db.lookupRead(c.argv[1])
	if !ok {
		c.w.Null()
		return
	}
	c.w.Bulk(c.srv.dumpPayload(c.db.ks, r))
}

// restoreCommand is RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f], with
// Redis 7.0's checks in its order.
func restoreCommand(c *Client) {
	s := c.srv
	replace, absttl := false, false
	idle, freq := int64(-1), int64(-1)
	argv := c.argv
	for j := 4; j < len(argv); j++ {
		more := len(argv) - j - 1
		switch opt := strings.ToLower(string(argv[j])); {
		case opt == "replace":
			replace = true
		case opt == "absttl":
			absttl = true
		case opt == "idletime" && more >= 1 && freq == -1:
			v, ok := num.ParseInt64(argv[j+1])
			if !ok {
				c.w.Error(errNotInt)
				return
			}
			if v < 0 {
				c.w.Error(errInvalidIdle)
				return
			}
			idle = v
			j++
		case opt == "freq" && more >= 1 && idle == -1:
			v, ok := num.ParseInt64(argv[j+1])
			if !ok {
				c.w.Error(errNotInt)
				return
			}
			if v < 0 || v > 255 {
				c.w.Error(errInvalidFreq)
				return
			}
			freq = v
			j++
		default:
			c.w.Error(errSyntax)
			return
		}
	}
	key := argv[1]
	if _, exists := c.db.lookupWrite(key); exists && !replace {
		c.w.Error(errBusyKey)
		return
	}
	ttl, ok := num.ParseInt64(argv[2])
	if !ok {
		c.w.Error(errNotInt)
		return
	}
	if ttl < 0 {
		c.w.Error(errInvalidTTL)
		return
	}
	payload := argv[3]
	if !rdb.VerifyPayload(payload, false) {
		c.w.Error(errDumpPayload)
		return
	}
	obj, err := rdb.DecodePayload(payload, s.rdbLimits())
	if err != nil {
		c.w.Error(errBadData)
		return
	}
	deleted := false
	if replace {
		deleted = c.db.delete(key)
	}
	if ttl > 0 && !absttl {
		ttl += s.now
	}
	if ttl > 0 && s.alreadyExpired(ttl) {
		// Already expired: the key just goes away, as a DEL would do it (Redis says DEL
		// whatever lazyfree-lazy-server-del says). A replica stores it with its past time.
		if deleted {
			c.propArgv = [][]byte{[]byte("DEL"), append([]byte(nil), key...)}
			s.signalModifiedKey(c.db.id, key)
			s.notifyKeyspace(notifyGeneric, "del", key, c.db.id)
			s.dirty++
		}
		c.w.OK()
		return
	}
	at := keyspace.NoExpire
	if ttl > 0 {
		at = ttl
	}
	r, _ := s.storeObject(c.db, key, obj, at, true)
	// The old value (if any) was deleted above, so the key is always added afresh.
	s.notifyKeyspace(notifyNew, "new", key, c.db.id)
	if ttl > 0 && !absttl {
		// Propagated with the absolute expiry, so replicas and the AOF agree on it.
		nargv := make([][]byte, 0, len(argv)+1)
		for i, a := range argv {
			if i == 2 {
				a = strconv.AppendInt(nil, ttl, 10)
			} else {
				a = append([]byte(nil), a...)
			}
			nargv = append(nargv, a)
		}
		c.propArgv = append(nargv, []byte("ABSTTL"))
	}
	s.setAccessInfo(c.db.ks, r, idle, int(freq))
	s.signalModifiedKey(c.db.id, key)
	s.notifyKeyspace(notifyGeneric, "restore", key, c.db.id)
	c.w.OK()
	s.dirty++
}

func init() {
	register(map[string]func(*Client){
		"dump":    dumpCommand,
		"restore": restoreCommand,
	})
}
