package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosig/gosig/hub"
	"github.com/gosig/gosig/hub/hubtest"
)

// runPull runs `gosig <args>` and returns stdout, stderr and the error.
func runPull(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestPullCommand(t *testing.T) {
	cache := t.TempDir()
	for k, v := range map[string]string{"HF_HUB_CACHE": cache, "HF_HOME": t.TempDir(), "HF_TOKEN": "",
		"HUGGING_FACE_HUB_TOKEN": "", "HF_HUB_OFFLINE": "", "TRANSFORMERS_OFFLINE": ""} {
		t.Setenv(k, v)
	}
	srv := hubtest.New(t, "acme/tiny", map[string][]byte{
		"config.json":       []byte(`{}`),
		"model.safetensors": bytes.Repeat([]byte{7}, 5000),
	})
	t.Setenv("HF_ENDPOINT", srv.URL)

	stdout, stderr, err := runPull(t, "pull", "acme/tiny")
	require.NoError(t, err)
	dir := filepath.Join(cache, "models--acme--tiny", "snapshots", hubtest.Commit)
	assert.Equal(t, dir+"\n", stdout, "prints the snapshot directory")
	assert.Empty(t, stderr, "no progress bar when stderr is not a terminal")
	resolved, err := hub.Resolve("acme/tiny", "")
	require.NoError(t, err)
	assert.Equal(t, dir, resolved)

	_, _, err = runPull(t, "pull", "acme/tiny", "--revision", "nope")
	require.ErrorIs(t, err, hub.ErrNotFound)

	for _, args := range [][]string{{"pull"}, {"pull", "a/b/c"}, {"pull", "acme/tiny", "--bogus"}} {
		_, _, err := runPull(t, args...)
		var ee *exitError
		require.True(t, errors.As(err, &ee), "%v: %v", args, err)
		assert.Equal(t, exitUsage, ee.code, "%v", args)
	}
}
