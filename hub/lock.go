package hub

import (
	"context"
	"os"
	"path/filepath"
	"time"
)

// lockFile takes the exclusive lock on path that Python's filelock (used by
// huggingface_hub) takes on the same file, so that a gosig and a Python
// download of one blob never write the same partial file. It polls, so ctx
// can cancel the wait; the returned function releases the lock.
func lockFile(ctx context.Context, path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, err
		}
		if ok {
			return func() { unlock(f); f.Close() }, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
