//go:build !linux

package testenv

import "syscall"

// sysProcAttr has nothing to add where Pdeathsig does not exist; Stop still
// ends the processes.
func sysProcAttr() *syscall.SysProcAttr {
	return nil
}
