//go:build !linux

package pgtest

import "syscall"

// sysProcAttr has nothing to add outside Linux: there is no parent-death
// signal, and running the tests as root, the one case that switches
// user, is supported on Linux only. Stop still ends the server.
func sysProcAttr(*runAs) *syscall.SysProcAttr {
	return nil
}
