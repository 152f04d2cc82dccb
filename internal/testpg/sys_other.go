//go:build !unix

package testpg

import (
	"errors"
	"syscall"
)

type osUser struct{}

func clusterOwner() (*osUser, error) {
	return nil, errors.New("the private PostgreSQL cluster needs Linux or another unix; set " + EnvVar)
}

func (u *osUser) chown(string) error { return nil }

func sysProcAttr(*osUser) *syscall.SysProcAttr { return nil }

func processAlive(int) bool { return true }
