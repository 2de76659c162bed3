//go:build unix

package safetensors

import (
	"os"
	"syscall"
)

// mapFile maps f read-only. It returns the bytes and the function that
// unmaps them, or an error when the platform or file system refuses (the
// caller then reads the file instead).
func mapFile(f *os.File, size int64) ([]byte, func() error, error) {
	if size <= 0 || int64(int(size)) != size {
		return nil, nil, syscall.EINVAL
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return b, func() error { return syscall.Munmap(b) }, nil
}
