//go:build unix

package testpg

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// osUser is the unprivileged user the cluster runs as when the tests run as
// root; nil means the current user.
type osUser struct {
	uid, gid int
}

// clusterOwner returns the user to run initdb and postgres as.
func clusterOwner() (*osUser, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errNoPostgresUser
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil || uid == 0 {
		return nil, fmt.Errorf("unusable uid/gid %q/%q of the postgres user", u.Uid, u.Gid)
	}
	return &osUser{uid: uid, gid: gid}, nil
}

func (u *osUser) chown(path string) error {
	if u == nil {
		return nil
	}
	return os.Chown(path, u.uid, u.gid)
}

func sysProcAttr(owner *osUser) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{}
	if owner != nil {
		attr.Credential = &syscall.Credential{Uid: uint32(owner.uid), Gid: uint32(owner.gid)}
	}
	setPdeathsig(attr)
	return attr
}

// lockOwnerFile creates path, locks it for as long as this process lives
// (or until the returned file is closed) and writes our pid into it.
func lockOwnerFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if _, err := f.WriteString(strconv.Itoa(os.Getpid()) + "\n"); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ownerGone returns nil if the owner file at path is not locked (its process
// is gone), errOwnerAlive if it is, or another error (e.g. no such file).
// Unlike a pid check, this is immune to pid reuse and pid namespaces.
func ownerGone(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if err == syscall.EWOULDBLOCK {
			return errOwnerAlive
		}
		return err
	}
	return nil
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && err != syscall.EPERM {
		return false
	}
	// A zombie (exited, not yet reaped: e.g. reparented to a container's
	// init that doesn't reap) is dead too.
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no procfs
	}
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	return true
}
