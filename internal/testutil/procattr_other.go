//go:build !linux

package testutil

import "syscall"

func childAttr() *syscall.SysProcAttr { return nil }
