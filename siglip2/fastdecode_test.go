package siglip2

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	_ "image/png" // the demo samples
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/image/draw"

	"github.com/gosig/gosig/preprocess"
)

// TestFastDecodeEmbeddings measures what FastDecode (JPEGs decoded shrunk
// in the DCT domain) costs in embeddings and zero-shot answers, on the
// trained demo checkpoint and pictures of its own domain: each of its 12
// samples enlarged to 1920 pixels on the long side (bilinear) and saved
// as a quality-90 JPEG, the size of photo where the fast path is used.
// At the checkpoint's own 64 patches the fast path decodes 1/8 of each side
// (the DC coefficients alone), at 256 patches 1/4.
//
// Measured (CPU executor, so deterministic): cosine between exact and fast
// image embeddings at least 0.99979 at 64 patches and 0.99997 at 256 (1 −
// cosine below 2.1e-4 and 2.8e-5), the top-1 label over the model card's
// 48 the same for 12 of 12 images at both budgets, the sigmoid score of the
// exact top label moved by at most 0.0013 (scores are around 0.06–0.13).
// The asserted bounds leave room for other JPEG encoders and executors:
// cosine ≥ 0.999 and at least 11 of 12 top-1 labels kept.
func TestFastDecodeEmbeddings(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes 12 large JPEGs and runs the model on them")
	}
	samples, err := filepath.Glob(filepath.Join(testModelDir("shapes-siglip2"), "samples", "*"))
	require.NoError(t, err)
	require.Len(t, samples, 12)
	dir := t.TempDir()
	var paths []string
	for _, s := range samples {
		p := filepath.Join(dir, strings.TrimSuffix(filepath.Base(s), filepath.Ext(s))+".jpg")
		require.NoError(t, enlargeToJPEG(s, p, 1920))
		paths = append(paths, p)
	}
	var labels []string
	for _, c := range []string{"red", "green", "blue", "yellow", "purple", "orange", "white", "black"} {
		for _, s := range []string{"circle", "square", "triangle", "star", "ring", "cross"} {
			labels = append(labels, c+" "+s)
		}
	}
	ctx := context.Background()
	var labelEmbs [][]float32
	for _, patches := range []int{64, 256} {
		var embs [2][][]float32
		var scores [2][][]Score
		var sizes [2][]string
		for i, fast := range []bool{false, true} {
			m, err := Load(testModelDir("shapes-siglip2"), Options{Device: "cpu", MaxPatches: patches, FastDecode: fast})
			require.NoError(t, err)
			if labelEmbs == nil {
				labelEmbs, err = m.LabelEmbeddings(ctx, labels, "this is a photo of a {}.")
				require.NoError(t, err)
			}
			var imgs []*preprocess.RGB
			for _, p := range paths {
				img, err := m.LoadImage(p)
				require.NoError(t, err, p)
				imgs = append(imgs, img)
				sizes[i] = append(sizes[i], fmt.Sprintf("%d×%d", img.W, img.H))
			}
			embs[i], err = m.EmbedImages(ctx, imgs)
			require.NoError(t, err)
			scores[i], err = m.ScoreLabels(embs[i], labelEmbs, labels)
			require.NoError(t, err)
			require.NoError(t, m.Close())
		}
		minCos, sameTop, maxScore := 1.0, 0, 0.0
		for j, p := range paths {
			cos := cosine(embs[0][j], embs[1][j])
			minCos = min(minCos, cos)
			top := scores[0][j][0]
			if scores[1][j][0].Label == top.Label {
				sameTop++
			}
			d := math.Abs(float64(scoreOf(scores[1][j], top.Label) - top.Score))
			maxScore = max(maxScore, d)
			t.Logf("%4d patches %-20s decoded %9s (fast %9s): cosine %.6f, top-1 %q %.4f → %q %.4f",
				patches, filepath.Base(p), sizes[0][j], sizes[1][j], cos, top.Label, top.Score, scores[1][j][0].Label, scores[1][j][0].Score)
		}
		t.Logf("%d patches: min cosine %.6f, top-1 kept %d/%d, exact top label's score moved ≤ %.4f", patches, minCos, sameTop, len(paths), maxScore)
		assert.GreaterOrEqual(t, minCos, 0.999, "%d patches", patches)
		assert.GreaterOrEqual(t, sameTop, len(paths)-1, "%d patches", patches)
		for j := range paths {
			assert.NotEqual(t, sizes[0][j], sizes[1][j], "%s: the fast path was not taken", paths[j])
		}
	}
}

// enlargeToJPEG scales an image so its long side is long pixels and saves
// it as a quality-90 JPEG.
func enlargeToJPEG(src, dst string, long int) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return fmt.Errorf("decode %s: %w", src, err)
	}
	b := img.Bounds()
	w, h := long, b.Dy()*long/b.Dx()
	if b.Dy() > b.Dx() {
		w, h = b.Dx()*long/b.Dy(), long
	}
	big := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.ApproxBiLinear.Scale(big, big.Bounds(), img, b, draw.Src, nil)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, big, &jpeg.Options{Quality: 90}); err != nil {
		return err
	}
	return os.WriteFile(dst, buf.Bytes(), 0o644)
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

func scoreOf(s []Score, label string) float32 {
	for _, x := range s {
		if x.Label == label {
			return x.Score
		}
	}
	return float32(math.NaN())
}
