// Package pipeline runs a model over many inputs — image files and texts —
// keeping the GPU busy: decoding and preprocessing run on worker goroutines
// on every core, a batcher groups their results in input order, one
// goroutine owns the GPU queue and runs each batch's forward pass, and a
// writer hands each finished batch to the caller, who writes it out.
//
//	inputs ─► workers (decode, NaFlex; tokenize) ─► batcher ─► GPU goroutine ─► writer
//
// Stages are joined by small buffered channels, so the workers run ahead of
// the GPU by a bounded window and memory stays flat however many inputs
// there are. An input that fails (unreadable file, bad image) is handed to
// the writer with its error, in its place, and the rest go on; when a batch's
// forward pass fails, its images are run one by one so that only the guilty
// one fails. Output formats with resume (JSONL, .npy) are in this package
// too, so that an interrupted run loses nothing.
//
// The package knows models only through Stages: functions that prepare one
// input and run one batch. EmbedStages builds them for embeddings from a
// siglip2.Model; gosig classify builds its own for scores.
package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gosig/gosig/preprocess"
)

// Kind says whether an input is an image or a text.
type Kind string

// The kinds of input.
const (
	KindImage Kind = "image"
	KindText  Kind = "text"
)

// Input is one thing to run the model on.
type Input struct {
	Kind Kind
	// Path is the image file (KindImage).
	Path string
	// Text is the text (KindText, when IDs is nil).
	Text string
	// IDs are token ids given as they are (KindText): they bypass the
	// tokenizer.
	IDs []int
}

// ImageInput returns the input for an image file.
func ImageInput(path string) Input { return Input{Kind: KindImage, Path: path} }

// TextInput returns the input for a text.
func TextInput(text string) Input { return Input{Kind: KindText, Text: text} }

// IDsInput returns the input for a sequence of token ids.
func IDsInput(ids []int) Input { return Input{Kind: KindText, IDs: ids} }

// Value is what output records show as "input": the path, the text, or the
// ids.
func (in Input) Value() any {
	switch {
	case in.Kind == KindImage:
		return in.Path
	case in.IDs != nil:
		return in.IDs
	}
	return in.Text
}

// Key identifies an input: two inputs with one key give one output record,
// and resuming skips the inputs whose key the output holds.
func (in Input) Key() string {
	b, _ := json.Marshal(in.Value()) // strings and int slices always marshal
	return string(in.Kind) + "\x00" + string(b)
}

// String names the input in messages.
func (in Input) String() string {
	switch {
	case in.Kind == KindImage:
		return in.Path
	case in.IDs != nil:
		b, _ := json.Marshal(in.IDs)
		return "ids " + string(b)
	}
	return fmt.Sprintf("text %q", in.Text)
}

// Stages are what the pipeline does with each input: how to prepare one
// (called concurrently on the worker goroutines) and how to run a batch
// (called on the GPU goroutine only, one batch at a time). R is the result
// of one input: an embedding, a list of scores.
type Stages[R any] struct {
	// PrepareImage reads, decodes and preprocesses an image file.
	PrepareImage func(path string) (*preprocess.Patches, error)
	// Tokenize turns a text into token ids; nil refuses texts.
	Tokenize func(text string) ([]int, error)
	// Images runs the model on a batch of prepared images and returns one
	// result per image.
	Images func(ctx context.Context, batch []*preprocess.Patches) ([]R, error)
	// Texts runs the model on a batch of token-id sequences; nil refuses
	// texts.
	Texts func(ctx context.Context, ids [][]int) ([]R, error)
}

// Result is the outcome for one input.
type Result[R any] struct {
	// Index is the input's position in the list given to Run.
	Index int
	Input Input
	// Value is the result when Err is nil.
	Value R
	// Err says why the input failed (it names the input).
	Err error
}

// Options tune Run. The zero value uses every core and batches of 8.
type Options struct {
	// Workers is the number of decode and preprocess goroutines; 0 means
	// GOMAXPROCS.
	Workers int
	// BatchSize is the most inputs one forward pass takes; 0 means 8.
	BatchSize int
	// Window bounds how many inputs may be prepared ahead of the batcher; 0
	// means 2·Workers + 3·BatchSize (enough to fill the next batches while
	// the GPU runs one, without holding much memory).
	Window int
}

// Stats describe a finished run.
type Stats struct {
	// Images and Texts count the inputs that succeeded; Failed those that
	// did not.
	Images, Texts, Failed int
	// Batches is the number of forward passes (a batch retried image by
	// image counts once per pass).
	Batches int
	// Wall is the run's elapsed time.
	Wall time.Duration
	// Busy is the time the GPU goroutine spent inside forward passes
	// (Stages.Images and Stages.Texts: packing inputs, the GPU's work,
	// reading back).
	Busy time.Duration
	// Fill is how long the GPU goroutine waited for its first batch (the
	// pipeline filling); Starved how long it waited for later batches —
	// time the GPU sat idle because decoding fell behind.
	Fill, Starved time.Duration
	// Blocked is how long the GPU goroutine waited for the writer to take
	// a finished batch.
	Blocked time.Duration
}

// Done is the number of inputs that succeeded.
func (s Stats) Done() int { return s.Images + s.Texts }

// BusyFraction is Busy / Wall: the share of the run the GPU queue was busy.
func (s Stats) BusyFraction() float64 {
	if s.Wall <= 0 {
		return 0
	}
	return s.Busy.Seconds() / s.Wall.Seconds()
}

// job is one input on its way through the workers.
type job struct {
	index   int
	in      Input
	patches *preprocess.Patches
	ids     []int
	err     error
	done    chan struct{} // closed once prepared (or failed)
}

// batch is a run of consecutive inputs of one kind: the failed ones ride
// along so that the writer sees every input in order.
type batch[R any] struct {
	kind    Kind
	jobs    []*job
	ok      int // jobs without an error
	results []Result[R]
}

// Run runs stages over inputs and calls write, on one goroutine, with each
// batch's results in input order (failed inputs carry their error; every
// input is in exactly one call). It returns when every input went through
// or at the first fatal error: ctx cancelled, a write that failed, a stage
// missing for a kind of input. Inputs that fail do not stop the run: the
// Stats count them.
func Run[R any](ctx context.Context, inputs []Input, st Stages[R], opts Options, write func([]Result[R]) error) (Stats, error) {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 8
	}
	if opts.Window <= 0 {
		opts.Window = 2*opts.Workers + 3*opts.BatchSize
	}
	if err := st.check(inputs); err != nil {
		return Stats{}, err
	}
	var stats Stats
	start := time.Now()
	g, ctx := errgroup.WithContext(ctx)
	todo := make(chan *job)                 // feeder → workers
	ordered := make(chan *job, opts.Window) // feeder → batcher, in input order
	batches := make(chan *batch[R], 2)      // batcher → GPU: the next two batches ready
	finished := make(chan *batch[R], 2)     // GPU → writer
	send := func(ch chan<- *batch[R], b *batch[R]) error {
		select {
		case ch <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	// Feeder: hands out inputs in order; the window's capacity holds it back
	// when the batcher falls behind.
	g.Go(func() error {
		defer close(todo)
		defer close(ordered)
		for i, in := range inputs {
			j := &job{index: i, in: in, done: make(chan struct{})}
			select {
			case ordered <- j:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case todo <- j:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})

	// Workers: decode and preprocess, or tokenize.
	for range opts.Workers {
		g.Go(func() error {
			for j := range todo {
				st.prepare(j)
				close(j.done)
			}
			return nil
		})
	}

	// Batcher: takes prepared inputs in order and cuts batches of one kind
	// and at most BatchSize good inputs.
	g.Go(func() error {
		defer close(batches)
		cur := &batch[R]{}
		for j := range ordered {
			select {
			case <-j.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			if j.err == nil && cur.ok > 0 && cur.kind != j.in.Kind {
				if err := send(batches, cur); err != nil {
					return err
				}
				cur = &batch[R]{}
			}
			cur.jobs = append(cur.jobs, j)
			if j.err == nil {
				cur.kind = j.in.Kind
				cur.ok++
			}
			// A full batch goes; so does a failure with no good input
			// before it, so that failures are reported as they happen.
			if cur.ok == opts.BatchSize || cur.ok == 0 {
				if err := send(batches, cur); err != nil {
					return err
				}
				cur = &batch[R]{}
			}
		}
		if len(cur.jobs) > 0 {
			return send(batches, cur)
		}
		return nil
	})

	// GPU goroutine: the only caller of Images and Texts.
	g.Go(func() error {
		defer close(finished)
		first := true
		for {
			t0 := time.Now()
			var b *batch[R]
			var ok bool
			select {
			case b, ok = <-batches:
			case <-ctx.Done():
				return ctx.Err()
			}
			if first {
				stats.Fill = time.Since(t0)
				first = false
			} else if ok {
				stats.Starved += time.Since(t0)
			}
			if !ok {
				return nil
			}
			if err := st.run(ctx, b, &stats); err != nil {
				return err
			}
			t1 := time.Now()
			if err := send(finished, b); err != nil {
				return err
			}
			stats.Blocked += time.Since(t1)
		}
	})

	// Writer: hands results to the caller, counts them.
	g.Go(func() error {
		for b := range finished {
			for _, r := range b.results {
				switch {
				case r.Err != nil:
					stats.Failed++
				case r.Input.Kind == KindImage:
					stats.Images++
				default:
					stats.Texts++
				}
			}
			if err := write(b.results); err != nil {
				return err
			}
		}
		return nil
	})

	err := g.Wait()
	stats.Wall = time.Since(start)
	return stats, err
}

// check refuses inputs the stages cannot run, before any work starts.
func (st Stages[R]) check(inputs []Input) error {
	for _, in := range inputs {
		switch in.Kind {
		case KindImage:
			if st.PrepareImage == nil || st.Images == nil {
				return fmt.Errorf("%s: this model takes no images", in)
			}
		case KindText:
			if st.Texts == nil || (in.IDs == nil && st.Tokenize == nil) {
				return fmt.Errorf("%s: this model takes no texts", in)
			}
		default:
			return fmt.Errorf("input of unknown kind %q", in.Kind)
		}
	}
	return nil
}

// prepare runs on a worker.
func (st Stages[R]) prepare(j *job) {
	switch {
	case j.in.Kind == KindImage:
		j.patches, j.err = st.PrepareImage(j.in.Path)
	case j.in.IDs != nil:
		j.ids = j.in.IDs
	default:
		j.ids, j.err = st.Tokenize(j.in.Text)
	}
	if j.err != nil && !strings.HasPrefix(j.err.Error(), j.in.String()+":") {
		// Name the input first, unless the error does already (decoders
		// start with the file they read).
		j.err = fmt.Errorf("%s: %w", j.in, j.err)
	}
}

// run does one batch's forward pass on the GPU goroutine and fills
// b.results. A failed pass of several inputs is retried input by input, so
// one bad input fails alone; a cancelled context is fatal.
func (st Stages[R]) run(ctx context.Context, b *batch[R], stats *Stats) error {
	b.results = make([]Result[R], len(b.jobs))
	var good []int
	for i, j := range b.jobs {
		b.results[i] = Result[R]{Index: j.index, Input: j.in, Err: j.err}
		if j.err == nil {
			good = append(good, i)
		}
	}
	if len(good) == 0 {
		return nil
	}
	pass := func(idx []int) ([]R, error) {
		t0 := time.Now()
		defer func() { stats.Busy += time.Since(t0); stats.Batches++ }()
		var out []R
		var err error
		if b.kind == KindImage {
			ps := make([]*preprocess.Patches, len(idx))
			for k, i := range idx {
				ps[k] = b.jobs[i].patches
			}
			out, err = st.Images(ctx, ps)
		} else {
			ids := make([][]int, len(idx))
			for k, i := range idx {
				ids[k] = b.jobs[i].ids
			}
			out, err = st.Texts(ctx, ids)
		}
		if err == nil && len(out) != len(idx) {
			return nil, fmt.Errorf("pipeline: the model returned %d results for a batch of %d", len(out), len(idx))
		}
		return out, err
	}
	out, err := pass(good)
	if err == nil {
		for k, i := range good {
			b.results[i].Value = out[k]
		}
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if len(good) == 1 {
		b.results[good[0]].Err = fmt.Errorf("%s: %w", b.jobs[good[0]].in, err)
		return nil
	}
	for _, i := range good {
		one, err := pass([]int{i})
		switch {
		case err == nil:
			b.results[i].Value = one[0]
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			b.results[i].Err = fmt.Errorf("%s: %w", b.jobs[i].in, err)
		}
	}
	return nil
}
