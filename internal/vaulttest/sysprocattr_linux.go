package vaulttest

import "syscall"

// sysProcAttr asks the kernel to kill Vault when the test binary dies
// without running Stop (a panic, or go test's -timeout), so no server
// outlives it. Strictly the signal follows the death of the thread that
// started the child; the Go runtime does not retire threads that are not
// locked, so in practice that is the process.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
