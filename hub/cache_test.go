package hub

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// isolate clears every environment variable the package reads and points
// the cache at a fresh directory, so a developer's own settings cannot leak
// into a test. It returns the cache directory.
func isolate(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	for _, k := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME", "HF_TOKEN",
		"HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT"} {
		t.Setenv(k, "")
	}
	t.Setenv("HOME", home)
	t.Setenv("HF_HOME", filepath.Join(home, "hf"))
	return filepath.Join(home, "hf", "hub")
}

// TestCacheDir checks the precedence of huggingface_hub's constants.py.
func TestCacheDir(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // relative to HOME when it does not start with /
	}{
		{"default", nil, ".cache/huggingface/hub"},
		{"xdg", map[string]string{"XDG_CACHE_HOME": "/x"}, "/x/huggingface/hub"},
		{"hf home beats xdg", map[string]string{"XDG_CACHE_HOME": "/x", "HF_HOME": "/h"}, "/h/hub"},
		{"tilde", map[string]string{"HF_HOME": "~/hf"}, "hf/hub"},
		{"env var inside", map[string]string{"HF_HOME": "$MYROOT/hf", "MYROOT": "/r"}, "/r/hf/hub"},
		{"legacy cache var", map[string]string{"HF_HOME": "/h", "HUGGINGFACE_HUB_CACHE": "/legacy"}, "/legacy"},
		{"hub cache beats all", map[string]string{"HF_HOME": "/h", "HUGGINGFACE_HUB_CACHE": "/legacy", "HF_HUB_CACHE": "/c"}, "/c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			t.Setenv("HF_HOME", "")
			home := os.Getenv("HOME")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			want := tc.want
			if !filepath.IsAbs(want) {
				want = filepath.Join(home, want)
			}
			assert.Equal(t, filepath.FromSlash(want), CacheDir())
		})
	}
}

func TestEnvToken(t *testing.T) {
	isolate(t)
	assert.Empty(t, envToken(), "no token anywhere")

	home := os.Getenv("HF_HOME")
	require.NoError(t, os.MkdirAll(home, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(home, "token"), []byte("hf_file\n"), 0o600))
	assert.Equal(t, "hf_file", envToken(), "HF_HOME/token, newline stripped")

	other := filepath.Join(t.TempDir(), "tok")
	require.NoError(t, os.WriteFile(other, []byte(" hf_path \r\n"), 0o600))
	t.Setenv("HF_TOKEN_PATH", other)
	assert.Equal(t, "hf_path", envToken(), "HF_TOKEN_PATH beats HF_HOME/token")

	t.Setenv("HUGGING_FACE_HUB_TOKEN", "hf_legacy")
	assert.Equal(t, "hf_legacy", envToken(), "legacy variable beats the file")
	t.Setenv("HF_TOKEN", "hf_env")
	assert.Equal(t, "hf_env", envToken(), "HF_TOKEN beats all")
}

func TestEnvOffline(t *testing.T) {
	for v, want := range map[string]bool{"": false, "0": false, "no": false, "1": true, "true": true, "ON": true, "yes": true} {
		isolate(t)
		t.Setenv("HF_HUB_OFFLINE", v)
		assert.Equal(t, want, envOffline(), "HF_HUB_OFFLINE=%q", v)
	}
	isolate(t)
	t.Setenv("TRANSFORMERS_OFFLINE", "1")
	assert.True(t, envOffline(), "TRANSFORMERS_OFFLINE=1 counts too")
}

func TestValidateRepoID(t *testing.T) {
	for _, id := range []string{"google/siglip2-base-patch16-naflex", "gpt2", "org_1/Model.v2", "a/b"} {
		assert.NoError(t, ValidateRepoID(id), id)
	}
	for _, id := range []string{"", "a/b/c", "/abs", "org/", "org/na--me", "org/na..me", "org/-x", "org/x.",
		"org/x.git", "../x", "org/x y", `org\x`, strings.Repeat("a", 97)} {
		assert.Error(t, ValidateRepoID(id), id)
	}
}

// fakeSnapshot writes a cache entry by hand, the way huggingface_hub lays
// it out, independently of Pull.
func fakeSnapshot(t *testing.T, cache, repo, commit string, files ...string) string {
	t.Helper()
	rd := filepath.Join(cache, "models--"+strings.ReplaceAll(repo, "/", "--"))
	snap := filepath.Join(rd, "snapshots", commit)
	require.NoError(t, os.MkdirAll(filepath.Join(rd, "blobs"), 0o755))
	require.NoError(t, os.MkdirAll(snap, 0o755))
	for _, f := range files {
		blob := filepath.Join(rd, "blobs", "etag-"+f)
		require.NoError(t, os.WriteFile(blob, []byte(f), 0o644))
		require.NoError(t, os.Symlink(filepath.Join("..", "..", "blobs", "etag-"+f), filepath.Join(snap, f)))
	}
	return snap
}

func TestResolve(t *testing.T) {
	cache := isolate(t)
	const c1 = "1111111111111111111111111111111111111111"
	const c2 = "2222222222222222222222222222222222222222"

	t.Run("a directory is returned as is", func(t *testing.T) {
		dir := t.TempDir()
		got, err := Resolve(dir, "")
		require.NoError(t, err)
		assert.Equal(t, dir, got)
	})

	t.Run("missing model says what to run", func(t *testing.T) {
		_, err := Resolve("org/absent", "")
		require.ErrorIs(t, err, ErrNotCached)
		assert.Contains(t, err.Error(), `"gosig pull org/absent"`)
		_, err = Resolve("org/absent", "v2")
		require.ErrorIs(t, err, ErrNotCached)
		assert.Contains(t, err.Error(), `"gosig pull org/absent --revision v2"`)
	})

	t.Run("neither directory nor id", func(t *testing.T) {
		_, err := Resolve("no/such/dir", "")
		require.Error(t, err)
		assert.NotErrorIs(t, err, ErrNotCached)
		assert.Contains(t, err.Error(), "no such directory")
	})

	snap1 := fakeSnapshot(t, cache, "org/m", c1, "config.json", "model.safetensors")
	snap2 := fakeSnapshot(t, cache, "org/m", c2, "config.json", "model.safetensors")
	refs := filepath.Join(cache, "models--org--m", "refs")
	require.NoError(t, os.MkdirAll(refs, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(refs, "main"), []byte(c2), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(refs, "v1"), []byte(c1), 0o644))

	for _, tc := range []struct{ rev, want string }{{"", snap2}, {"main", snap2}, {"v1", snap1}, {c1, snap1}} {
		got, err := Resolve("org/m", tc.rev)
		require.NoError(t, err, tc.rev)
		assert.Equal(t, tc.want, got, "revision %q", tc.rev)
	}

	t.Run("a snapshot without weights is not a model", func(t *testing.T) {
		fakeSnapshot(t, cache, "org/partial", c1, "config.json")
		_, err := Resolve("org/partial", c1)
		require.ErrorIs(t, err, ErrNotCached)
		assert.Contains(t, err.Error(), "model.safetensors")
	})

	t.Run("sharded weights count when every shard is there", func(t *testing.T) {
		snap := fakeSnapshot(t, cache, "org/sharded", c1, "config.json", "a.safetensors")
		index := `{"metadata":{},"weight_map":{"x":"a.safetensors","y":"b.safetensors"}}`
		require.NoError(t, os.WriteFile(filepath.Join(snap, weightsIndex), []byte(index), 0o644))
		_, err := Resolve("org/sharded", c1)
		require.ErrorIs(t, err, ErrNotCached, "b.safetensors is missing")
		fakeSnapshot(t, cache, "org/sharded", c1, "b.safetensors")
		got, err := Resolve("org/sharded", c1)
		require.NoError(t, err)
		assert.Equal(t, snap, got)
	})
}

func TestShardFiles(t *testing.T) {
	got, err := shardFiles([]byte(`{"weight_map":{"a":"m-2.safetensors","b":"m-1.safetensors","c":"m-2.safetensors"}}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"m-1.safetensors", "m-2.safetensors"}, got)
	for _, bad := range []string{`{}`, `{"weight_map":{}}`, `{"weight_map":{"a":"../x"}}`, `{"weight_map":{"a":"/etc/passwd"}}`, `[`} {
		_, err := shardFiles([]byte(bad))
		assert.Error(t, err, bad)
	}
}

// FuzzShardFiles: whatever the index holds, no panic, and every shard name
// stays inside the snapshot.
func FuzzShardFiles(f *testing.F) {
	f.Add([]byte(`{"weight_map":{"a":"m-1.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"a":"sub/../../x"}}`))
	f.Add([]byte(`{"weight_map":{"a":"./x","b":""}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		shards, err := shardFiles(b)
		if err != nil {
			return
		}
		for _, s := range shards {
			clean := filepath.Clean(filepath.FromSlash(s))
			if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
				t.Fatalf("shard %q escapes the snapshot", s)
			}
			if validFilename(s) != nil {
				t.Fatalf("shard %q returned though invalid", s)
			}
		}
	})
}
