//go:build !unix

package safetensors

import (
	"errors"
	"os"
)

// mapFile is not available here; Open reads the file instead.
func mapFile(*os.File, int64) ([]byte, func() error, error) {
	return nil, nil, errors.ErrUnsupported
}
