// Command gosig runs Google's SigLIP and SigLIP 2 image-text encoders on any
// GPU through WebGPU: zero-shot classification, embeddings, the
// image-classification head and attention maps, with the numbers of Hugging
// Face transformers.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes: they mean the same thing for every subcommand.
const (
	exitOK      = 0 // everything asked for was done
	exitFailure = 1 // the command failed; nothing useful was produced
	exitUsage   = 2 // bad flags or arguments
	exitPartial = 3 // the run finished but some inputs failed (they were reported)
)

// exitError carries an exit code with an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf reports a mistake in how the command was called.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := newRootCmd().ExecuteContext(ctx)
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "gosig:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	os.Exit(exitFailure)
}
