// Command peakrss runs a command and writes its peak resident set size and
// CPU time, as JSON, to a file:
//
//	peakrss OUTFILE COMMAND [ARG...]
//
// The benchmarks run the tools they measure through it because the
// ru_maxrss that wait4 reports for a child of the (large) benchmark process
// is wrong: Go starts children with vfork semantics (CLONE_VM), so at exec
// Linux credits the child with the parent's peak RSS. Here the parent is
// this small program, so the figure is the command's own peak, or this
// program's (a few MB, see the "floor" the benchmarks log) if that is
// higher.
//
// The command inherits stdin, stdout and stderr; peakrss exits with its
// exit status (128+N when it is killed by signal N). The command is killed
// when peakrss dies.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

// Usage is what peakrss writes to OUTFILE.
type Usage struct {
	MaxRSSKiB int64   `json:"maxrss_kib"`
	UserSec   float64 `json:"user_s"`
	SysSec    float64 `json:"sys_s"`
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: peakrss OUTFILE COMMAND [ARG...]")
		os.Exit(2)
	}
	// Pdeathsig is delivered when the thread that started the child exits.
	runtime.LockOSThread()
	cmd := exec.Command(os.Args[2], os.Args[3:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err := cmd.Run()
	ps := cmd.ProcessState
	if ps == nil {
		fmt.Fprintf(os.Stderr, "peakrss: %v\n", err)
		os.Exit(127)
	}
	u := Usage{UserSec: ps.UserTime().Seconds(), SysSec: ps.SystemTime().Seconds()}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		u.MaxRSSKiB = int64(ru.Maxrss)
	}
	data, _ := json.Marshal(u)
	if err := os.WriteFile(os.Args[1], data, 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "peakrss: %v\n", err)
		os.Exit(127)
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		os.Exit(128 + int(ws.Signal()))
	}
	os.Exit(ps.ExitCode())
}
