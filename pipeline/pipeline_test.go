package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosig/gosig/preprocess"
)

// fakeStages "prepares" an image named "img<i>" into a Patches whose
// GridH holds i, after a random pause (decoding takes uneven time), and
// "embeds" it as [i]; a text becomes ids [len(text)] and embeds as
// [-len]. Names in fail fail to prepare; a batch holding a name in poison
// fails as a whole (as a forward pass would). It checks that Images and
// Texts are never called concurrently: the GPU goroutine owns them.
type fakeStages struct {
	fail, poison map[string]bool
	inFlight     atomic.Int32
	overlap      atomic.Bool
	mu           sync.Mutex
	batchSizes   []int
}

func indexOf(path string) int {
	i, err := strconv.Atoi(strings.TrimPrefix(path, "img"))
	if err != nil {
		panic(err)
	}
	return i
}

func (f *fakeStages) stages() Stages[[]float32] {
	enter := func(n int) func() {
		if f.inFlight.Add(1) > 1 {
			f.overlap.Store(true)
		}
		f.mu.Lock()
		f.batchSizes = append(f.batchSizes, n)
		f.mu.Unlock()
		return func() { f.inFlight.Add(-1) }
	}
	return Stages[[]float32]{
		PrepareImage: func(path string) (*preprocess.Patches, error) {
			time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
			if f.fail[path] {
				return nil, errors.New("cannot decode")
			}
			return &preprocess.Patches{GridH: indexOf(path)}, nil
		},
		Tokenize: func(text string) ([]int, error) { return []int{len(text)}, nil },
		Images: func(_ context.Context, ps []*preprocess.Patches) ([][]float32, error) {
			defer enter(len(ps))()
			out := make([][]float32, len(ps))
			for i, p := range ps {
				if f.poison["img"+strconv.Itoa(p.GridH)] {
					return nil, errors.New("device lost")
				}
				out[i] = []float32{float32(p.GridH)}
			}
			return out, nil
		},
		Texts: func(_ context.Context, ids [][]int) ([][]float32, error) {
			defer enter(len(ids))()
			out := make([][]float32, len(ids))
			for i, s := range ids {
				out[i] = []float32{-float32(s[0])}
			}
			return out, nil
		},
	}
}

// collect runs the pipeline and returns every result in the order write
// saw them, and the batches write was called with.
func collect(t *testing.T, inputs []Input, f *fakeStages, opts Options) ([]Result[[]float32], [][]Result[[]float32], Stats) {
	t.Helper()
	var all []Result[[]float32]
	var calls [][]Result[[]float32]
	stats, err := Run(context.Background(), inputs, f.stages(), opts, func(rs []Result[[]float32]) error {
		all = append(all, rs...)
		calls = append(calls, rs)
		return nil
	})
	require.NoError(t, err)
	return all, calls, stats
}

// TestRunOrderAndBatches: every input comes back exactly once, in input
// order, with its own value; batches hold one kind and at most BatchSize
// good inputs; the stages are never run concurrently.
func TestRunOrderAndBatches(t *testing.T) {
	var inputs []Input
	for i := range 50 {
		inputs = append(inputs, ImageInput("img"+strconv.Itoa(i)))
		if i%7 == 3 {
			inputs = append(inputs, TextInput(strings.Repeat("x", i)))
		}
	}
	inputs = append(inputs, IDsInput([]int{99}))
	f := &fakeStages{}
	all, calls, stats := collect(t, inputs, f, Options{Workers: 4, BatchSize: 3})
	require.Len(t, all, len(inputs))
	for i, r := range all {
		require.Equal(t, i, r.Index)
		require.Equal(t, inputs[i], r.Input)
		require.NoError(t, r.Err)
		switch {
		case r.Input.Kind == KindImage:
			assert.Equal(t, []float32{float32(indexOf(r.Input.Path))}, r.Value)
		case r.Input.IDs != nil:
			assert.Equal(t, []float32{-99}, r.Value)
		default:
			assert.Equal(t, []float32{-float32(len(r.Input.Text))}, r.Value)
		}
	}
	for _, c := range calls {
		assert.LessOrEqual(t, len(c), 3)
		for _, r := range c {
			assert.Equal(t, c[0].Input.Kind, r.Input.Kind, "a batch mixes kinds")
		}
	}
	assert.False(t, f.overlap.Load(), "Images/Texts ran concurrently")
	assert.Equal(t, 50, stats.Images)
	assert.Equal(t, len(inputs)-50, stats.Texts)
	assert.Zero(t, stats.Failed)
	assert.Equal(t, len(calls), stats.Batches)
	// The GPU goroutine's time splits into busy, waiting and blocked: they
	// cannot add up to more than the run.
	assert.LessOrEqual(t, stats.Busy+stats.Fill+stats.Starved+stats.Blocked, stats.Wall)
}

// TestRunFailuresIsolated: an input that fails to prepare, and one whose
// forward pass fails, fail alone and in their place; the others succeed.
func TestRunFailuresIsolated(t *testing.T) {
	var inputs []Input
	for i := range 20 {
		inputs = append(inputs, ImageInput("img"+strconv.Itoa(i)))
	}
	f := &fakeStages{fail: map[string]bool{"img0": true, "img5": true, "img6": true}, poison: map[string]bool{"img9": true}}
	all, _, stats := collect(t, inputs, f, Options{Workers: 3, BatchSize: 4})
	require.Len(t, all, 20)
	for i, r := range all {
		name := "img" + strconv.Itoa(i)
		switch {
		case f.fail[name]:
			require.Error(t, r.Err, name)
			assert.Contains(t, r.Err.Error(), name+": cannot decode")
		case f.poison[name]:
			require.Error(t, r.Err, name)
			assert.Contains(t, r.Err.Error(), name+": device lost")
		default:
			require.NoError(t, r.Err, name)
			assert.Equal(t, []float32{float32(i)}, r.Value)
		}
	}
	assert.Equal(t, 4, stats.Failed)
	assert.Equal(t, 16, stats.Images)
	// The poisoned batch (4 images) ran once whole, then once per image.
	assert.Contains(t, f.batchSizes, 1)
}

// TestRunWriteErrorStops: a failing write ends the run with its error.
func TestRunWriteErrorStops(t *testing.T) {
	var inputs []Input
	for i := range 100 {
		inputs = append(inputs, ImageInput("img"+strconv.Itoa(i)))
	}
	f := &fakeStages{}
	calls := 0
	_, err := Run(context.Background(), inputs, f.stages(), Options{Workers: 2, BatchSize: 2}, func([]Result[[]float32]) error {
		calls++
		if calls == 3 {
			return errors.New("disk full")
		}
		return nil
	})
	require.EqualError(t, err, "disk full")
	assert.Equal(t, 3, calls)
}

// TestRunCancel: cancelling the context stops the run with ctx's error.
func TestRunCancel(t *testing.T) {
	var inputs []Input
	for i := range 1000 {
		inputs = append(inputs, ImageInput("img"+strconv.Itoa(i)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &fakeStages{}
	seen := 0
	_, err := Run(ctx, inputs, f.stages(), Options{Workers: 2, BatchSize: 4}, func(rs []Result[[]float32]) error {
		seen += len(rs)
		cancel()
		return nil
	})
	require.ErrorIs(t, err, context.Canceled)
	assert.Less(t, seen, 1000)
}

// TestRunRefusesMissingStages: inputs a model cannot take are refused
// before any work, naming the input.
func TestRunRefusesMissingStages(t *testing.T) {
	st := (&fakeStages{}).stages()
	st.Texts = nil
	_, err := Run(context.Background(), []Input{ImageInput("img1"), TextInput("a cat")}, st, Options{}, func([]Result[[]float32]) error { return nil })
	require.ErrorContains(t, err, `text "a cat": this model takes no texts`)
	st = (&fakeStages{}).stages()
	st.Images = nil
	_, err = Run(context.Background(), []Input{ImageInput("img1")}, st, Options{}, func([]Result[[]float32]) error { return nil })
	require.ErrorContains(t, err, "img1: this model takes no images")
}

// TestRunEmpty: no inputs, no calls, no error.
func TestRunEmpty(t *testing.T) {
	stats, err := Run(context.Background(), nil, (&fakeStages{}).stages(), Options{}, func([]Result[[]float32]) error {
		return fmt.Errorf("write called")
	})
	require.NoError(t, err)
	assert.Zero(t, stats.Done()+stats.Failed)
}
