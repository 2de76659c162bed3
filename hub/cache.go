package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

var (
	repoPart   = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	commitHash = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// ValidateRepoID checks a hub repository id ("org/name", or a legacy
// "name") with huggingface_hub's rules: letters, digits, '-', '_', '.',
// at most 96 characters, no "--" or "..", not ending in ".git".
func ValidateRepoID(id string) error {
	parts := strings.Split(id, "/")
	ok := len(id) <= 96 && len(parts) <= 2 &&
		!strings.Contains(id, "--") && !strings.Contains(id, "..") && !strings.HasSuffix(id, ".git")
	for _, p := range parts {
		ok = ok && repoPart.MatchString(p) && !strings.HasPrefix(p, "-") && !strings.HasPrefix(p, ".") &&
			!strings.HasSuffix(p, "-") && !strings.HasSuffix(p, ".")
	}
	if !ok {
		return fmt.Errorf("%q is not a hub repository id: expected org/name with letters, digits, '-', '_' and '.'", id)
	}
	return nil
}

// repoDir is the folder of one model repository inside the cache:
// models--org--name.
func repoDir(cache, repo string) string {
	return filepath.Join(cache, "models--"+strings.ReplaceAll(repo, "/", "--"))
}

// Resolve turns what a user typed as a model into a local directory. An
// existing directory is returned unchanged. A hub id ("org/name") is looked
// up in the local cache without touching the network: refs/<revision>
// (default "main") gives the commit, snapshots/<commit> the directory. A
// revision that is a full commit hash is used directly. A snapshot that lacks
// config.json or the safetensors weights counts as missing. A missing model
// gives an error wrapping ErrNotCached that says which `gosig pull` to run.
func Resolve(idOrDir, revision string) (string, error) {
	if fi, err := os.Stat(idOrDir); err == nil && fi.IsDir() {
		return idOrDir, nil
	}
	if err := ValidateRepoID(idOrDir); err != nil {
		return "", fmt.Errorf("model %q: no such directory, and %w", idOrDir, err)
	}
	if revision == "" {
		revision = DefaultRevision
	}
	if err := validFilename(revision); err != nil {
		return "", fmt.Errorf("model %s: revision %q: %w", idOrDir, revision, err)
	}
	dir, err := checkSnapshot(repoDir(CacheDir(), idOrDir), revision, nil)
	if err != nil {
		pull := "gosig pull " + idOrDir
		if revision != DefaultRevision {
			pull += " --revision " + revision
		}
		return "", fmt.Errorf("model %s: no such folder, and revision %s is %w: run %q first (%w)", idOrDir, revision, ErrNotCached, pull, err)
	}
	return dir, nil
}

// snapshotFor maps a revision to its snapshot directory through refs/, as
// huggingface_hub's try_to_load_from_cache does.
func snapshotFor(repo, revision string) (string, error) {
	commit := revision
	if !commitHash.MatchString(revision) {
		ref := filepath.Join(repo, "refs", filepath.FromSlash(revision))
		b, err := os.ReadFile(ref)
		if err != nil {
			return "", fmt.Errorf("no ref %s", ref)
		}
		commit = strings.TrimSpace(string(b))
		if !commitHash.MatchString(commit) {
			return "", fmt.Errorf("ref %s holds %q, not a commit hash", ref, commit)
		}
	}
	dir := filepath.Join(repo, "snapshots", commit)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("no snapshot %s", dir)
	}
	return dir, nil
}

// hasFiles reports the first name that is not a readable file in dir
// (following the snapshot's symlinks).
func hasFiles(dir string, names ...string) error {
	for _, n := range names {
		if fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(n))); err != nil || !fi.Mode().IsRegular() {
			return fmt.Errorf("%s has no %s", dir, n)
		}
	}
	return nil
}

// hasWeights checks for model.safetensors, or for the sharded index and
// every shard it names.
func hasWeights(dir string) error {
	if hasFiles(dir, weightsFile) == nil {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(dir, weightsIndex))
	if err != nil {
		return fmt.Errorf("%s has neither %s nor %s", dir, weightsFile, weightsIndex)
	}
	shards, err := shardFiles(b)
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, weightsIndex), err)
	}
	return hasFiles(dir, shards...)
}

// link makes pointer a relative symlink to blob, as huggingface_hub does, so
// the cache survives being moved. Where symlinks are not allowed (Windows
// without developer mode) the pointer is a copy.
func link(blob, pointer string) error {
	if err := os.MkdirAll(filepath.Dir(pointer), 0o755); err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(pointer), blob)
	if err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", pointer, os.Getpid())
	os.Remove(tmp)
	if err := os.Symlink(rel, tmp); err != nil {
		return copyFile(blob, tmp, pointer)
	}
	return os.Rename(tmp, pointer)
}

func copyFile(src, tmp, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// writeRef records which commit a branch or tag pointed to, atomically and
// only when it changed (a read-only shared cache stays usable).
func writeRef(ref, commit string) error {
	if b, err := os.ReadFile(ref); err == nil && string(b) == commit {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(ref), 0o755); err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", ref, os.Getpid())
	if err := os.WriteFile(tmp, []byte(commit), 0o644); err != nil {
		return fmt.Errorf("write ref: %w", err)
	}
	return os.Rename(tmp, ref)
}

// markMissing records, as huggingface_hub does in .no_exist/<commit>/, that
// the repository has no such file, so Python does not ask again. Best effort.
func (p *puller) markMissing(name string) {
	if p.commit == "" {
		return
	}
	f := filepath.Join(p.repoDir, ".no_exist", p.commit, filepath.FromSlash(name))
	if os.MkdirAll(filepath.Dir(f), 0o755) == nil {
		if w, err := os.OpenFile(f, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			w.Close()
		}
	}
}

func exists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// validFilename accepts a repository file path, or a revision, that stays
// inside its cache folder: relative, slash-separated, no "." or ".."
// segments.
func validFilename(name string) error {
	bad := name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, `\`) || strings.ContainsRune(name, 0)
	for _, s := range strings.Split(name, "/") {
		bad = bad || s == "" || s == "." || s == ".."
	}
	if bad {
		return fmt.Errorf("bad path %q: it must be relative, with no empty, '.' or '..' parts", name)
	}
	return nil
}

// shardFiles lists the shard files a safetensors index's weight_map names,
// sorted and without repeats.
func shardFiles(index []byte) ([]string, error) {
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(index, &idx); err != nil {
		return nil, fmt.Errorf("parse safetensors index: %w", err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, errors.New("safetensors index has an empty weight_map")
	}
	var shards []string
	for _, s := range idx.WeightMap {
		if err := validFilename(s); err != nil {
			return nil, fmt.Errorf("safetensors index: %w", err)
		}
		shards = append(shards, s)
	}
	slices.Sort(shards)
	return slices.Compact(shards), nil
}

// checkSnapshot finds the cached snapshot of a revision and checks that it
// holds the files (nil: config.json and the weights).
func checkSnapshot(repo, revision string, files []string) (string, error) {
	dir, err := snapshotFor(repo, revision)
	if err != nil {
		return "", err
	}
	if len(files) > 0 {
		err = hasFiles(dir, files...)
	} else if err = hasFiles(dir, configFile); err == nil {
		err = hasWeights(dir)
	}
	if err != nil {
		return "", err
	}
	return dir, nil
}
