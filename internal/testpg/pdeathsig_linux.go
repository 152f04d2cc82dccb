package testpg

import "syscall"

// setPdeathsig makes the kernel send SIGQUIT (PostgreSQL's "immediate
// shutdown", which also ends its backends) to the child when the test
// process dies without calling Stop: killed, go test -timeout, or no
// TestMain. Go applies it after switching to the credential's user, so it
// survives the switch to the postgres user.
func setPdeathsig(attr *syscall.SysProcAttr) {
	attr.Pdeathsig = syscall.SIGQUIT
}
