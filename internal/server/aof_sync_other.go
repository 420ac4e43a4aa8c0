//go:build !linux

package server

import "os"

func fdatasync(f *os.File) error { return f.Sync() }

func writeFileRaw(f *os.File, b []byte) (int, error) { return f.Write(b) }

func fdatasyncRaw(f *os.File) error { return f.Sync() }
