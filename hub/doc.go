// Package hub downloads checkpoints from the Hugging Face hub into the
// standard Hugging Face cache and finds them there again, so that gosig and
// Python's huggingface_hub share one copy of every file.
//
// The cache layout, the environment variables and the HTTP protocol follow
// huggingface_hub (constants.py and file_download.py):
//
//	$HF_HUB_CACHE/models--org--name/
//	    blobs/<etag>                      file contents, named by sha256 (LFS) or git sha1
//	    snapshots/<commit>/<filename>     relative symlinks into blobs/
//	    refs/<revision>                   the commit a branch or tag pointed to
//
// Download and cache layout live together here, apart from the model and the
// CLI, because they are one responsibility: where a checkpoint's files come
// from. siglip2.Load calls Resolve; `gosig pull` calls Pull.
package hub

import "errors"

// Errors that callers can test for with errors.Is.
var (
	// ErrNotCached: the files asked for are not in the local cache
	// (Resolve, or Pull when HF_HUB_OFFLINE is set).
	ErrNotCached = errors.New("not in the local Hugging Face cache")
	// ErrAccess: the hub refused access (HTTP 401 or 403: a private or
	// gated repository, or a missing or wrong token).
	ErrAccess = errors.New("access denied by the hub")
	// ErrNotFound: the hub has no such repository, revision or file (HTTP 404).
	ErrNotFound = errors.New("not found on the hub")
	// ErrChecksum: a downloaded file does not hash to the sha256 the hub announced.
	ErrChecksum = errors.New("checksum mismatch")
)

// DefaultEndpoint is the hub used when neither Options.Endpoint nor
// HF_ENDPOINT is set.
const DefaultEndpoint = "https://huggingface.co"

// DefaultRevision is the branch pulled and resolved when none is given.
const DefaultRevision = "main"
