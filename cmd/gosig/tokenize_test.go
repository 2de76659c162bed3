package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runTokenize runs `gosig tokenize <args>` with stdin and returns stdout.
func runTokenize(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRootCmd()
	root.SetArgs(append([]string{"tokenize"}, args...))
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// TestTokenizeCommand checks the command against the shapes checkpoint's
// model card example and the SigLIP fixture's ids (testdata/tokenizer).
func TestTokenizeCommand(t *testing.T) {
	const shapes = "../../testdata/models/shapes-siglip2"
	pad := strings.Repeat(",0", 54)
	out, err := runTokenize(t, "", "--tokenizer", shapes, "this is a photo of a red circle.")
	require.NoError(t, err)
	assert.Equal(t, "[276,275,260,272,264,260,322,297,503,1"+pad+"]\n", out)

	out, err = runTokenize(t, "", "--tokenizer", shapes+"/tokenizer.model", "--no-pad", "this is a photo of a red circle.", "")
	require.NoError(t, err)
	assert.Equal(t, "[276,275,260,272,264,260,322,297,503,1]\n[1]\n", out)

	out, err = runTokenize(t, "\"this is a photo of a red circle.\"\n\"\"\n", "--tokenizer", shapes, "--stdin", "--max-length", "4")
	require.NoError(t, err)
	assert.Equal(t, "[276,275,260,1]\n[1,0,0,0]\n", out)

	out, err = runTokenize(t, "", "--tokenizer", "../../testdata/models/siglip_tiny_fixres", "--max-length", "9", "A Red Circle on a BLUE background.")
	require.NoError(t, err)
	assert.Equal(t, "[533,360,340,484,533,459,396,1,1]\n", out)
}

func TestTokenizeCommandErrors(t *testing.T) {
	const shapes = "../../testdata/models/shapes-siglip2"
	usage := func(err error) bool {
		var ee *exitError
		return errors.As(err, &ee) && ee.code == exitUsage
	}
	_, err := runTokenize(t, "", "a photo")
	assert.True(t, usage(err), "missing --tokenizer: %v", err)
	_, err = runTokenize(t, "", "--tokenizer", shapes)
	assert.True(t, usage(err), "no text: %v", err)
	_, err = runTokenize(t, "", "--tokenizer", shapes, "--stdin", "x")
	assert.True(t, usage(err), "both stdin and args: %v", err)
	_, err = runTokenize(t, "", "--tokenizer", shapes, "--max-length", "0", "x")
	assert.True(t, usage(err), "zero max length: %v", err)
	_, err = runTokenize(t, "not json\n", "--tokenizer", shapes, "--stdin")
	assert.ErrorContains(t, err, "line 1")
	_, err = runTokenize(t, "", "--tokenizer", "/nonexistent/dir", "x")
	assert.Error(t, err)
}
