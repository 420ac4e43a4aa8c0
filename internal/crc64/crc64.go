// Package crc64 computes the CRC-64/Jones checksum that Redis appends to RDB files and DUMP payloads.
package crc64

import "encoding/binary"

// poly is the Jones polynomial 0xad93d23594c935a9 in reflected bit order;
// Redis runs it reflected with a zero initial value and no final xor.
const poly = 0x95ac9329ac4bc9b5

// tables[k][b] is the CRC of byte b followed by k zero bytes, which lets
// Update fold eight input bytes per step (slicing-by-8).
var tables = makeTables()

func makeTables() *[8][256]uint64 {
	t := new([8][256]uint64)
	for i := range 256 {
		c := uint64(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ poly
			} else {
				c >>= 1
			}
		}
		t[0][i] = c
	}
	for i := range 256 {
		c := t[0][i]
		for k := 1; k < 8; k++ {
			c = t[0][c&0xff] ^ c>>8
			t[k][i] = c
		}
	}
	return t
}

// Update returns the CRC of the data already summarised by crc followed by p.
// Start a new checksum with crc = 0.
func Update(crc uint64, p []byte) uint64 {
	t := tables
	for len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][crc&0xff] ^
			t[6][crc>>8&0xff] ^
			t[5][crc>>16&0xff] ^
			t[4][crc>>24&0xff] ^
			t[3][crc>>32&0xff] ^
			t[2][crc>>40&0xff] ^
			t[1][crc>>48&0xff] ^
			t[0][crc>>56]
		p = p[8:]
	}
	for _, b := range p {
		crc = t[0][byte(crc)^b] ^ crc>>8
	}
	return crc
}

// Checksum returns the CRC of p alone.
func Checksum(p []byte) uint64 { return Update(0, p) }
