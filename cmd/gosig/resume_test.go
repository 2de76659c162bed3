//go:build unix

package main

import (
	"bytes"
	"fmt"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildGosig builds the command into a temporary folder.
func buildGosig(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gosig")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// outputRecords reads an embed output as a user would: JSONL lines, or a
// .npy's rows with its index.
func outputRecords(t *testing.T, out string) []embedRecord {
	t.Helper()
	if !strings.HasSuffix(out, ".npy") {
		b, err := os.ReadFile(out)
		require.NoError(t, err)
		return parseEmbedJSONL(t, string(b))
	}
	rows, dim, data := readNPYFile(t, out)
	b, err := os.ReadFile(strings.TrimSuffix(out, ".npy") + ".index.jsonl")
	require.NoError(t, err)
	recs := parseEmbedJSONL(t, string(b))
	require.Len(t, recs, rows, "index lines = rows")
	for i := range recs {
		recs[i].Embedding = data[i*dim : (i+1)*dim]
	}
	return recs
}

// countOutput returns how many records an output holds so far (0 while it
// does not exist).
func countOutput(out string) int {
	if strings.HasSuffix(out, ".npy") {
		out = strings.TrimSuffix(out, ".npy") + ".index.jsonl"
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte("\n"))
}

// TestEmbedKillAndResume kills a gosig embed process (SIGKILL, no chance
// to clean up) in the middle of a run over 40 images, resumes it, and
// checks that the output (JSONL, then .npy) holds every input exactly once,
// in order, with the embeddings of an uninterrupted run.
//
// To kill it midway deterministically, image 21 of 40 is at first a named
// pipe: with one decode worker, the run writes the 20 images before it (5
// batches of 4), then blocks opening the pipe. The test kills it there, also
// appends half a record to the output as a kill in the middle of a write
// would leave, puts the real image in the pipe's place, and resumes.
func TestEmbedKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildGosig(t)
	imgDir := t.TempDir()
	colours := []color.NRGBA{{220, 20, 20, 255}, {20, 180, 40, 255}, {30, 60, 220, 255}, {240, 220, 20, 255}, {130, 40, 160, 255}}
	for i := range 40 {
		writePNG(t, filepath.Join(imgDir, fmt.Sprintf("img%02d.png", i)), 48+7*i, 200-3*i,
			color.NRGBA{uint8(90 + i), 90, 90, 255}, colours[i%len(colours)])
	}
	const stall = "img20.png"
	real := filepath.Join(t.TempDir(), stall)
	require.NoError(t, os.Rename(filepath.Join(imgDir, stall), real))

	embed := func(t *testing.T, out string, extra ...string) *exec.Cmd {
		args := append([]string{"embed", "--model", shapesModel, "--device", "cpu", "--batch", "4", "--workers", "1", "--out", out}, extra...)
		cmd := exec.Command(bin, append(args, imgDir)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("gosig %s\nstderr:\n%s", strings.Join(args, " "), stderr.String())
			}
		})
		return cmd
	}

	clean := filepath.Join(t.TempDir(), "clean.jsonl")
	require.NoError(t, os.Link(real, filepath.Join(imgDir, stall)))
	require.NoError(t, embed(t, clean).Run())
	want := outputRecords(t, clean)
	require.Len(t, want, 40)
	require.NoError(t, os.Remove(filepath.Join(imgDir, stall)))

	for _, name := range []string{"out.jsonl", "out.npy"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, name)
			require.NoError(t, syscall.Mkfifo(filepath.Join(imgDir, stall), 0o644))

			run := embed(t, out)
			require.NoError(t, run.Start())
			deadline := time.Now().Add(2 * time.Minute)
			for countOutput(out) < 20 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			require.NoError(t, run.Process.Signal(syscall.SIGKILL))
			_ = run.Wait()
			require.Equal(t, 20, countOutput(out), "the images before the pipe, and no more")

			if !strings.HasSuffix(name, ".npy") {
				f, err := os.OpenFile(out, os.O_APPEND|os.O_WRONLY, 0)
				require.NoError(t, err)
				_, err = f.WriteString(`{"input":"` + filepath.Join(imgDir, "img20.png") + `","kind":"image","embedding":[0.01,`)
				require.NoError(t, err)
				require.NoError(t, f.Close())
			} else {
				f, err := os.OpenFile(out, os.O_APPEND|os.O_WRONLY, 0)
				require.NoError(t, err)
				_, err = f.Write(make([]byte, 4*128+100)) // a row and a bit, with no index line
				require.NoError(t, err)
				require.NoError(t, f.Close())
			}

			require.NoError(t, os.Remove(filepath.Join(imgDir, stall)))
			require.NoError(t, os.Link(real, filepath.Join(imgDir, stall)))
			t.Cleanup(func() { os.Remove(filepath.Join(imgDir, stall)) })
			resume := embed(t, out, "--resume")
			require.NoError(t, resume.Run())

			got := outputRecords(t, out)
			require.Len(t, got, 40)
			seen := map[string]bool{}
			for i, r := range got {
				require.False(t, seen[r.key()], "%s twice", r.Input)
				seen[r.key()] = true
				assert.Equal(t, want[i].key(), r.key(), "record %d", i)
				assert.Equal(t, want[i].Embedding, r.Embedding, "%s", r.Input)
			}
		})
	}
}
