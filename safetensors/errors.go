package safetensors

import (
	"errors"
	"fmt"
)

// Sentinel errors, for errors.Is. Every error this package returns wraps one
// of them and carries the details (file, tensor, expected and found values) in
// its message.
var (
	// ErrInvalid marks a file whose header or layout breaks the format.
	ErrInvalid = errors.New("invalid safetensors file")
	// ErrNotFound marks a request for a tensor the file does not hold.
	ErrNotFound = errors.New("tensor not found")
	// ErrDType marks a tensor whose dtype cannot be read as the Go type asked for.
	ErrDType = errors.New("dtype mismatch")
	// ErrClosed marks a read from a File or Index after Close.
	ErrClosed = errors.New("safetensors file closed")
)

// FormatError describes why a file was refused. It wraps ErrInvalid.
type FormatError struct {
	// Path is the file (or "<memory>" for Parse).
	Path string
	// Tensor is the header key at fault, or "" when the fault is not a tensor's.
	Tensor string
	// Msg says what was expected and what was found.
	Msg string
}

// Error implements error.
func (e *FormatError) Error() string {
	if e.Tensor != "" {
		return fmt.Sprintf("safetensors %s: tensor %q: %s", e.Path, e.Tensor, e.Msg)
	}
	return fmt.Sprintf("safetensors %s: %s", e.Path, e.Msg)
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FormatError) Unwrap() error { return ErrInvalid }

func formatErr(path, tensor, format string, args ...any) error {
	return &FormatError{Path: path, Tensor: tensor, Msg: fmt.Sprintf(format, args...)}
}
