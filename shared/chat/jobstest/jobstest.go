// Package jobstest is the conformance suite of chat.Jobs: every
// implementation runs it unchanged.
//
//	func TestJobs(t *testing.T) {
//		jobstest.Run(t, func(t *testing.T) chat.Jobs { return memjobs.New(nil) })
//	}
//
// Implementations whose instances share state (several processes on one
// Redis) also run RunShared, which writes through one instance and reads
// through the other.
//
// The suite orders events with channels: a reader is known to be waiting
// once it has received a frame. The one short sleep only gives a reader time
// to block; no result depends on it. Each test fails rather than hangs when
// an expected event does not come within Timeout.
package jobstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/chat"
	"github.com/lcgo/lcgo/shared/librechat"
)

// Timeout bounds every wait of the suite.
var Timeout = 20 * time.Second

// Run runs the suite against fresh stores made by open.
func Run(t *testing.T, open func(t *testing.T) chat.Jobs) {
	t.Helper()
	run(t, func(t *testing.T) (chat.Jobs, chat.Jobs) {
		j := open(t)
		return j, j
	})
}

// RunShared runs the suite against two instances over one shared state:
// jobs are created and written through the first and read, listed and
// removed through the second (and concurrent callers use both).
func RunShared(t *testing.T, open func(t *testing.T) (chat.Jobs, chat.Jobs)) {
	t.Helper()
	run(t, open)
}

type suiteTest struct {
	name string
	fn   func(t *testing.T, w, r chat.Jobs)
}

func run(t *testing.T, open func(t *testing.T) (chat.Jobs, chat.Jobs)) {
	tests := []suiteTest{
		{"CreateThenInfo", testCreateThenInfo},
		{"CreateInvalid", testCreateInvalid},
		{"CreateConflictWhileRunning", testCreateConflict},
		{"CreateReplacesEnded", testCreateReplacesEnded},
		{"ClaimOnce", testClaimOnce},
		{"ClaimEndedOrUnknown", testClaimEndedOrUnknown},
		{"Touch", testTouch},
		{"AppendEndOrder", testAppendEndOrder},
		{"AfterEnd", testAfterEnd},
		{"EndInvalidStatus", testEndInvalidStatus},
		{"EndConcurrent", testEndConcurrent},
		{"ReadReplay", testReadReplay},
		{"ReadFromMiddle", testReadFromMiddle},
		{"ReadPastEnd", testReadPastEnd},
		{"ReadLive", testReadLive},
		{"ReadConcurrent", testReadConcurrent},
		{"ReadNotFound", testReadNotFound},
		{"ReadCancel", testReadCancel},
		{"ReadFnError", testReadFnError},
		{"Len", testLen},
		{"LenThenFollow", testLenThenFollow},
		{"Active", testActive},
		{"RemoveEnded", testRemoveEnded},
		{"RemoveWithWaitingReader", testRemoveWaitingReader},
		{"RemoveRunning", testRemoveRunning},
		{"DataBytes", testDataBytes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, r := open(t)
			tc.fn(t, w, r)
		})
	}
}

// --- helpers ---

func newID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	t.Cleanup(cancel)
	return ctx
}

func frame(n int) chat.Frame {
	return chat.Frame{Event: "message", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n))}
}

func frames(from, to int) []chat.Frame {
	var fs []chat.Frame
	for n := from; n < to; n++ {
		fs = append(fs, frame(n))
	}
	return fs
}

func create(t *testing.T, ctx context.Context, j chat.Jobs, id, user string) {
	t.Helper()
	err := j.Create(ctx, chat.JobInfo{ID: id, UserID: user, CreatedAt: time.Now(), Request: json.RawMessage(`{"text":"hi"}`)})
	if err != nil {
		t.Fatalf("Create(%s): %v", id, err)
	}
}

func appendAll(t *testing.T, ctx context.Context, j chat.Jobs, id string, fs []chat.Frame) {
	t.Helper()
	for _, f := range fs {
		if err := j.Append(ctx, id, f); err != nil {
			t.Fatalf("Append(%s, %s): %v", id, f.Data, err)
		}
	}
}

func end(t *testing.T, ctx context.Context, j chat.Jobs, id, status string, fs ...chat.Frame) {
	t.Helper()
	if err := j.End(ctx, id, status, fs...); err != nil {
		t.Fatalf("End(%s, %s): %v", id, status, err)
	}
}

func wantKind(t *testing.T, what string, err error, kind librechat.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error, want a %s error", what, kind)
	}
	if got := librechat.KindOf(err); got != kind {
		t.Fatalf("%s: got %v (kind %s), want kind %s", what, err, got, kind)
	}
}

func wantEnded(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, chat.ErrJobEnded) {
		t.Fatalf("%s: got %v, want chat.ErrJobEnded", what, err)
	}
}

type rec struct {
	i int
	f chat.Frame
}

type readResult struct {
	recs []rec
	err  error
}

// startRead reads in a goroutine. Every frame is also sent to each, if it
// is not nil (its buffer must be large enough).
func startRead(ctx context.Context, j chat.Jobs, id string, from int, each chan<- rec) <-chan readResult {
	out := make(chan readResult, 1)
	go func() {
		var res readResult
		res.err = j.Read(ctx, id, from, func(i int, f chat.Frame) error {
			x := rec{i: i, f: chat.Frame{Event: f.Event, Data: bytes.Clone(f.Data)}}
			res.recs = append(res.recs, x)
			if each != nil {
				each <- x
			}
			return nil
		})
		out <- res
	}()
	return out
}

func result(t *testing.T, ch <-chan readResult) readResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(Timeout):
		t.Fatalf("Read did not return within %s", Timeout)
		return readResult{}
	}
}

func next(t *testing.T, ch <-chan rec) rec {
	t.Helper()
	select {
	case x := <-ch:
		return x
	case <-time.After(Timeout):
		t.Fatalf("no frame within %s", Timeout)
		return rec{}
	}
}

func readAll(t *testing.T, ctx context.Context, j chat.Jobs, id string, from int) []rec {
	t.Helper()
	r := result(t, startRead(ctx, j, id, from, nil))
	if r.err != nil {
		t.Fatalf("Read(%s, %d): %v", id, from, r.err)
	}
	return r.recs
}

func sameFrame(a, b chat.Frame) bool {
	return a.Event == b.Event && bytes.Equal(a.Data, b.Data)
}

func checkRecs(t *testing.T, what string, got []rec, from int, want []chat.Frame) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d frames %s, want %d %s", what, len(got), showRecs(got), len(want), showFrames(want))
	}
	for k, x := range got {
		if x.i != from+k {
			t.Fatalf("%s: frame %d has index %d, want %d (%s)", what, k, x.i, from+k, showRecs(got))
		}
		if !sameFrame(x.f, want[k]) {
			t.Fatalf("%s: frame %d is %q %q, want %q %q", what, x.i, x.f.Event, x.f.Data, want[k].Event, want[k].Data)
		}
	}
}

func showRecs(rs []rec) string {
	var b strings.Builder
	for _, x := range rs {
		fmt.Fprintf(&b, "[%d %s %s]", x.i, x.f.Event, truncate(x.f.Data))
	}
	return b.String()
}

func showFrames(fs []chat.Frame) string {
	var b strings.Builder
	for i, f := range fs {
		fmt.Fprintf(&b, "[%d %s %s]", i, f.Event, truncate(f.Data))
	}
	return b.String()
}

func truncate(d []byte) string {
	if len(d) > 40 {
		return string(d[:40]) + "..."
	}
	return string(d)
}

// --- tests ---

func testCreateThenInfo(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	id, user := newID("job"), newID("user")
	created := time.Date(2025, 3, 4, 5, 6, 7, 890123000, time.UTC)
	req := json.RawMessage(`{"text": "hello",  "endpoint":"openAI"}`)
	if err := w.Create(ctx, chat.JobInfo{ID: id, UserID: user, Status: "bogus", CreatedAt: created, Request: req}); err != nil {
		t.Fatal(err)
	}
	info, err := r.Info(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != id || info.UserID != user || info.Status != chat.StatusRunning {
		t.Fatalf("Info = %+v, want id %s user %s status running", info, id, user)
	}
	if !info.CreatedAt.Equal(created) {
		t.Fatalf("CreatedAt = %v, want %v", info.CreatedAt, created)
	}
	if !bytes.Equal(info.Request, req) {
		t.Fatalf("Request = %s, want %s", info.Request, req)
	}
	info.Request[2] = 'X'
	again, err := r.Info(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Request, req) {
		t.Fatalf("changing the returned Request changed the job: %s", again.Request)
	}
	_, err = r.Info(ctx, newID("nosuch"))
	wantKind(t, "Info(unknown)", err, librechat.KindNotFound)
}

func testCreateInvalid(t *testing.T, w, _ chat.Jobs) {
	ctx := testCtx(t)
	err := w.Create(ctx, chat.JobInfo{UserID: newID("user"), CreatedAt: time.Now()})
	wantKind(t, "Create(empty id)", err, librechat.KindInvalid)
}

func testCreateConflict(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	id, user := newID("job"), newID("user")
	create(t, ctx, w, id, user)
	err := r.Create(ctx, chat.JobInfo{ID: id, UserID: newID("other"), CreatedAt: time.Now()})
	wantKind(t, "second Create", err, librechat.KindConflict)
	info, err := r.Info(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if info.UserID != user || info.Status != chat.StatusRunning {
		t.Fatalf("after a conflict, Info = %+v, want the first job", info)
	}
}

func testCreateReplacesEnded(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	id, user := newID("job"), newID("user")
	create(t, ctx, w, id, user)
	if ok, err := w.Claim(ctx, id); err != nil || !ok {
		t.Fatalf("Claim = %v, %v", ok, err)
	}
	appendAll(t, ctx, w, id, frames(0, 3))
	end(t, ctx, w, id, chat.StatusComplete, frame(3))

	other := newID("user")
	req := json.RawMessage(`{"text":"second"}`)
	if err := r.Create(ctx, chat.JobInfo{ID: id, UserID: other, CreatedAt: time.Now(), Request: req}); err != nil {
		t.Fatalf("Create over an ended job: %v", err)
	}
	info, err := w.Info(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if info.UserID != other || info.Status != chat.StatusRunning || !bytes.Equal(info.Request, req) {
		t.Fatalf("Info of the new job = %+v", info)
	}
	if ok, err := w.Claim(ctx, id); err != nil || !ok {
		t.Fatalf("Claim of the new job = %v, %v, want true", ok, err)
	}
	want := []chat.Frame{{Event: "message", Data: json.RawMessage(`{"second":0}`)}, {Event: "message", Data: json.RawMessage(`{"second":1}`)}}
	appendAll(t, ctx, w, id, want[:1])
	end(t, ctx, w, id, chat.StatusAborted, want[1])
	checkRecs(t, "frames of the new job", readAll(t, ctx, r, id, 0), 0, want)
}

func testClaimOnce(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	id := newID("job")
	create(t, ctx, w, id, newID("user"))
	const n = 16
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		mu    sync.Mutex
		won   int
		errs  []error
	)
	for k := range n {
		j := w
		if k%2 == 1 {
			j = r
		}
		wg.Go(func() {
			<-start
			ok, err := j.Claim(ctx, id)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				won++
			}
		})
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("Claim errors: %v", errs)
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent Claims won, want exactly 1", won, n)
	}
	if ok, err := r.Claim(ctx, id); err != nil || ok {
		t.Fatalf("a later Claim = %v, %v, want false", ok, err)
	}
}

func testClaimEndedOrUnknown(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	_, err := r.Claim(ctx, newID("nosuch"))
	wantKind(t, "Claim(unknown)", err, librechat.KindNotFound)

	id := newID("job")
	create(t, ctx, w, id, newID("user"))
	end(t, ctx, w, id, chat.StatusAborted)
	if ok, err := r.Claim(ctx, id); err != nil || ok {
		t.Fatalf("Claim of an ended job = %v, %v, want false", ok, err)
	}
}

func testAppendEndOrder(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	id := newID("job")
	create(t, ctx, w, id, newID("user"))
	appendAll(t, ctx, w, id, frames(0, 5))
	final := []chat.Frame{frame(5), {Event: "message", Data: json.RawMessage(`{"final":true}`)}}
	end(t, ctx, w, id, chat.StatusComplete, final...)
	info, err := r.Info(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != chat.StatusComplete {
		t.Fatalf("status = %q, want complete", info.Status)
	}
	checkRecs(t, "Read", readAll(t, ctx, r, id, 0), 0, append(frames(0, 5), final...))
}

func testTouch(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	id := newID("job")
	create(t, ctx, w, id, newID("user"))
	info, err := r.Info(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Beat.IsZero() {
		t.Fatalf("Beat of a new job = %v, want zero", info.Beat)
	}
	first := time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.UTC)
	for _, at := range []time.Time{first, first.Add(1500 * time.Millisecond)} {
		if err := w.Touch(ctx, id, at); err != nil {
			t.Fatalf("Touch: %v", err)
		}
		info, err := r.Info(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !info.Beat.Equal(at) || info.Status != chat.StatusRunning {
			t.Fatalf("after Touch(%v): Beat %v, status %q", at, info.Beat, info.Status)
		}
	}
	appendAll(t, ctx, w, id, frames(0, 2))
	end(t, ctx, r, id, chat.StatusAborted, frame(2))
	wantEnded(t, "Touch after End", w.Touch(ctx, id, first.Add(time.Hour)))
	info, err = r.Info(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != chat.StatusAborted || !info.Beat.Equal(first.Add(1500*time.Millisecond)) {
		t.Fatalf("a Touch after End changed the job: %+v", info)
	}
	checkRecs(t, "frames after Touch", readAll(t, ctx, r, id, 0), 0, frames(0, 3))
	wantEnded(t, "Touch(unknown)", w.Touch(ctx, newID("nosuch"), first))

	// A new job under the same id starts without a beat.
	create(t, ctx, r, id, newID("user"))
	if info, err := w.Info(ctx, id); err != nil || !info.Beat.IsZero() {
		t.Fatalf("Info of the replacing job = %+v, %v; want no beat", info, err)
	}
}

func testAfterEnd(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	id := newID("job")
	create(t, ctx, w, id, newID("user"))
	appendAll(t, ctx, w, id, frames(0, 2))
	end(t, ctx, w, id, chat.StatusError, chat.Frame{Event: "error", Data: json.RawMessage(`{"text":"boom"}`)})

	wantEnded(t, "Append after End", w.Append(ctx, id, frame(9)))
	wantEnded(t, "Append after End (other instance)", r.Append(ctx, id, frame(9)))
	wantEnded(t, "End after End", w.End(ctx, id, chat.StatusComplete, frame(10)))
	wantEnded(t, "End after End, no frames", r.End(ctx, id, chat.StatusAborted))
	info, err := r.Info(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != chat.StatusError {
		t.Fatalf("status = %q, want the first End's %q", info.Status, chat.StatusError)
	}
	want := append(frames(0, 2), chat.Frame{Event: "error", Data: json.RawMessage(`{"text":"boom"}`)})
	checkRecs(t, "Read", readAll(t, ctx, r, id, 0), 0, want)

	wantEnded(t, "Append(unknown)", w.Append(ctx, newID("nosuch"), frame(0)))
	wantEnded(t, "End(unknown)", w.End(ctx, newID("nosuch"), chat.StatusComplete))
}

func testEndInvalidStatus(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	id := newID("job")
	create(t, ctx, w, id, newID("user"))
	for _, st := range []string{chat.StatusRunning, "", "done"} {
		wantKind(t, fmt.Sprintf("End(%q)", st), w.End(ctx, id, st, frame(0)), librechat.KindInvalid)
	}
	info, err := r.Info(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != chat.StatusRunning {
		t.Fatalf("status = %q after invalid Ends, want running", info.Status)
	}
	appendAll(t, ctx, w, id, frames(0, 1))
	end(t, ctx, w, id, chat.StatusComplete)
	checkRecs(t, "Read", readAll(t, ctx, r, id, 0), 0, frames(0, 1))
}

func testEndConcurrent(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	id := newID("job")
	create(t, ctx, w, id, newID("user"))
	pre := frames(0, 2)
	appendAll(t, ctx, w, id, pre)

	statuses := []string{chat.StatusComplete, chat.StatusError, chat.StatusAborted}
	finals := func(k int) []chat.Frame {
		var fs []chat.Frame
		for m := range 3 {
			fs = append(fs, chat.Frame{Event: "message", Data: json.RawMessage(fmt.Sprintf(`{"ender":%d,"m":%d}`, k, m))})
		}
		return fs
	}

	// A reader waiting when End runs gets the winner's frames.
	each := make(chan rec, 16)
	waiting := startRead(ctx, r, id, 0, each)
	next(t, each)
	next(t, each)

	// An observer that sees the job ended must also see all of the
	// winner's frames: End's frames and status change are one step.
	observed := make(chan []rec, 1)
	observeErr := make(chan error, 1)
	go func() {
		for {
			info, err := r.Info(ctx, id)
			if err != nil {
				observeErr <- err
				return
			}
			if info.Status != chat.StatusRunning {
				break
			}
		}
		var got []rec
		err := r.Read(ctx, id, 0, func(i int, f chat.Frame) error {
			got = append(got, rec{i, f})
			return nil
		})
		if err != nil {
			observeErr <- err
			return
		}
		observed <- got
	}()

	const n = 8
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		mu     sync.Mutex
		winner = -1
		wins   int
		bad    []error
	)
	for k := range n {
		j := w
		if k%2 == 1 {
			j = r
		}
		wg.Go(func() {
			<-start
			err := j.End(ctx, id, statuses[k%len(statuses)], finals(k)...)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
				winner = k
			case !errors.Is(err, chat.ErrJobEnded):
				bad = append(bad, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("losing Ends must fail with ErrJobEnded, got %v", bad)
	}
	if wins != 1 {
		t.Fatalf("%d of %d concurrent Ends succeeded, want exactly 1", wins, n)
	}
	info, err := r.Info(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if want := statuses[winner%len(statuses)]; info.Status != want {
		t.Fatalf("status = %q, want the winner's %q", info.Status, want)
	}
	want := append(slices.Clone(pre), finals(winner)...)
	checkRecs(t, "Read", readAll(t, ctx, w, id, 0), 0, want)
	res := result(t, waiting)
	if res.err != nil {
		t.Fatalf("waiting reader: %v", res.err)
	}
	checkRecs(t, "waiting reader", res.recs, 0, want)
	select {
	case got := <-observed:
		checkRecs(t, "Read by an observer of the status change", got, 0, want)
	case err := <-observeErr:
		t.Fatalf("observer: %v", err)
	case <-time.After(Timeout):
		t.Fatal("observer did not finish")
	}
}

func testReadReplay(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	id := newID("job")
	create(t, ctx, w, id, newID("user"))
	all := frames(0, 40)
	appendAll(t, ctx, w, id, all[:38])
	end(t, ctx, w, id, chat.StatusComplete, all[38:]...)
	checkRecs(t, "first replay", readAll(t, ctx, r, id, 0), 0, all)
	checkRecs(t, "second replay", readAll(t, ctx, w, id, 0), 0, all)
}

func testReadFromMiddle(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	id := newID("job")
	create(t, ctx, w, id, newID("user"))
	all := frames(0, 10)
	appendAll(t, ctx, w, id, all[:2])

	// A reader asking for frame 3 while only 0 and 1 exist waits for it.
	each := make(chan rec, len(all))
	early := startRead(ctx, r, id, 3, each)
	appendAll(t, ctx, w, id, all[2:6])
	if x := next(t, each); x.i != 3 || !sameFrame(x.f, all[3]) {
		t.Fatalf("first frame from 3 = %d %s", x.i, x.f.Data)
	}
	appendAll(t, ctx, w, id, all[6:9])
	end(t, ctx, w, id, chat.StatusComplete, all[9])
	res := result(t, early)
	if res.err != nil {
		t.Fatal(res.err)
	}
	checkRecs(t, "early Read from 3", res.recs, 3, all[3:])

	checkRecs(t, "Read from 5", readAll(t, ctx, r, id, 5), 5, all[5:])
	checkRecs(t, "Read from 9", readAll(t, ctx, r, id, 9), 9, all[9:])
}

func testReadPastEnd(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	id := newID("job")
	create(t, ctx, w, id, newID("user"))
	appendAll(t, ctx, w, id, frames(0, 3))
	end(t, ctx, w, id, chat.StatusComplete)
	checkRecs(t, "Read from the end", readAll(t, ctx, r, id, 3), 3, nil)
	checkRecs(t, "Read past the end", readAll(t, ctx, r, id, 7), 7, nil)
	err := r.Read(ctx, id, -1, func(int, chat.Frame) error { return nil })
	wantKind(t, "Read(from -1)", err, librechat.KindInvalid)
}

func testReadLive(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	id := newID("job")
	create(t, ctx, w, id, newID("user"))
	all := frames(0, 30)
	each := make(chan rec, len(all))
	res := startRead(ctx, r, id, 0, each)
	// Give the reader a moment to block before the first frame; the test
	// does not depend on it.
	time.Sleep(10 * time.Millisecond)

	// In lockstep: each frame must reach the waiting reader before the
	// next is appended, so frames are delivered live, not at the end.
	for k := range 10 {
		appendAll(t, ctx, w, id, all[k:k+1])
		if x := next(t, each); x.i != k || !sameFrame(x.f, all[k]) {
			t.Fatalf("live frame = %d %s, want %d %s", x.i, x.f.Data, k, all[k].Data)
		}
	}
	// Then a burst.
	appendAll(t, ctx, w, id, all[10:28])
	end(t, ctx, w, id, chat.StatusComplete, all[28:]...)
	got := result(t, res)
	if got.err != nil {
		t.Fatalf("Read: %v", got.err)
	}
	checkRecs(t, "live Read", got.recs, 0, all)
}

func testReadConcurrent(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	id := newID("job")
	create(t, ctx, w, id, newID("user"))
	all := frames(0, 60)
	appendAll(t, ctx, w, id, all[:5])
	const n = 8
	var results []<-chan readResult
	for k := range n {
		j := r
		if k%2 == 1 {
			j = w
		}
		results = append(results, startRead(ctx, j, id, 0, nil))
	}
	for k := 5; k < 55; k++ {
		appendAll(t, ctx, w, id, all[k:k+1])
	}
	end(t, ctx, w, id, chat.StatusComplete, all[55:]...)
	for k, ch := range results {
		got := result(t, ch)
		if got.err != nil {
			t.Fatalf("reader %d: %v", k, got.err)
		}
		checkRecs(t, fmt.Sprintf("reader %d", k), got.recs, 0, all)
	}
}

func testReadNotFound(t *testing.T, _, r chat.Jobs) {
	ctx := testCtx(t)
	called := false
	err := r.Read(ctx, newID("nosuch"), 0, func(int, chat.Frame) error {
		called = true
		return nil
	})
	wantKind(t, "Read(unknown)", err, librechat.KindNotFound)
	if called {
		t.Fatal("Read of an unknown job called fn")
	}
}

func testReadCancel(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	id := newID("job")
	create(t, ctx, w, id, newID("user"))

	rctx, cancel := context.WithCancel(ctx)
	each := make(chan rec, 4)
	res := startRead(rctx, r, id, 0, each)
	appendAll(t, ctx, w, id, frames(0, 1))
	next(t, each) // the reader is now waiting for frame 1
	cancel()
	got := result(t, res)
	if !errors.Is(got.err, context.Canceled) {
		t.Fatalf("Read after cancel = %v, want context.Canceled", got.err)
	}

	// A context that is already done: Read returns without waiting.
	done, cancel2 := context.WithCancel(ctx)
	cancel2()
	got = result(t, startRead(done, r, id, 1, nil))
	if !errors.Is(got.err, context.Canceled) {
		t.Fatalf("Read with a done context = %v, want context.Canceled", got.err)
	}

	// The job is unaffected.
	appendAll(t, ctx, w, id, frames(1, 2))
	end(t, ctx, w, id, chat.StatusComplete)
	checkRecs(t, "Read", readAll(t, ctx, r, id, 0), 0, frames(0, 2))
}

func testReadFnError(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	id := newID("job")
	create(t, ctx, w, id, newID("user"))
	appendAll(t, ctx, w, id, frames(0, 5))
	stop := errors.New("client went away")
	calls := 0
	err := r.Read(ctx, id, 0, func(i int, f chat.Frame) error {
		calls++
		if i == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("Read = %v, want fn's error", err)
	}
	if calls != 3 {
		t.Fatalf("fn called %d times, want 3", calls)
	}
}

func wantLen(t *testing.T, ctx context.Context, j chat.Jobs, id string, want int) {
	t.Helper()
	n, err := j.Len(ctx, id)
	if err != nil {
		t.Fatalf("Len(%s): %v", id, err)
	}
	if n != want {
		t.Fatalf("Len(%s) = %d, want %d", id, n, want)
	}
}

func testLen(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	_, err := r.Len(ctx, newID("nosuch"))
	wantKind(t, "Len(unknown)", err, librechat.KindNotFound)

	id := newID("job")
	create(t, ctx, w, id, newID("user"))
	wantLen(t, ctx, r, id, 0)
	appendAll(t, ctx, w, id, frames(0, 3))
	wantLen(t, ctx, r, id, 3)
	end(t, ctx, w, id, chat.StatusComplete, frames(3, 5)...)
	wantLen(t, ctx, r, id, 5)
	wantLen(t, ctx, w, id, 5)
	if err := r.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	_, err = r.Len(ctx, id)
	wantKind(t, "Len after Remove", err, librechat.KindNotFound)

	create(t, ctx, w, id, newID("user"))
	wantLen(t, ctx, r, id, 0)
}

// A resuming reader folds frames [0, Len) into a snapshot while the job
// keeps going, then reads live from Len: together it sees every frame once.
func testLenThenFollow(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	id := newID("job")
	create(t, ctx, w, id, newID("user"))
	all := frames(0, 40)

	appended := make(chan error, 1)
	appendAll(t, ctx, w, id, all[:10])
	go func() {
		for k := 10; k < 39; k++ {
			if err := w.Append(ctx, id, all[k]); err != nil {
				appended <- err
				return
			}
		}
		appended <- w.End(ctx, id, chat.StatusComplete, all[39])
	}()

	n, err := r.Len(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 || n > len(all) {
		t.Fatalf("Len = %d, want 10..%d", n, len(all))
	}
	var snapshot []rec
	err = r.Read(ctx, id, 0, func(i int, f chat.Frame) error {
		if i >= n {
			return errStop
		}
		snapshot = append(snapshot, rec{i, f})
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	live := readAll(t, ctx, r, id, n)
	if err := <-appended; err != nil {
		t.Fatalf("writer: %v", err)
	}
	checkRecs(t, "snapshot", snapshot, 0, all[:n])
	checkRecs(t, "live", live, n, all[n:])
}

var errStop = errors.New("stop")

func testActive(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	alice, bob := newID("alice"), newID("bob")
	a1, a2, a3, b1 := newID("a1"), newID("a2"), newID("a3"), newID("b1")
	create(t, ctx, w, a1, alice)
	create(t, ctx, w, a2, alice)
	create(t, ctx, w, a3, alice)
	create(t, ctx, w, b1, bob)
	end(t, ctx, w, a2, chat.StatusComplete)
	if err := r.Remove(ctx, a3); err != nil {
		t.Fatal(err)
	}
	check := func(user string, want ...string) {
		t.Helper()
		got, err := r.Active(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		got = slices.Clone(got)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("Active(%s) = %v, want %v", user, got, want)
		}
	}
	check(alice, a1)
	check(bob, b1)
	check(newID("nobody"))

	// An ended job taken over by another user leaves the first user's list.
	end(t, ctx, w, a1, chat.StatusComplete)
	create(t, ctx, w, a1, bob)
	check(alice)
	check(bob, a1, b1)
}

func testRemoveEnded(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	id, user := newID("job"), newID("user")
	create(t, ctx, w, id, user)
	appendAll(t, ctx, w, id, frames(0, 3))
	end(t, ctx, w, id, chat.StatusComplete)
	if err := r.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	_, err := r.Info(ctx, id)
	wantKind(t, "Info after Remove", err, librechat.KindNotFound)
	_, err = w.Info(ctx, id)
	wantKind(t, "Info after Remove (other instance)", err, librechat.KindNotFound)
	err = r.Read(ctx, id, 0, func(int, chat.Frame) error { return nil })
	wantKind(t, "Read after Remove", err, librechat.KindNotFound)
	_, err = r.Claim(ctx, id)
	wantKind(t, "Claim after Remove", err, librechat.KindNotFound)
	if err := r.Remove(ctx, id); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
	if err := r.Remove(ctx, newID("nosuch")); err != nil {
		t.Fatalf("Remove(unknown): %v", err)
	}

	// The id can be used again, with no frames of the old job.
	create(t, ctx, w, id, user)
	appendAll(t, ctx, w, id, frames(100, 101))
	end(t, ctx, w, id, chat.StatusComplete)
	checkRecs(t, "Read of the new job", readAll(t, ctx, r, id, 0), 0, frames(100, 101))
}

func testRemoveWaitingReader(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	id := newID("job")
	create(t, ctx, w, id, newID("user"))
	all := frames(0, 6)
	appendAll(t, ctx, w, id, all[:2])
	each := make(chan rec, len(all))
	res := startRead(ctx, r, id, 0, each)
	next(t, each)
	next(t, each) // the reader is now waiting for frame 2
	appendAll(t, ctx, w, id, all[2:4])
	end(t, ctx, w, id, chat.StatusComplete, all[4:]...)
	if err := w.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	_, err := r.Info(ctx, id)
	wantKind(t, "Info after Remove", err, librechat.KindNotFound)
	got := result(t, res)
	if got.err != nil {
		t.Fatalf("waiting Read after Remove: %v", got.err)
	}
	checkRecs(t, "waiting Read", got.recs, 0, all)
}

func testRemoveRunning(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	id, user := newID("job"), newID("user")
	create(t, ctx, w, id, user)
	appendAll(t, ctx, w, id, frames(0, 2))
	each := make(chan rec, 4)
	res := startRead(ctx, r, id, 0, each)
	next(t, each)
	next(t, each)
	if err := r.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	got := result(t, res)
	if got.err != nil {
		t.Fatalf("waiting Read after removing a running job: %v", got.err)
	}
	checkRecs(t, "waiting Read", got.recs, 0, frames(0, 2))
	wantEnded(t, "Append after Remove", w.Append(ctx, id, frame(2)))
	wantEnded(t, "End after Remove", w.End(ctx, id, chat.StatusComplete))
	_, err := w.Info(ctx, id)
	wantKind(t, "Info after Remove", err, librechat.KindNotFound)
	ids, err := r.Active(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 0 {
		t.Fatalf("Active after Remove = %v, want none", ids)
	}
}

func testDataBytes(t *testing.T, w, r chat.Jobs) {
	ctx := testCtx(t)
	id := newID("job")
	create(t, ctx, w, id, newID("user"))
	big := `{"text":"` + strings.Repeat("abcdefghij", 20_000) + `"}`
	fs := []chat.Frame{
		{Event: "message", Data: json.RawMessage(`{"created":true,"message":{"text":"héllo 🌍 \u00e9\u0000"}}`)},
		{Event: "message", Data: json.RawMessage("{ \"spaced\" :\t[1, 2,  3] ,\"esc\":\"\\\"\\\\\\/\\n\\r\\t\" }")},
		{Event: "message", Data: json.RawMessage(`"\ud83d\ude00"`)},
		{Event: "message", Data: json.RawMessage(big)},
		{Event: "message", Data: json.RawMessage(`0`)},
		{Event: "error", Data: json.RawMessage(`{"message":"Illegal request"}`)},
		{Event: "message", Data: json.RawMessage(`{"crlf":"a\r\nb","nul":"\u0000","bom":"` + "\ufeff" + `"}`)},
	}
	// The store keeps its own copy of what Append was given.
	buf := []byte(`{"mutable":1}`)
	if err := w.Append(ctx, id, chat.Frame{Event: "message", Data: buf}); err != nil {
		t.Fatal(err)
	}
	buf[11] = '2'
	want := append([]chat.Frame{{Event: "message", Data: json.RawMessage(`{"mutable":1}`)}}, fs...)
	appendAll(t, ctx, w, id, fs[:4])
	end(t, ctx, w, id, chat.StatusError, fs[4:]...)

	// A reader that changes the bytes it was given changes no one else's.
	err := r.Read(ctx, id, 0, func(_ int, f chat.Frame) error {
		for k := range f.Data {
			f.Data[k] = 'Z'
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkRecs(t, "Read", readAll(t, ctx, r, id, 0), 0, want)
	checkRecs(t, "Read (other instance)", readAll(t, ctx, w, id, 0), 0, want)
}
