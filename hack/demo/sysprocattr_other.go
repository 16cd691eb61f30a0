//go:build !linux

package main

import "syscall"

// sysProcAttr has nothing to add where Pdeathsig does not exist. A Ctrl-C
// in the terminal reaches the controller as well as the demo; it exits
// cleanly on either signal.
func sysProcAttr() *syscall.SysProcAttr {
	return nil
}
