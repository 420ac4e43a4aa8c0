package rdb

import (
	"fmt"
	"io"
	"strconv"
)

// KeyInfo is what precedes a key in the file: its expiry (-1 for none) and its LRU idle
// time in seconds or LFU counter (-1 when absent).
type KeyInfo struct {
	DB       int
	ExpireAt int64
	Idle     int64
	Freq     int
}

// Handler receives what a file holds. Key gets each non-empty key with its value; any
// error it returns stops the load. Nil functions ignore their part.
type Handler struct {
	Aux      func(key, val []byte)
	ResizeDB func(db int, keys, expires uint64)
	Function func(code []byte) error
	Key      func(key []byte, obj *Object, info KeyInfo) error
}

// Stats counts what a load met.
type Stats struct {
	Version      int
	Keys         int64 // keys handed to Handler.Key
	EmptySkipped int64
	Consumed     int64 // bytes read up to and including the checksum
}

// Load reads a whole RDB stream: header, auxiliary fields, functions, databases, EOF and
// the checksum. It stops at the first problem with an *Error naming the offset.
func Load(r io.Reader, lim Limits, h Handler) (Stats, error) {
	return LoadDecoder(NewDecoder(r), lim, h)
}

// LoadDecoder is Load on an existing decoder (a preamble inside another file).
func LoadDecoder(d *Decoder, lim Limits, h Handler) (Stats, error) {
	var st Stats
	magic := d.next(9)
	if magic == nil {
		return st, d.Err()
	}
	if string(magic[:5]) != "REDIS" {
		d.fail("wrong signature trying to load DB from file")
		return st, d.Err()
	}
	ver, err := strconv.Atoi(string(magic[5:]))
	if err != nil || ver < 1 || ver > Version {
		d.fail("can't handle RDB format version %s", magic[5:])
		return st, d.Err()
	}
	st.Version = ver
	info := KeyInfo{ExpireAt: -1, Idle: -1, Freq: -1}
	for d.err == nil {
		t := d.Byte()
		if d.err != nil {
			break
		}
		switch t {
		case OpExpireTime:
			b := d.next(4)
			if b != nil {
				info.ExpireAt = int64(int32(uint32(b[0])|uint32(b[1])<<8|uint32(b[2])<<16|uint32(b[3])<<24)) * 1000
			}
			continue
		case OpExpireTimeMs:
			info.ExpireAt = d.Millis()
			continue
		case OpFreq:
			info.Freq = int(d.Byte())
			continue
		case OpIdle:
			info.Idle = int64(d.Len())
			continue
		case OpEOF:
		case OpSelectDB:
			db := d.Len()
			if d.err == nil && lim.Databases > 0 && db >= uint64(lim.Databases) {
				d.fail("data file was created with a server configured to handle more than %d databases", lim.Databases)
			}
			info.DB = int(db)
			continue
		case OpResizeDB:
			keys, exp := d.Len(), d.Len()
			if d.err == nil && h.ResizeDB != nil {
				h.ResizeDB(info.DB, keys, exp)
			}
			continue
		case OpAux:
			k, v := d.String(), d.String()
			if d.err == nil && h.Aux != nil {
				h.Aux(k, v)
			}
			continue
		case OpModuleAux:
			d.fail("module auxiliary data found but modules are not supported")
			continue
		case OpFunction:
			d.fail("pre-release function format not supported")
			continue
		case OpFunction2:
			code := d.String()
			if d.err == nil {
				if h.Function == nil {
					d.fail("functions are not supported")
				} else if err := h.Function(code); err != nil {
					d.fail("failed loading library: %v", err)
				}
			}
			continue
		default:
			if !ValidType(t) {
				d.fail("unknown RDB type %d", t)
				continue
			}
			key := d.String()
			if d.err != nil {
				break
			}
			obj := d.Object(t, &lim)
			if d.err != nil {
				break
			}
			if obj == nil { // an empty collection: Redis skips the key
				st.EmptySkipped++
			} else if h.Key != nil {
				if err := h.Key(key, obj, info); err != nil {
					d.fail("%v", err)
					break
				}
				st.Keys++
			}
			db := info.DB
			info = KeyInfo{DB: db, ExpireAt: -1, Idle: -1, Freq: -1}
			continue
		}
		break // EOF
	}
	if d.err != nil {
		return st, d.err
	}
	if ver >= 5 {
		expected := d.Checksum()
		got := d.Uint64LE()
		if d.err != nil {
			return st, d.err
		}
		if !lim.SkipChecksum && got != 0 && got != expected {
			d.pos -= 8
			d.fail("wrong RDB checksum expected: (%x) got: (%x)", got, expected)
			return st, d.err
		}
	}
	st.Consumed = d.Offset()
	return st, nil
}

// String forms of KeyInfo for log lines.
func (k KeyInfo) String() string {
	return fmt.Sprintf("db=%d expire=%d idle=%d freq=%d", k.DB, k.ExpireAt, k.Idle, k.Freq)
}
