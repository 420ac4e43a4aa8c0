package rdb

import (
	"encoding/binary"
	"errors"

	"github.com/sard-kv/sard/internal/crc64"
)

// A DUMP payload is one value as the file holds it (type byte and encoding), then the RDB
// version as 2 bytes little endian, then the CRC64 of all that, 8 bytes little endian.

// AppendDumpFooter finishes a payload whose type and value are in b.
func AppendDumpFooter(b []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, Version)
	return binary.LittleEndian.AppendUint64(b, crc64.Checksum(b))
}

// VerifyPayload is Redis's verifyDumpPayload: a footer, a version this loader knows and,
// unless skipped, a matching checksum.
func VerifyPayload(p []byte, skipChecksum bool) bool {
	if len(p) < 10 {
		return false
	}
	footer := p[len(p)-10:]
	if binary.LittleEndian.Uint16(footer) > Version {
		return false
	}
	if skipChecksum {
		return true
	}
	return crc64.Checksum(p[:len(p)-8]) == binary.LittleEndian.Uint64(footer[2:])
}

// ErrBadPayload is any payload whose value cannot be read, empty collections included.
var ErrBadPayload = errors.New("bad data format")

// DecodePayload reads the value of a verified payload. Like Redis it reads from the whole
// payload, so a value whose encoding runs into the footer is read from the footer's bytes.
func DecodePayload(p []byte, lim Limits) (*Object, error) {
	d := NewBytesDecoder(p)
	t := d.Byte()
	if d.err != nil || !ValidType(t) {
		return nil, ErrBadPayload
	}
	obj := d.Object(t, &lim)
	if obj == nil {
		return nil, ErrBadPayload
	}
	return obj, nil
}
