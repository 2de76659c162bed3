package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Options says what Pull fetches and how. The zero value pulls the default
// files of the "main" branch from the hub named by the environment.
type Options struct {
	// Revision is a branch, tag or commit hash; default "main".
	Revision string
	// Files, when set, replaces the default file set: each name is required.
	// A "*.safetensors.index.json" brings the shards it lists with it.
	Files []string
	// Token is sent as "Authorization: Bearer"; default $HF_TOKEN, then
	// $HUGGING_FACE_HUB_TOKEN, then the token file in HF_HOME.
	Token string
	// Endpoint is the hub's base URL; default $HF_ENDPOINT, then
	// https://huggingface.co.
	Endpoint string
	// Offline forbids network access, as HF_HUB_OFFLINE=1 does (either one
	// is enough): Pull then only finds the snapshot in the cache.
	Offline bool
	// Progress receives one progress bar per downloaded file; nil is silent.
	// Pass os.Stderr only when it is a terminal.
	Progress io.Writer
	// HTTPClient makes the requests; default a client on
	// http.DefaultTransport (which honours HTTPS_PROXY).
	HTTPClient *http.Client
}

// Files of a checkpoint that gosig reads.
const (
	configFile   = "config.json"
	weightsFile  = "model.safetensors"
	weightsIndex = "model.safetensors.index.json"
)

// optionalFiles are fetched when the repository has them: the tokenizer in
// its several forms and the image processor's settings.
var optionalFiles = []string{
	"tokenizer.json", "tokenizer.model", "spiece.model",
	"tokenizer_config.json", "special_tokens_map.json", "preprocessor_config.json",
}

// Transfer retries: a connection that drops mid-file is resumed with a Range
// request up to maxRetries times, waiting retryWait×attempt in between.
const (
	maxRetries = 3
	retryWait  = 500 * time.Millisecond
)

// Pull downloads a checkpoint of the hub repository repo ("org/name") into
// the Hugging Face cache and returns its snapshot directory
// (…/models--org--name/snapshots/<commit>), ready for siglip2.Load.
//
// By default it fetches config.json, the weights (model.safetensors, or
// model.safetensors.index.json and every shard it lists) and, when present,
// tokenizer.json, tokenizer.model, spiece.model, tokenizer_config.json,
// special_tokens_map.json and preprocessor_config.json. Files come from the
// commit that config.json resolved to, so a push during the pull cannot mix
// two versions; refs/<revision> is written once every file is in place.
//
// Files already in the cache are not fetched again. A transfer that breaks
// is resumed from blobs/<etag>.incomplete with an HTTP Range request, in the
// same call or the next one. LFS files are checked against the sha256 the
// hub announces as their etag; a mismatch deletes the partial file and
// returns ErrChecksum. Blobs appear under their final names only by atomic
// rename, so an interrupted pull never leaves a truncated file in place.
// The Authorization header goes to the hub only, never to the CDN host the
// hub redirects large files to.
func Pull(ctx context.Context, repo string, opts Options) (string, error) {
	if err := ValidateRepoID(repo); err != nil {
		return "", err
	}
	p := newPuller(repo, opts)
	if err := validFilename(p.revision); err != nil {
		return "", fmt.Errorf("pull %s: revision %q: %w", repo, p.revision, err)
	}
	if opts.Offline || envOffline() {
		dir, err := checkSnapshot(p.repoDir, p.revision, opts.Files)
		if err != nil {
			return "", fmt.Errorf("pull %s@%s: offline mode (HF_HUB_OFFLINE or Options.Offline) and the model is %w (%w); go online to download it",
				repo, p.revision, ErrNotCached, err)
		}
		return dir, nil
	}
	dir, err := p.pull(ctx, opts.Files)
	if err != nil {
		return "", fmt.Errorf("pull %s@%s: %w", repo, p.revision, err)
	}
	return dir, nil
}

// puller holds the state of one Pull.
type puller struct {
	repo, revision, endpoint, token string
	cache, repoDir                  string
	progress                        io.Writer
	get                             *http.Client // follows redirects, dropping Authorization across hosts
	head                            *http.Client // does not follow redirects: their Location is the download URL
	commit                          string       // pinned by the first answer from the hub
}

func newPuller(repo string, opts Options) *puller {
	p := &puller{
		repo:     repo,
		revision: firstOf(opts.Revision, DefaultRevision),
		endpoint: strings.TrimRight(firstOf(opts.Endpoint, os.Getenv("HF_ENDPOINT"), DefaultEndpoint), "/"),
		token:    firstOf(opts.Token, envToken()),
		cache:    CacheDir(),
		progress: opts.Progress,
	}
	p.repoDir = repoDir(p.cache, repo)
	if commitHash.MatchString(p.revision) {
		p.commit = p.revision
	}
	base := opts.HTTPClient
	if base == nil {
		base = &http.Client{Transport: http.DefaultTransport}
	}
	get, head := *base, *base
	get.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if req.URL.Host != via[0].URL.Host {
			req.Header.Del("Authorization")
		}
		return nil
	}
	head.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	p.get, p.head = &get, &head
	return p
}

// firstOf returns the first non-empty string.
func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func (p *puller) pull(ctx context.Context, files []string) (string, error) {
	if len(files) > 0 {
		for _, f := range files {
			if _, err := p.fetch(ctx, f, true); err != nil {
				return "", err
			}
		}
	} else {
		// config.json first: its answer pins the commit of all the others.
		if _, err := p.fetch(ctx, configFile, true); err != nil {
			return "", err
		}
		found, err := p.fetch(ctx, weightsFile, false)
		if err == nil && !found {
			found, err = p.fetch(ctx, weightsIndex, false)
		}
		if err != nil {
			return "", err
		}
		if !found {
			return "", fmt.Errorf("%w: the repository has neither %s nor %s (gosig reads safetensors weights only)",
				ErrNotFound, weightsFile, weightsIndex)
		}
		for _, f := range optionalFiles {
			if _, err := p.fetch(ctx, f, false); err != nil {
				return "", err
			}
		}
	}
	if p.revision != p.commit {
		if err := writeRef(filepath.Join(p.repoDir, "refs", filepath.FromSlash(p.revision)), p.commit); err != nil {
			return "", err
		}
	}
	return filepath.Join(p.repoDir, "snapshots", p.commit), nil
}

// fileMeta is what a HEAD on a resolve URL says about one file.
type fileMeta struct {
	commit   string // X-Repo-Commit
	etag     string // X-Linked-Etag or ETag, unquoted: sha256 for LFS files, git sha1 otherwise
	size     int64  // X-Linked-Size or Content-Length
	location string // where to GET it: the resolve URL, or the CDN it redirects to
	missing  bool   // the repository has no such file at this revision
}

// fetch puts one file in the snapshot, downloading its blob when the cache
// does not have it. It reports whether the repository has the file; a
// missing optional file is not an error.
func (p *puller) fetch(ctx context.Context, name string, required bool) (bool, error) {
	if err := validFilename(name); err != nil {
		return false, err
	}
	pointer := func() string {
		return filepath.Join(p.repoDir, "snapshots", p.commit, filepath.FromSlash(name))
	}
	// A file already in this commit's snapshot, or known to be absent from
	// it, needs no network.
	if p.commit != "" && !required && exists(filepath.Join(p.repoDir, ".no_exist", p.commit, filepath.FromSlash(name))) {
		return false, nil
	}
	if p.commit == "" || !exists(pointer()) {
		meta, err := p.headFile(ctx, name)
		if err != nil {
			return false, err
		}
		if p.commit == "" {
			p.commit = meta.commit
		}
		if meta.missing {
			if required {
				return false, fmt.Errorf("%w: the repository has no file %s at %s", ErrNotFound, name, p.revision)
			}
			p.markMissing(name)
			return false, nil
		}
		blob := filepath.Join(p.repoDir, "blobs", meta.etag)
		if !exists(blob) {
			if err := p.download(ctx, name, meta, blob); err != nil {
				return false, err
			}
		}
		if err := link(blob, pointer()); err != nil {
			return false, fmt.Errorf("link %s into the snapshot: %w", name, err)
		}
	}
	if strings.HasSuffix(name, ".safetensors.index.json") {
		b, err := os.ReadFile(pointer())
		if err != nil {
			return false, err
		}
		shards, err := shardFiles(b)
		if err != nil {
			return false, fmt.Errorf("%s: %w", name, err)
		}
		for _, s := range shards {
			if _, err := p.fetch(ctx, path.Join(path.Dir(name), s), true); err != nil {
				return false, err
			}
		}
	}
	return true, nil
}

// headFile asks the hub about one file, the way huggingface_hub's
// get_hf_file_metadata does: HEAD on the resolve URL, following relative
// redirects (a renamed repository) but not absolute ones (the CDN).
func (p *puller) headFile(ctx context.Context, name string) (fileMeta, error) {
	rev := firstOf(p.commit, p.revision)
	u := p.endpoint + "/" + p.repo + "/resolve/" + url.PathEscape(rev) + "/" + escapePath(name)
	for hops := 0; ; hops++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
		if err != nil {
			return fileMeta{}, fmt.Errorf("bad hub URL %q (check HF_ENDPOINT): %w", u, err)
		}
		p.setHeaders(req, true)
		resp, err := p.head.Do(req)
		if err != nil {
			return fileMeta{}, fmt.Errorf("ask the hub about %s (check the network, proxy settings and HF_ENDPOINT): %w", name, err)
		}
		resp.Body.Close()
		h := resp.Header
		meta := fileMeta{commit: h.Get("X-Repo-Commit"), location: u}
		if resp.StatusCode == http.StatusNotFound && firstOf(h.Get("X-Error-Code"), "EntryNotFound") == "EntryNotFound" {
			if !commitHash.MatchString(meta.commit) {
				meta.commit = ""
			}
			meta.missing = true
			return meta, nil
		}
		if resp.StatusCode >= 400 {
			return meta, p.statusError(resp, name)
		}
		if loc := h.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
			target, err := url.Parse(loc)
			if err != nil {
				return meta, fmt.Errorf("the hub redirected %s to a bad URL %q: %w", name, loc, err)
			}
			if target.Host == "" && hops < 10 {
				u = req.URL.ResolveReference(target).String()
				continue
			}
			meta.location = req.URL.ResolveReference(target).String()
		}
		meta.etag = strings.Trim(strings.TrimPrefix(firstOf(h.Get("X-Linked-Etag"), h.Get("ETag")), "W/"), `"`)
		size := firstOf(h.Get("X-Linked-Size"), h.Get("Content-Length"))
		meta.size, err = strconv.ParseInt(size, 10, 64)
		switch {
		case !commitHash.MatchString(meta.commit):
			return meta, fmt.Errorf("%s at %s does not look like the Hugging Face hub (no X-Repo-Commit header); check HF_ENDPOINT and proxies", name, u)
		case !etagPattern.MatchString(meta.etag):
			return meta, fmt.Errorf("the hub sent no usable ETag for %s (%q)", name, meta.etag)
		case err != nil || meta.size < 0:
			return meta, fmt.Errorf("the hub sent no size for %s (%q)", name, size)
		}
		return meta, nil
	}
}

var etagPattern = regexp.MustCompile(`^[0-9A-Za-z_-]{1,128}$`)

// escapePath escapes each segment of a file name for a URL path.
func escapePath(name string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

func (p *puller) setHeaders(req *http.Request, auth bool) {
	req.Header.Set("User-Agent", "gosig (huggingface_hub-compatible)")
	// Identity: the size must be the file's, and Range must count its bytes.
	req.Header.Set("Accept-Encoding", "identity")
	if auth && p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
}

// statusError turns a failed hub answer into an error that says what to do.
func (p *puller) statusError(resp *http.Response, name string) error {
	code, msg := resp.Header.Get("X-Error-Code"), resp.Header.Get("X-Error-Message")
	detail := "HTTP " + strconv.Itoa(resp.StatusCode)
	if code != "" {
		detail += " " + code
	}
	if msg != "" {
		detail += ": " + msg
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || code == "GatedRepo":
		hint := "set HF_TOKEN to a token with read access"
		if p.token != "" {
			hint = "the token in use (Options.Token, HF_TOKEN or the token file) has no access to it"
		}
		return fmt.Errorf("%w for %s (%s): the repository is private, gated or does not exist; %s, and accept the model's license at %s/%s",
			ErrAccess, name, detail, hint, p.endpoint, p.repo)
	case resp.StatusCode == http.StatusNotFound && code == "RevisionNotFound":
		return fmt.Errorf("%w: no revision %q (%s)", ErrNotFound, p.revision, detail)
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w: %s (%s)", ErrNotFound, name, detail)
	}
	return fmt.Errorf("the hub answered %s for %s", detail, name)
}

// download fetches one blob into blobs/<etag>.incomplete, resuming what an
// earlier attempt left there, verifies it and renames it into place. A lock
// file shared with huggingface_hub keeps two processes from writing the same
// partial file.
func (p *puller) download(ctx context.Context, name string, meta fileMeta, blob string) error {
	unlock, err := lockFile(ctx, filepath.Join(p.cache, ".locks", filepath.Base(p.repoDir), meta.etag+".lock"))
	if err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	defer unlock()
	if exists(blob) { // another process finished it while we waited
		return nil
	}
	part := blob + ".incomplete"
	for attempt := 1; ; attempt++ {
		err := p.getOnce(ctx, name, meta, part)
		if err == nil {
			break
		}
		var t transient
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("download %s: %w (run again to resume)", name, ctx.Err())
		case !errors.As(err, &t):
			return fmt.Errorf("download %s: %w", name, err)
		case attempt > maxRetries:
			return fmt.Errorf("download %s: %w; gave up after %d tries (run again to resume)", name, err, attempt)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("download %s: %w (run again to resume)", name, ctx.Err())
		case <-time.After(retryWait * time.Duration(attempt)):
		}
	}
	return verifyAndRename(name, meta, part, blob)
}

// transient marks network errors worth a retry.
type transient struct{ err error }

func (t transient) Error() string { return t.err.Error() }
func (t transient) Unwrap() error { return t.err }

// getOnce appends the rest of the file to part with one GET.
func (p *puller) getOnce(ctx context.Context, name string, meta fileMeta, part string) error {
	if err := os.MkdirAll(filepath.Dir(part), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if have > meta.size { // not a prefix of this file: start again
		if have, err = restart(f); err != nil {
			return err
		}
	}
	if have == meta.size {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, meta.location, nil)
	if err != nil {
		return err
	}
	// The token goes to the hub only; a CDN URL is signed already.
	hubURL, _ := url.Parse(p.endpoint)
	p.setHeaders(req, hubURL != nil && req.URL.Host == hubURL.Host)
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := p.get.Do(req)
	if err != nil {
		return transient{err}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent:
		if want := fmt.Sprintf("bytes %d-", have); !strings.HasPrefix(resp.Header.Get("Content-Range"), want) {
			return fmt.Errorf("asked for bytes=%d- of %s, got Content-Range %q", have, name, resp.Header.Get("Content-Range"))
		}
	case resp.StatusCode == http.StatusOK:
		if have, err = restart(f); err != nil { // the server ignored Range
			return err
		}
	default:
		return p.statusError(resp, name)
	}
	w := io.Writer(f)
	bar := p.bar(name, meta.size, have)
	if bar != nil {
		w = io.MultiWriter(f, barWriter{bar})
	}
	_, err = io.Copy(w, readerFunc(func(b []byte) (int, error) {
		n, err := resp.Body.Read(b)
		if err != nil && err != io.EOF {
			err = transient{err}
		}
		return n, err
	}))
	if bar != nil && !bar.IsFinished() {
		_ = bar.Exit() // end the line so that what follows starts afresh
	}
	if err != nil {
		return err
	}
	return f.Sync()
}

func restart(f *os.File) (int64, error) {
	if err := f.Truncate(0); err != nil {
		return 0, err
	}
	return f.Seek(0, io.SeekStart)
}

type readerFunc func([]byte) (int, error)

func (r readerFunc) Read(b []byte) (int, error) { return r(b) }

// bar is a byte progress bar for one file, or nil when silent.
func (p *puller) bar(name string, size, have int64) *progressbar.ProgressBar {
	if p.progress == nil || size <= 0 {
		return nil
	}
	out := p.progress
	b := progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(out),
		progressbar.OptionSetDescription(name),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(20),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(out) }),
	)
	_ = b.Set64(have)
	return b
}

// barWriter counts bytes into a progress bar and never fails the copy.
type barWriter struct{ b *progressbar.ProgressBar }

func (w barWriter) Write(b []byte) (int, error) {
	_ = w.b.Add(len(b))
	return len(b), nil
}

// verifyAndRename checks size and, for LFS files, sha256, then moves the
// partial file to its blob name atomically.
func verifyAndRename(name string, meta fileMeta, part, blob string) error {
	fi, err := os.Stat(part)
	if err != nil {
		return err
	}
	if fi.Size() != meta.size {
		os.Remove(part)
		return fmt.Errorf("download %s: got %d bytes, the hub announced %d; the partial file was deleted, run again",
			name, fi.Size(), meta.size)
	}
	if sha256Etag.MatchString(meta.etag) {
		got, err := sha256File(part)
		if err != nil {
			return err
		}
		if got != meta.etag {
			os.Remove(part)
			return fmt.Errorf("%w for %s: the hub announced sha256 %s, the download hashes to %s; the partial file was deleted, run again",
				ErrChecksum, name, meta.etag, got)
		}
	}
	return os.Rename(part, blob)
}

var sha256Etag = regexp.MustCompile(`^[0-9a-f]{64}$`)

func sha256File(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
