// Package slot maps keys to Redis Cluster hash slots (CRC16/XMODEM of the key or its hash tag, mod 16384).
package slot

// Count is the number of hash slots in a Redis cluster.
const Count = 16384

// crcTable is CRC16/XMODEM (polynomial 0x1021, MSB first, zero initial
// value), the variant the Redis Cluster specification names.
var crcTable = makeTable()

func makeTable() (t [256]uint16) {
	for i := range 256 {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}

// CRC16 returns the CRC16/XMODEM checksum of p.
func CRC16(p []byte) uint16 { return crc16(p) }

func crc16[T string | []byte](p T) uint16 {
	var crc uint16
	for i := 0; i < len(p); i++ {
		crc = crc<<8 ^ crcTable[byte(crc>>8)^p[i]]
	}
	return crc
}

// KeySlot returns the hash slot of key. Only the first '{' counts: if a '}'
// follows it with at least one byte between, only those bytes are hashed;
// otherwise (no '{', no '}' after it, or "{}") the whole key is hashed.
// So "{}{a}" hashes whole, and "{a}{b}" hashes "a".
func KeySlot(key []byte) uint16 { return crc16(hashTag(key)) & (Count - 1) }

// KeySlotString is KeySlot for a string key.
func KeySlotString(key string) uint16 { return crc16(hashTag(key)) & (Count - 1) }

// HashTag returns the part of key that KeySlot hashes: the bytes between
// the first '{' and the next '}' when that is non-empty, else the whole key.
func HashTag(key []byte) []byte { return hashTag(key) }

func hashTag[T string | []byte](key T) T {
	for s := 0; s < len(key); s++ {
		if key[s] != '{' {
			continue
		}
		for e := s + 1; e < len(key); e++ {
			if key[e] == '}' {
				if e == s+1 {
					// Redis hashes the whole key for an empty "{}" rather
					// than looking for a later tag.
					return key
				}
				return key[s+1 : e]
			}
		}
		return key
	}
	return key
}
