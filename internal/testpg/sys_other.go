//go:build !unix

package testpg

import (
	"errors"
	"os"
	"syscall"
)

type osUser struct{}

func clusterOwner() (*osUser, error) {
	return nil, errors.New("the private PostgreSQL cluster needs Linux or another unix; set " + EnvVar)
}

func (u *osUser) chown(string) error { return nil }

func sysProcAttr(*osUser) *syscall.SysProcAttr { return nil }

func processAlive(int) bool { return true }

func lockOwnerFile(path string) (*os.File, error) { return os.Create(path) }

func ownerGone(string) error { return errOwnerAlive }
