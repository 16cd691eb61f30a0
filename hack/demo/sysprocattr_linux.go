package main

import "syscall"

// sysProcAttr puts the controller in its own process group, so a Ctrl-C in
// the terminal reaches only the demo, which then stops the controller and
// reports how it exited; and asks the kernel to kill the controller if the
// demo dies without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
