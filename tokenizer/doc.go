// Package tokenizer turns text into the token ids that SigLIP and SigLIP 2
// checkpoints expect, and back.
package tokenizer
