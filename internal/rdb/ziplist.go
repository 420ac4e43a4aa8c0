package rdb

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// Older files hold lists, hashes and sorted sets as ziplists and hashes as zipmaps; both
// are read here, checked entry by entry, and handed over as plain elements.

var errZiplist = errors.New("invalid ziplist")

// ziplistEach calls fn for every element of zl (a string, or an integer with isInt) after
// checking the header and every entry's bounds. It stops with the error at the first
// malformed entry; fn only runs for well-formed ones. The string slices alias zl.
func ziplistEach(zl []byte, fn func(s []byte, v int64, isInt bool)) (int, error) {
	const header = 10
	if len(zl) < header+1 || int(binary.LittleEndian.Uint32(zl)) != len(zl) || zl[len(zl)-1] != 0xFF {
		return 0, errZiplist
	}
	tail := int(binary.LittleEndian.Uint32(zl[4:]))
	declared := int(binary.LittleEndian.Uint16(zl[8:]))
	p, n, last, prevLen := header, 0, -1, 0
	end := len(zl) - 1
	for p < end {
		start := p
		// previous entry length
		if zl[p] < 254 {
			if int(zl[p]) != prevLen {
				return n, errZiplist
			}
			p++
		} else if zl[p] == 254 {
			if p+5 > end || int(binary.LittleEndian.Uint32(zl[p+1:])) != prevLen {
				return n, errZiplist
			}
			p += 5
		} else {
			return n, errZiplist
		}
		if p >= end {
			return n, errZiplist
		}
		enc := zl[p]
		var slen, ilen int
		var v int64
		isInt := true
		switch enc >> 6 {
		case 0:
			slen, isInt = int(enc&0x3F), false
			p++
		case 1:
			if p+2 > end {
				return n, errZiplist
			}
			slen, isInt = int(enc&0x3F)<<8|int(zl[p+1]), false
			p += 2
		case 2:
			if enc != 0x80 || p+5 > end {
				return n, errZiplist
			}
			slen, isInt = int(binary.BigEndian.Uint32(zl[p+1:])), false
			p += 5
		default:
			p++
			switch {
			case enc == 0xC0:
				ilen = 2
			case enc == 0xD0:
				ilen = 4
			case enc == 0xE0:
				ilen = 8
			case enc == 0xF0:
				ilen = 3
			case enc == 0xFE:
				ilen = 1
			case enc >= 0xF1 && enc <= 0xFD:
				v = int64(enc&0x0F) - 1
			default:
				return n, errZiplist
			}
		}
		if isInt {
			if p+ilen > end {
				return n, errZiplist
			}
			b := zl[p : p+ilen]
			switch ilen {
			case 1:
				v = int64(int8(b[0]))
			case 2:
				v = int64(int16(binary.LittleEndian.Uint16(b)))
			case 3:
				v = int64(int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8)
			case 4:
				v = int64(int32(binary.LittleEndian.Uint32(b)))
			case 8:
				v = int64(binary.LittleEndian.Uint64(b))
			}
			p += ilen
			fn(nil, v, true)
		} else {
			if slen < 0 || p+slen > end {
				return n, errZiplist
			}
			fn(zl[p:p+slen], 0, false)
			p += slen
		}
		last, prevLen = start, p-start
		n++
	}
	if p != end || (n > 0 && last != tail) || (n == 0 && tail != header) {
		return n, errZiplist
	}
	if declared != 0xFFFF && declared != n {
		return n, errZiplist
	}
	return n, nil
}

// ziplistStrings returns the elements of zl as strings, integers in decimal.
func ziplistStrings(zl []byte) ([][]byte, error) {
	var out [][]byte
	_, err := ziplistEach(zl, func(s []byte, v int64, isInt bool) {
		if isInt {
			out = append(out, strconv.AppendInt(nil, v, 10))
		} else {
			out = append(out, append([]byte(nil), s...))
		}
	})
	return out, err
}

var errZipmap = errors.New("invalid zipmap")

// zipmapPairs returns the field, value pairs of a zipmap (Redis 2.x small hashes).
func zipmapPairs(zm []byte) ([][]byte, error) {
	if len(zm) < 2 {
		return nil, errZipmap
	}
	p := 1
	var out [][]byte
	readLen := func() (int, bool) {
		if p >= len(zm) {
			return 0, false
		}
		switch b := zm[p]; {
		case b < 254:
			p++
			return int(b), true
		case b == 254:
			if p+5 > len(zm) {
				return 0, false
			}
			l := int(binary.LittleEndian.Uint32(zm[p+1:]))
			p += 5
			return l, true
		}
		return 0, false
	}
	for {
		if p >= len(zm) {
			return nil, errZipmap
		}
		if zm[p] == 255 {
			if p != len(zm)-1 {
				return nil, errZipmap
			}
			break
		}
		kl, ok := readLen()
		if !ok || kl < 0 || p+kl > len(zm) {
			return nil, errZipmap
		}
		key := zm[p : p+kl]
		p += kl
		vl, ok := readLen()
		if !ok || vl < 0 || p >= len(zm) {
			return nil, errZipmap
		}
		free := int(zm[p])
		p++
		if p+vl+free > len(zm) {
			return nil, errZipmap
		}
		out = append(out, append([]byte(nil), key...), append([]byte(nil), zm[p:p+vl]...))
		p += vl + free
	}
	return out, nil
}
