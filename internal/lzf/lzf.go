// Package lzf implements the LZF compression format Redis uses for RDB strings and
// compressed quicklist nodes, with the same compressor choices as Redis's bundled liblzf
// (16-bit hash table, "very fast" mode) so that its output matches Redis's byte for byte.
//
// The format is a sequence of chunks. A control byte below 32 starts a literal run of
// ctrl+1 bytes. Otherwise its top three bits are a back-reference length minus 2 (7 means
// "add the next byte"), its low five bits the high bits of an offset minus 1 whose low
// byte follows; the reference copies from that far back in the output, possibly
// overlapping what it writes.
package lzf

import (
	"errors"
	"sync"
)

const (
	hlog   = 16
	hsize  = 1 << hlog
	maxLit = 1 << 5
	maxOff = 1 << 13
	maxRef = (1 << 8) + (1 << 3)
)

// Errors from Decompress.
var (
	ErrTooBig  = errors.New("lzf: output larger than expected")
	ErrCorrupt = errors.New("lzf: corrupt input")
)

// hashTable maps a hash of three bytes to the last offset they were seen at; a slot is
// valid only when stamped with the current generation.
type hashTable struct {
	slots [hsize]uint64
	gen   uint32
}

var tables = sync.Pool{New: func() any { return new(hashTable) }}

// get returns the offset stored at i, or -1.
func (t *hashTable) get(i uint32) int {
	v := t.slots[i]
	if uint32(v>>32) != t.gen {
		return -1
	}
	return int(uint32(v)) - 1
}

func (t *hashTable) set(i uint32, ip int) { t.slots[i] = uint64(t.gen)<<32 | uint64(uint32(ip)+1) }

func idx(h uint32) uint32 { return ((h >> (3*8 - hlog)) - h*5) & (hsize - 1) }

// Compress compresses in into dst (reusing its capacity) and returns the result, or nil
// when the output would not fit in maxOut bytes (Redis passes a limit to give up on data
// that does not shrink) or in is empty. maxOut <= 0 means len(in)+len(in)/16+64.
func Compress(dst, in []byte, maxOut int) []byte {
	if maxOut <= 0 {
		maxOut = len(in) + len(in)/16 + 64
	}
	if len(in) == 0 {
		return nil
	}
	// offsets into in, plus one so that zero means "never set": a zeroed table in
	// place of liblzf's uninitialised one, whose stale slots fail the same checks. The
	// table is pooled and stamped with a generation instead of being cleared, so that
	// compressing many short strings (RDB saves) does not zero 512 KB each time.
	ht := tables.Get().(*hashTable)
	defer tables.Put(ht)
	ht.gen++
	if ht.gen == 0 {
		clear(ht.slots[:])
		ht.gen = 1
	}
	if cap(dst) < maxOut {
		dst = make([]byte, maxOut)
	}
	out := dst[:maxOut]
	inEnd := len(in)
	ip, op, lit := 0, 1, 0 // op starts past the first run's control byte

	hval := uint32(in[0]) << 8
	if len(in) > 1 {
		hval |= uint32(in[1])
	}
	for ip < inEnd-2 {
		hval = hval<<8 | uint32(in[ip+2])
		ref := ht.get(idx(hval))
		ht.set(idx(hval), ip)
		off := ip - ref - 1
		if ref > 0 && off < maxOff && in[ref+2] == in[ip+2] && in[ref] == in[ip] && in[ref+1] == in[ip+1] {
			length := 2
			maxlen := inEnd - ip - length
			if maxlen > maxRef {
				maxlen = maxRef
			}
			if op+3+1 >= maxOut && op-b2i(lit == 0)+3+1 >= maxOut {
				return nil
			}
			out[op-lit-1] = byte(lit - 1)
			op -= b2i(lit == 0)
			// liblzf checks 16 bytes unconditionally when more than 16 may match, then
			// continues with the bounded loop: reproduce it so lengths agree exactly
			if maxlen > 16 {
				matched := true
				for i := 0; i < 16; i++ {
					length++
					if in[ref+length] != in[ip+length] {
						matched = false
						break
					}
				}
				if matched {
					length++
					for length < maxlen && in[ref+length] == in[ip+length] {
						length++
					}
				}
			} else {
				length++
				for length < maxlen && in[ref+length] == in[ip+length] {
					length++
				}
			}
			length -= 2
			ip++
			if length < 7 {
				out[op] = byte(off>>8) + byte(length<<5)
				op++
			} else {
				out[op] = byte(off>>8) + 7<<5
				out[op+1] = byte(length - 7)
				op += 2
			}
			out[op] = byte(off)
			op++
			lit = 0
			op++
			ip += length + 1
			if ip >= inEnd-2 {
				break
			}
			ip -= 2
			hval = uint32(in[ip])<<8 | uint32(in[ip+1])
			hval = hval<<8 | uint32(in[ip+2])
			ht.set(idx(hval), ip)
			ip++
			hval = hval<<8 | uint32(in[ip+2])
			ht.set(idx(hval), ip)
			ip++
			continue
		}
		if op >= maxOut {
			return nil
		}
		lit++
		out[op] = in[ip]
		op++
		ip++
		if lit == maxLit {
			out[op-lit-1] = byte(lit - 1)
			lit = 0
			op++
		}
	}
	if op+3 > maxOut {
		return nil
	}
	for ip < inEnd {
		if op >= maxOut {
			return nil
		}
		lit++
		out[op] = in[ip]
		op++
		ip++
		if lit == maxLit {
			out[op-lit-1] = byte(lit - 1)
			lit = 0
			op++
			if op > maxOut {
				return nil
			}
		}
	}
	out[op-lit-1] = byte(lit - 1)
	op -= b2i(lit == 0)
	return out[:op]
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Decompress expands in, which must decompress to exactly n bytes, appending to dst[:0].
func Decompress(dst, in []byte, n int) ([]byte, error) {
	if cap(dst) < n {
		dst = make([]byte, 0, n)
	}
	out := dst[:0]
	ip := 0
	for ip < len(in) {
		ctrl := int(in[ip])
		ip++
		if ctrl < 1<<5 {
			ctrl++
			if len(out)+ctrl > n {
				return nil, ErrTooBig
			}
			if ip+ctrl > len(in) {
				return nil, ErrCorrupt
			}
			out = append(out, in[ip:ip+ctrl]...)
			ip += ctrl
			continue
		}
		length := ctrl >> 5
		ref := len(out) - (ctrl&0x1f)<<8 - 1
		if ip >= len(in) {
			return nil, ErrCorrupt
		}
		if length == 7 {
			length += int(in[ip])
			ip++
			if ip >= len(in) {
				return nil, ErrCorrupt
			}
		}
		ref -= int(in[ip])
		ip++
		length += 2
		if len(out)+length > n {
			return nil, ErrTooBig
		}
		if ref < 0 {
			return nil, ErrCorrupt
		}
		// byte by byte: the reference may overlap the bytes being written
		for i := 0; i < length; i++ {
			out = append(out, out[ref+i])
		}
	}
	if len(out) != n {
		return nil, ErrCorrupt
	}
	return out, nil
}
