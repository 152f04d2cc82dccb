//go:build !unix

package sqlstore

import (
	"errors"
	"os"
)

func tryLockFile(*os.File) (bool, error) {
	return false, errors.New("locking a mailbox in a state file needs a Unix system; use PostgreSQL here")
}
