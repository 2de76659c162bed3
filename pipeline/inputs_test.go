package pipeline

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExpandImages: folders are walked recursively in lexical order for
// image extensions (any case), hidden entries skipped; globs expand (their
// folders walked); plain paths pass through even when missing (they fail
// when read); a glob that matches nothing is a problem, not a path.
func TestExpandImages(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"b.png", "a.JPG", "notes.txt", "sub/c.webp", "sub/deeper/d.jpeg", ".hidden/e.png", "sub/.f.png", "g.gif"} {
		p := filepath.Join(dir, f)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("x"), 0o644))
	}
	j := func(p string) string { return filepath.Join(dir, p) }
	paths, problems := ExpandImages([]string{dir, j("*.png"), j("s*"), j("missing.jpg"), j("*.bmp"), j("notes.txt")})
	assert.Equal(t, []string{
		j("a.JPG"), j("b.png"), j("g.gif"), j("sub/c.webp"), j("sub/deeper/d.jpeg"), // the folder
		j("b.png"),                              // *.png
		j("sub/c.webp"), j("sub/deeper/d.jpeg"), // s* matches the folder sub
		j("missing.jpg"), // passed through
		j("notes.txt"),   // named explicitly: the decoder decides
	}, paths)
	require.Len(t, problems, 1)
	assert.ErrorContains(t, problems[0], "*.bmp: no file matches")
}

// TestUnique: repeats collapse to the first; resumed keys are skipped and
// counted; kinds and id lists keep inputs apart.
func TestUnique(t *testing.T) {
	ins := []Input{ImageInput("a.jpg"), TextInput("a.jpg"), ImageInput("a.jpg"), IDsInput([]int{1, 2}), IDsInput([]int{1, 2}), IDsInput([]int{2, 1}), TextInput("b")}
	out, skipped := Unique(ins, map[string]bool{TextInput("b").Key(): true})
	assert.Equal(t, []Input{ImageInput("a.jpg"), TextInput("a.jpg"), IDsInput([]int{1, 2}), IDsInput([]int{2, 1})}, out)
	assert.Equal(t, 1, skipped)
}

// TestReadTexts: one text per line, CRLF tolerated, blank lines skipped.
func TestReadTexts(t *testing.T) {
	p := filepath.Join(t.TempDir(), "t.txt")
	require.NoError(t, os.WriteFile(p, []byte("a cat\r\n\n  \na dog\nlast"), 0o644))
	texts, err := ReadTexts(p)
	require.NoError(t, err)
	assert.Equal(t, []string{"a cat", "a dog", "last"}, texts)
	_, err = ReadTexts(p + ".missing")
	assert.Error(t, err)
}
