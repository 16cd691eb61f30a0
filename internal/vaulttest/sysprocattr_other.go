//go:build !linux

package vaulttest

import "syscall"

// sysProcAttr has nothing to add where Pdeathsig does not exist; Stop still
// ends the server.
func sysProcAttr() *syscall.SysProcAttr {
	return nil
}
