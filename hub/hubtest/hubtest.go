// Package hubtest runs a fake Hugging Face hub on loopback for tests: the
// resolve URLs with the hub's headers (X-Repo-Commit, ETag, X-Linked-Etag,
// X-Linked-Size, X-Error-Code), HEAD and GET, Range requests, and a 302 from
// the hub to a second "CDN" server for LFS files, as huggingface.co does.
// Faults can be injected: a connection cut mid-transfer, corrupted bytes, a
// required token.
package hubtest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Commit is the commit hash every file of the fake repository is served at.
const Commit = "0123456789abcdef0123456789abcdef01234567"

// Server is a fake hub holding one model repository at one commit, which
// answers for the revisions "main" and Commit.
type Server struct {
	URL  string // the hub's endpoint (Options.Endpoint, HF_ENDPOINT)
	CDN  string // the second host that serves LFS blobs
	Repo string

	mu          sync.Mutex
	files       map[string][]byte
	token       string
	cuts        map[string]cut
	corrupt     map[string]bool
	aliases     map[string]bool
	ignoreRange bool
	requests    []Request
}

type cut struct{ times, after int }

// Request is one request the fake hub or CDN received.
type Request struct {
	Host          string // "hub" or "cdn"
	Method        string
	File          string // the repository file asked for
	Range         string // the Range header
	Authorization string // the Authorization header
}

// New starts a fake hub serving files (name → contents) for repo, and its
// CDN; both stop when the test ends. Files whose names end in
// ".safetensors" are LFS files: the hub redirects them to the CDN and gives
// their sha256 as etag. Others are served by the hub with their git blob
// sha1 as etag.
func New(t testing.TB, repo string, files map[string][]byte) *Server {
	s := &Server{Repo: repo, files: files, cuts: map[string]cut{}, corrupt: map[string]bool{}, aliases: map[string]bool{}}
	hub := httptest.NewServer(http.HandlerFunc(s.serveHub))
	cdn := httptest.NewServer(http.HandlerFunc(s.serveCDN))
	t.Cleanup(hub.Close)
	t.Cleanup(cdn.Close)
	s.URL, s.CDN = hub.URL, cdn.URL
	return s
}

// IsLFS says whether the fake hub treats a file as stored in LFS.
func IsLFS(name string) bool { return strings.HasSuffix(name, ".safetensors") }

// ETag is the etag the hub announces for a file: sha256 of the contents for
// LFS files, the git blob sha1 otherwise, as on huggingface.co.
func ETag(name string, data []byte) string {
	if IsLFS(name) {
		h := sha256.Sum256(data)
		return hex.EncodeToString(h[:])
	}
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// RequireToken makes the hub answer 401 (gated repository) to requests
// without "Authorization: Bearer <token>".
func (s *Server) RequireToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// Cut makes the next `times` GETs of a file stop after `after` bytes of
// the response body by closing the connection.
func (s *Server) Cut(name string, times, after int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cuts[name] = cut{times, after}
}

// Corrupt makes the server send a file with its first byte flipped, while
// still announcing the etag of the true contents.
func (s *Server) Corrupt(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corrupt[name] = true
}

// Alias makes the hub answer for an old name of the repository with a
// relative redirect to the current one, as huggingface.co does for a renamed
// repository.
func (s *Server) Alias(oldRepo string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.aliases[oldRepo] = true
}

// IgnoreRange makes both servers answer Range requests with the whole file
// and status 200, as some proxies do.
func (s *Server) IgnoreRange() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ignoreRange = true
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) log(host string, r *http.Request, file string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{host, r.Method, file, r.Header.Get("Range"), r.Header.Get("Authorization")})
}

// serveHub answers /{repo}/resolve/{revision}/{file}.
func (s *Server) serveHub(w http.ResponseWriter, r *http.Request) {
	prefix := "/" + s.Repo + "/resolve/"
	p := r.URL.EscapedPath()
	s.mu.Lock()
	for old := range s.aliases {
		if rest, ok := strings.CutPrefix(p, "/"+old+"/resolve/"); ok {
			s.mu.Unlock()
			s.log("hub", r, "")
			http.Redirect(w, r, prefix+rest, http.StatusTemporaryRedirect)
			return
		}
	}
	s.mu.Unlock()
	if !strings.HasPrefix(p, prefix) {
		s.log("hub", r, "")
		hubError(w, http.StatusUnauthorized, "RepoNotFound", "Repository not found")
		return
	}
	revEsc, fileEsc, _ := strings.Cut(strings.TrimPrefix(p, prefix), "/")
	rev, err1 := url.PathUnescape(revEsc)
	name, err2 := url.PathUnescape(fileEsc)
	s.log("hub", r, name)
	s.mu.Lock()
	token := s.token
	data, ok := s.files[name]
	s.mu.Unlock()
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		w.WriteHeader(http.StatusMethodNotAllowed)
	case err1 != nil || err2 != nil:
		w.WriteHeader(http.StatusBadRequest)
	case token != "" && r.Header.Get("Authorization") != "Bearer "+token:
		hubError(w, http.StatusUnauthorized, "GatedRepo", "Access to model "+s.Repo+" is restricted. You must have access to it and be authenticated to access it. Please log in.")
	case rev != "main" && rev != Commit:
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
	case !ok:
		w.Header().Set("X-Repo-Commit", Commit)
		hubError(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
	case IsLFS(name):
		h := w.Header()
		h.Set("X-Repo-Commit", Commit)
		h.Set("ETag", `"`+ETag(name+".pointer", data)+`"`) // the LFS pointer's own git hash
		h.Set("X-Linked-Etag", `"`+ETag(name, data)+`"`)
		h.Set("X-Linked-Size", fmt.Sprint(len(data)))
		h.Set("Location", s.CDN+"/blobs/"+ETag(name, data)+"?X-Amz-Signature=fake")
		w.WriteHeader(http.StatusFound)
	default:
		w.Header().Set("X-Repo-Commit", Commit)
		w.Header().Set("ETag", `"`+ETag(name, data)+`"`)
		s.serveFile(w, r, name, data)
	}
}

func hubError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Error-Code", code)
	w.Header().Set("X-Error-Message", msg)
	http.Error(w, msg, status)
}

// serveCDN answers /blobs/{sha256} for LFS files, with no authentication.
func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request) {
	sha := strings.TrimPrefix(r.URL.Path, "/blobs/")
	s.mu.Lock()
	var name string
	var data []byte
	for n, d := range s.files {
		if IsLFS(n) && ETag(n, d) == sha {
			name, data = n, d
		}
	}
	s.mu.Unlock()
	s.log("cdn", r, name)
	if name == "" {
		http.NotFound(w, r)
		return
	}
	s.serveFile(w, r, name, data)
}

// serveFile sends data with Range support, applying the injected faults.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, name string, data []byte) {
	s.mu.Lock()
	c := s.cuts[name]
	if c.times > 0 && r.Method == http.MethodGet {
		s.cuts[name] = cut{c.times - 1, c.after}
		w = &cutWriter{ResponseWriter: w, left: c.after}
	}
	if s.ignoreRange {
		r.Header.Del("Range")
	}
	if s.corrupt[name] {
		data = bytes.Clone(data)
		data[0] ^= 0xff
	}
	s.mu.Unlock()
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

// cutWriter lets `left` bytes of the body through, then drops the
// connection: the client sees the body end before its Content-Length.
type cutWriter struct {
	http.ResponseWriter
	left int
}

func (c *cutWriter) Write(b []byte) (int, error) {
	if len(b) > c.left {
		b = b[:c.left]
	}
	n, _ := c.ResponseWriter.Write(b)
	c.left -= n
	if c.left == 0 {
		c.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	return n, nil
}
