//go:build unix && !linux

package testpg

import "syscall"

// setPdeathsig does nothing: only Linux has a parent death signal. A cluster
// of a killed test process keeps running until stopped by hand.
func setPdeathsig(*syscall.SysProcAttr) {}
