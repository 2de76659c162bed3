//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package hub

import (
	"errors"
	"os"
	"syscall"
)

// tryLock takes flock(2) without waiting, as filelock's UnixFileLock does.
func tryLock(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.EINTR) {
		return false, nil
	}
	return err == nil, err
}

func unlock(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
