package hub

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosig/gosig/hub/hubtest"
)

const testRepo = "acme/tiny-siglip"

// randomBytes is deterministic filler for weight files.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func tinyRepo() map[string][]byte {
	return map[string][]byte{
		"config.json":              []byte(`{"model_type":"siglip2"}`),
		"model.safetensors":        randomBytes(300_000, 1),
		"tokenizer.json":           []byte(`{"version":"1.0"}`),
		"preprocessor_config.json": []byte(`{"max_num_patches":256}`),
	}
}

// Independent hashes for the expected blob names: sha256 for LFS files, the
// git blob sha1 ("blob <size>\0" + contents) for the others.
func sha256Hex(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
func gitSHA1(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func pull(t *testing.T, srv *hubtest.Server, opts Options) (string, error) {
	t.Helper()
	opts.Endpoint = srv.URL
	return Pull(context.Background(), srv.Repo, opts)
}

// count returns how many logged requests match host and method.
func count(reqs []hubtest.Request, host, method string) int {
	n := 0
	for _, r := range reqs {
		if r.Host == host && r.Method == method {
			n++
		}
	}
	return n
}

// cdnRanges lists the Range headers of the CDN's GETs for one file.
func cdnRanges(reqs []hubtest.Request, file string) []string {
	var out []string
	for _, r := range reqs {
		if r.Host == "cdn" && r.File == file {
			out = append(out, r.Range)
		}
	}
	return out
}

// TestPullLayout pulls a repository and checks the cache against the layout
// huggingface_hub writes: blobs named by etag, relative symlinks in
// snapshots/<commit>, refs/main, .no_exist markers for absent optional files.
func TestPullLayout(t *testing.T) {
	cache := isolate(t)
	files := tinyRepo()
	srv := hubtest.New(t, testRepo, files)

	dir, err := pull(t, srv, Options{})
	require.NoError(t, err)
	repo := filepath.Join(cache, "models--acme--tiny-siglip")
	assert.Equal(t, filepath.Join(repo, "snapshots", hubtest.Commit), dir)

	for name, data := range files {
		etag := gitSHA1(data)
		if strings.HasSuffix(name, ".safetensors") {
			etag = sha256Hex(data)
		}
		p := filepath.Join(dir, name)
		fi, err := os.Lstat(p)
		require.NoError(t, err, name)
		require.Equal(t, os.ModeSymlink, fi.Mode().Type(), "%s is a symlink", name)
		target, err := os.Readlink(p)
		require.NoError(t, err)
		assert.Equal(t, filepath.Join("..", "..", "blobs", etag), target, "%s points to its blob, relatively", name)
		got, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(data, got), "%s contents", name)
	}
	ref, err := os.ReadFile(filepath.Join(repo, "refs", "main"))
	require.NoError(t, err)
	assert.Equal(t, hubtest.Commit, string(ref), "refs/main holds the bare commit hash")
	for _, absent := range []string{"tokenizer.model", "spiece.model", "special_tokens_map.json"} {
		assert.FileExists(t, filepath.Join(repo, ".no_exist", hubtest.Commit, absent))
		assert.NoFileExists(t, filepath.Join(dir, absent))
	}
	blobs, err := os.ReadDir(filepath.Join(repo, "blobs"))
	require.NoError(t, err)
	assert.Len(t, blobs, len(files), "one blob per file and no .incomplete left")

	resolved, err := Resolve(testRepo, "")
	require.NoError(t, err)
	assert.Equal(t, dir, resolved, "Resolve finds what Pull wrote")

	// A second pull asks the hub which commit main is and stops there.
	before := len(srv.Requests())
	again, err := pull(t, srv, Options{})
	require.NoError(t, err)
	assert.Equal(t, dir, again)
	assert.Equal(t, []hubtest.Request{{Host: "hub", Method: "HEAD", File: "config.json"}}, srv.Requests()[before:])
}

// TestPullShardedIndex: without model.safetensors, the index and every shard
// it names are fetched.
func TestPullShardedIndex(t *testing.T) {
	isolate(t)
	files := tinyRepo()
	delete(files, "model.safetensors")
	shard1, shard2 := randomBytes(50_000, 2), randomBytes(40_000, 3)
	files["model-00001-of-00002.safetensors"] = shard1
	files["model-00002-of-00002.safetensors"] = shard2
	files[weightsIndex] = []byte(`{"metadata":{"total_size":90000},"weight_map":{
		"a.weight":"model-00001-of-00002.safetensors","b.weight":"model-00002-of-00002.safetensors",
		"c.weight":"model-00001-of-00002.safetensors"}}`)
	srv := hubtest.New(t, testRepo, files)

	dir, err := pull(t, srv, Options{})
	require.NoError(t, err)
	for name, data := range map[string][]byte{"model-00001-of-00002.safetensors": shard1, "model-00002-of-00002.safetensors": shard2} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(data, got), name)
		assert.Len(t, cdnRanges(srv.Requests(), name), 1, "%s fetched once", name)
	}
	assert.FileExists(t, filepath.Join(dir, weightsIndex))
	resolved, err := Resolve(testRepo, "")
	require.NoError(t, err)
	assert.Equal(t, dir, resolved)
}

// TestPullResumesWithinOneCall: the CDN drops the connection twice; Pull
// resumes each time with a Range starting where the data stopped.
func TestPullResumesWithinOneCall(t *testing.T) {
	isolate(t)
	files := tinyRepo()
	srv := hubtest.New(t, testRepo, files)
	srv.Cut("model.safetensors", 2, 70_000)

	dir, err := pull(t, srv, Options{})
	require.NoError(t, err)
	assert.Equal(t, []string{"", "bytes=70000-", "bytes=140000-"}, cdnRanges(srv.Requests(), "model.safetensors"))
	got, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(files["model.safetensors"], got), "resumed file is byte-identical")
}

// TestPullResumesNextRun: the connection keeps dropping until Pull gives up;
// the partial file stays in blobs/<sha256>.incomplete and the next Pull
// asks only for the rest.
func TestPullResumesNextRun(t *testing.T) {
	cache := isolate(t)
	files := tinyRepo()
	weights := files["model.safetensors"]
	srv := hubtest.New(t, testRepo, files)
	const chunk = 50_000
	srv.Cut("model.safetensors", maxRetries+1, chunk)

	_, err := pull(t, srv, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "run again to resume")
	part := filepath.Join(cache, "models--acme--tiny-siglip", "blobs", sha256Hex(weights)+".incomplete")
	kept, err := os.ReadFile(part)
	require.NoError(t, err)
	require.Len(t, kept, (maxRetries+1)*chunk, "every attempt's bytes are kept")
	assert.True(t, bytes.Equal(weights[:len(kept)], kept))
	_, err = Resolve(testRepo, "")
	assert.ErrorIs(t, err, ErrNotCached, "no ref is written for a failed pull")

	before := len(srv.Requests())
	dir, err := pull(t, srv, Options{})
	require.NoError(t, err)
	assert.Equal(t, []string{fmt.Sprintf("bytes=%d-", len(kept))}, cdnRanges(srv.Requests()[before:], "model.safetensors"))
	got, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(weights, got))
	assert.NoFileExists(t, part)
}

// TestPullChecksumMismatch: bytes that do not hash to the announced sha256
// are deleted, and nothing points at them.
func TestPullChecksumMismatch(t *testing.T) {
	cache := isolate(t)
	files := tinyRepo()
	srv := hubtest.New(t, testRepo, files)
	srv.Corrupt("model.safetensors")

	_, err := pull(t, srv, Options{})
	require.ErrorIs(t, err, ErrChecksum)
	assert.Contains(t, err.Error(), sha256Hex(files["model.safetensors"]), "names the expected hash")
	repo := filepath.Join(cache, "models--acme--tiny-siglip")
	blob := filepath.Join(repo, "blobs", sha256Hex(files["model.safetensors"]))
	assert.NoFileExists(t, blob)
	assert.NoFileExists(t, blob+".incomplete")
	assert.NoFileExists(t, filepath.Join(repo, "snapshots", hubtest.Commit, "model.safetensors"))
	assert.NoFileExists(t, filepath.Join(repo, "refs", "main"))
}

// TestPullToken: a gated repository answers 401 until the token is sent;
// the token goes to the hub and never to the CDN.
func TestPullToken(t *testing.T) {
	isolate(t)
	srv := hubtest.New(t, testRepo, tinyRepo())
	srv.RequireToken("hf_secret")

	_, err := pull(t, srv, Options{})
	require.ErrorIs(t, err, ErrAccess)
	for _, want := range []string{"HF_TOKEN", "license", "401", "GatedRepo"} {
		assert.Contains(t, err.Error(), want)
	}

	t.Setenv("HF_TOKEN", "hf_secret")
	_, err = pull(t, srv, Options{})
	require.NoError(t, err)
	reqs := srv.Requests()
	require.Positive(t, count(reqs, "cdn", "GET"))
	for _, r := range reqs[1:] { // the first was the refused one
		if r.Host == "hub" {
			assert.Equal(t, "Bearer hf_secret", r.Authorization, "hub %s %s", r.Method, r.File)
		} else {
			assert.Empty(t, r.Authorization, "the CDN never sees the token (%s)", r.File)
		}
	}

	_, err = pull(t, srv, Options{Token: "hf_wrong", Files: []string{"tokenizer.json"}})
	require.ErrorIs(t, err, ErrAccess)
	assert.Contains(t, err.Error(), "has no access")
}

// TestPullNotFound: a missing required file, missing weights, an unknown
// revision and an unknown repository are ErrNotFound/ErrAccess with the
// name of what was missing.
func TestPullNotFound(t *testing.T) {
	isolate(t)
	files := tinyRepo()
	delete(files, "config.json")
	_, err := pull(t, hubtest.New(t, testRepo, files), Options{})
	require.ErrorIs(t, err, ErrNotFound)
	assert.Contains(t, err.Error(), "config.json")

	files = tinyRepo()
	delete(files, "model.safetensors")
	_, err = pull(t, hubtest.New(t, testRepo, files), Options{})
	require.ErrorIs(t, err, ErrNotFound)
	assert.Contains(t, err.Error(), "neither model.safetensors nor model.safetensors.index.json")

	srv := hubtest.New(t, testRepo, tinyRepo())
	_, err = pull(t, srv, Options{Revision: "v9"})
	require.ErrorIs(t, err, ErrNotFound)
	assert.Contains(t, err.Error(), `revision "v9"`)

	_, err = pull(t, srv, Options{Files: []string{"config.json", "nope.bin"}})
	require.ErrorIs(t, err, ErrNotFound)
	assert.Contains(t, err.Error(), "nope.bin")

	// The hub answers 401 for repositories that do not exist, as for private ones.
	_, err = Pull(context.Background(), "acme/other", Options{Endpoint: srv.URL})
	require.ErrorIs(t, err, ErrAccess)
	assert.Contains(t, err.Error(), "does not exist")
}

// TestPullOffline: with HF_HUB_OFFLINE=1 Pull makes no request and answers
// from the cache, or says the model is not cached.
func TestPullOffline(t *testing.T) {
	isolate(t)
	srv := hubtest.New(t, testRepo, tinyRepo())
	t.Setenv("HF_HUB_OFFLINE", "1")
	_, err := pull(t, srv, Options{})
	require.ErrorIs(t, err, ErrNotCached)
	assert.Contains(t, err.Error(), "HF_HUB_OFFLINE")
	assert.Empty(t, srv.Requests())

	t.Setenv("HF_HUB_OFFLINE", "")
	dir, err := pull(t, srv, Options{})
	require.NoError(t, err)
	before := len(srv.Requests())
	t.Setenv("HF_HUB_OFFLINE", "1")
	got, err := pull(t, srv, Options{})
	require.NoError(t, err)
	assert.Equal(t, dir, got)
	t.Setenv("HF_HUB_OFFLINE", "")
	got, err = pull(t, srv, Options{Offline: true})
	require.NoError(t, err)
	assert.Equal(t, dir, got)
	assert.Len(t, srv.Requests(), before, "no request while offline")
}

// TestPullConcurrent: two pulls of one repository at once share the lock,
// and the large blob crosses the network once.
func TestPullConcurrent(t *testing.T) {
	isolate(t)
	files := tinyRepo()
	srv := hubtest.New(t, testRepo, files)
	var wg sync.WaitGroup
	dirs, errs := make([]string, 2), make([]error, 2)
	for i := range 2 {
		wg.Go(func() { dirs[i], errs[i] = pull(t, srv, Options{}) })
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	assert.Equal(t, dirs[0], dirs[1])
	assert.Len(t, cdnRanges(srv.Requests(), "model.safetensors"), 1)
	got, err := os.ReadFile(filepath.Join(dirs[0], "model.safetensors"))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(files["model.safetensors"], got))
}

// cancelOnCDN cancels a context once the first bytes of a CDN response
// arrive, so that the transfer dies mid-flight.
type cancelOnCDN struct {
	cdn    string
	cancel context.CancelFunc
}

func (c cancelOnCDN) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && strings.HasPrefix(r.URL.String(), c.cdn) {
		resp.Body = cancelingBody{resp.Body, c.cancel, new(bool)}
	}
	return resp, err
}

// cancelingBody delivers one read, cancels, then fails as the transport does
// once it notices (on loopback the rest may already sit in its buffers).
type cancelingBody struct {
	io.ReadCloser
	cancel context.CancelFunc
	done   *bool
}

func (b cancelingBody) Read(p []byte) (int, error) {
	if *b.done {
		return 0, context.Canceled
	}
	*b.done = true
	b.cancel()
	return b.ReadCloser.Read(p)
}

// TestPullCancel: a cancelled context stops the pull at once, without the
// retries a dropped connection gets; the partial file stays for next time.
func TestPullCancel(t *testing.T) {
	cache := isolate(t)
	files := tinyRepo()
	srv := hubtest.New(t, testRepo, files)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := &http.Client{Transport: cancelOnCDN{srv.CDN, cancel}}
	_, err := Pull(ctx, testRepo, Options{Endpoint: srv.URL, HTTPClient: client})
	require.ErrorIs(t, err, context.Canceled)
	assert.Len(t, cdnRanges(srv.Requests(), "model.safetensors"), 1, "no retry after cancellation")
	repo := filepath.Join(cache, "models--acme--tiny-siglip")
	assert.FileExists(t, filepath.Join(repo, "blobs", sha256Hex(files["model.safetensors"])+".incomplete"))
	assert.NoFileExists(t, filepath.Join(repo, "blobs", sha256Hex(files["model.safetensors"])))
	assert.NoDirExists(t, filepath.Join(repo, "refs"))
}

// TestPullProgress: a progress writer gets a bar naming the file.
func TestPullProgress(t *testing.T) {
	isolate(t)
	srv := hubtest.New(t, testRepo, tinyRepo())
	var buf bytes.Buffer
	_, err := pull(t, srv, Options{Progress: &buf})
	require.NoError(t, err)
	assert.Contains(t, buf.String(), "model.safetensors")
	assert.Contains(t, buf.String(), "100%")
	assert.Equal(t, 4, strings.Count(buf.String(), "\n"), "one finished line per downloaded file")
}

// TestPullFiles: Options.Files fetches exactly those files, pinned to the
// first one's commit, and a commit revision needs no HEAD for cached files.
func TestPullFiles(t *testing.T) {
	isolate(t)
	srv := hubtest.New(t, testRepo, tinyRepo())
	dir, err := pull(t, srv, Options{Files: []string{"config.json", "tokenizer.json"}})
	require.NoError(t, err)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 2)
	assert.Zero(t, count(srv.Requests(), "cdn", "GET"))

	before := len(srv.Requests())
	got, err := pull(t, srv, Options{Revision: hubtest.Commit, Files: []string{"config.json"}})
	require.NoError(t, err)
	assert.Equal(t, dir, got)
	assert.Len(t, srv.Requests(), before, "a cached file at a known commit needs no request")
}

// TestPullRenamedRepo: the hub redirects an old repository name relatively;
// the HEAD follows it with the token, and the cache is kept under the name
// asked for, as huggingface_hub does.
func TestPullRenamedRepo(t *testing.T) {
	cache := isolate(t)
	files := tinyRepo()
	srv := hubtest.New(t, testRepo, files)
	srv.Alias("acme/old-name")
	srv.RequireToken("hf_secret")
	dir, err := Pull(context.Background(), "acme/old-name", Options{Endpoint: srv.URL, Token: "hf_secret"})
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(cache, "models--acme--old-name", "snapshots", hubtest.Commit), dir)
	got, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(files["model.safetensors"], got))
}

// TestPullServerIgnoresRange: a server that answers a Range request with
// the whole file (200) must not have it appended to the partial file.
func TestPullServerIgnoresRange(t *testing.T) {
	cache := isolate(t)
	files := tinyRepo()
	weights := files["model.safetensors"]
	srv := hubtest.New(t, testRepo, files)
	srv.IgnoreRange()
	blobs := filepath.Join(cache, "models--acme--tiny-siglip", "blobs")
	require.NoError(t, os.MkdirAll(blobs, 0o755))
	// A partial file whose bytes are wrong: appending the full body after it
	// would fail the checksum; restarting gives the right file.
	require.NoError(t, os.WriteFile(filepath.Join(blobs, sha256Hex(weights)+".incomplete"), make([]byte, 1000), 0o644))

	dir, err := pull(t, srv, Options{})
	require.NoError(t, err)
	assert.Equal(t, []string{"bytes=1000-"}, cdnRanges(srv.Requests(), "model.safetensors"))
	got, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(weights, got))
}

// TestPullWaitsForLock: while another process (here: another open file)
// holds the blob's lock in .locks/, Pull waits without touching the CDN, and
// cancelling the wait returns at once.
func TestPullWaitsForLock(t *testing.T) {
	cache := isolate(t)
	files := tinyRepo()
	srv := hubtest.New(t, testRepo, files)
	lock := filepath.Join(cache, ".locks", "models--acme--tiny-siglip", sha256Hex(files["model.safetensors"])+".lock")
	release, err := lockFile(context.Background(), lock)
	require.NoError(t, err)
	defer release()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := Pull(ctx, testRepo, Options{Endpoint: srv.URL})
		done <- err
	}()
	for !slices.ContainsFunc(srv.Requests(), func(r hubtest.Request) bool { return r.File == "model.safetensors" }) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	assert.Empty(t, cdnRanges(srv.Requests(), "model.safetensors"), "nothing downloaded while the lock was held")
}
