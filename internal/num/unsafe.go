package num

import "unsafe"

// bytesString views b as a string for a read-only call that does not keep
// it, which saves a copy per parsed argument.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
