package pgtest

import "syscall"

// sysProcAttr runs a child as user, when set, and asks the kernel to kill
// it when the test binary dies without running Stop (a panic, or go test's
// -timeout), so no server outlives it. Go sets the parent-death signal
// after switching user, which would otherwise clear it. Strictly the
// signal follows the death of the thread that started the child; the Go
// runtime does not retire threads that are not locked, so in practice that
// is the process.
func sysProcAttr(user *runAs) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if user != nil {
		a.Credential = &syscall.Credential{Uid: user.uid, Gid: user.gid, NoSetGroups: true}
	}
	return a
}
