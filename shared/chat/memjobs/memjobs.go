// Package memjobs keeps generation jobs in the memory of one process.
//
// Readers wait on a channel that every change closes, so a frame reaches
// them as soon as it is appended. An ended job stays readable until Remove
// or until Retention has passed on the injected clock; ended jobs are pruned
// lazily, on the next call.
package memjobs

import (
	"bytes"
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/lcgo/lcgo/shared/chat"
	"github.com/lcgo/lcgo/shared/librechat"
)

// Retention is how long an ended job stays readable when nobody removes it.
const Retention = time.Minute

// Jobs is the in-memory chat.Jobs. The zero value is not usable; call New.
type Jobs struct {
	clock librechat.Clock

	mu    sync.Mutex
	jobs  map[string]*job
	ended []endedJob // in the order the jobs ended
}

type job struct {
	info    chat.JobInfo
	claimed bool
	frames  []chat.Frame // append-only; elements never change once stored
	ended   bool
	endedAt time.Time
	changed chan struct{} // closed and replaced on every change
}

type endedJob struct {
	id string
	j  *job
}

var _ chat.Jobs = (*Jobs)(nil)

// New returns an empty store. A nil clock means the system clock.
func New(clock librechat.Clock) *Jobs {
	if clock == nil {
		clock = systemClock{}
	}
	return &Jobs{clock: clock, jobs: map[string]*job{}}
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// prune drops ended jobs whose retention has passed. The caller holds mu.
func (s *Jobs) prune() {
	if len(s.ended) == 0 {
		return
	}
	now := s.clock.Now()
	n := 0
	for n < len(s.ended) && !now.Before(s.ended[n].j.endedAt.Add(Retention)) {
		e := s.ended[n]
		if s.jobs[e.id] == e.j {
			delete(s.jobs, e.id)
		}
		s.ended[n] = endedJob{}
		n++
	}
	if n > 0 {
		s.ended = s.ended[n:]
	}
}

// lookup returns the job with the id after pruning. The caller holds mu.
func (s *Jobs) lookup(id string) *job {
	s.prune()
	return s.jobs[id]
}

// finish ends j with status. The caller holds mu and j is running.
func (s *Jobs) finish(id string, j *job, status string) {
	j.ended = true
	j.info.Status = status
	j.endedAt = s.clock.Now()
	s.ended = append(s.ended, endedJob{id: id, j: j})
	close(j.changed)
	j.changed = make(chan struct{})
}

// Create implements chat.Jobs.
func (s *Jobs) Create(_ context.Context, info chat.JobInfo) error {
	if info.ID == "" {
		return librechat.E(librechat.KindInvalid, "job id is required")
	}
	info.Status = chat.StatusRunning
	info.Request = bytes.Clone(info.Request)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.lookup(info.ID); old != nil && !old.ended {
		return librechat.E(librechat.KindConflict, "a generation is already running for this conversation")
	}
	s.jobs[info.ID] = &job{info: info, changed: make(chan struct{})}
	return nil
}

// Info implements chat.Jobs.
func (s *Jobs) Info(_ context.Context, id string) (*chat.JobInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.lookup(id)
	if j == nil {
		return nil, notFound()
	}
	info := j.info
	info.Request = bytes.Clone(info.Request)
	return &info, nil
}

// Claim implements chat.Jobs. A job that ended before anyone claimed it
// is never claimed.
func (s *Jobs) Claim(_ context.Context, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.lookup(id)
	if j == nil {
		return false, notFound()
	}
	if j.ended || j.claimed {
		return false, nil
	}
	j.claimed = true
	return true, nil
}

// Touch implements chat.Jobs.
func (s *Jobs) Touch(_ context.Context, id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.lookup(id)
	if j == nil {
		return gone("memjobs.Touch")
	}
	if j.ended {
		return chat.ErrJobEnded
	}
	j.info.Beat = at
	return nil
}

// Append implements chat.Jobs.
func (s *Jobs) Append(_ context.Context, id string, f chat.Frame) error {
	f.Data = bytes.Clone(f.Data)
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.lookup(id)
	if j == nil {
		return gone("memjobs.Append")
	}
	if j.ended {
		return chat.ErrJobEnded
	}
	j.frames = append(j.frames, f)
	close(j.changed)
	j.changed = make(chan struct{})
	return nil
}

// End implements chat.Jobs.
func (s *Jobs) End(_ context.Context, id, status string, frames ...chat.Frame) error {
	if !endStatus(status) {
		return librechat.E(librechat.KindInvalid, "invalid final job status %q", status)
	}
	own := make([]chat.Frame, len(frames))
	for i, f := range frames {
		own[i] = chat.Frame{Event: f.Event, Data: bytes.Clone(f.Data)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.lookup(id)
	if j == nil {
		return gone("memjobs.End")
	}
	if j.ended {
		return chat.ErrJobEnded
	}
	j.frames = append(j.frames, own...)
	s.finish(id, j, status)
	return nil
}

// Read implements chat.Jobs. fn receives its own copy of each frame.
func (s *Jobs) Read(ctx context.Context, id string, from int, fn func(i int, f chat.Frame) error) error {
	if from < 0 {
		return librechat.E(librechat.KindInvalid, "negative frame index")
	}
	s.mu.Lock()
	j := s.lookup(id)
	s.mu.Unlock()
	if j == nil {
		return notFound()
	}
	next := from
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.mu.Lock()
		var batch []chat.Frame
		if next < len(j.frames) {
			batch = j.frames[next:len(j.frames):len(j.frames)]
		}
		ended, changed := j.ended, j.changed
		s.mu.Unlock()
		for _, f := range batch {
			if err := fn(next, chat.Frame{Event: f.Event, Data: bytes.Clone(f.Data)}); err != nil {
				return err
			}
			next++
		}
		if len(batch) > 0 {
			continue
		}
		if ended {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// Len implements chat.Jobs.
func (s *Jobs) Len(_ context.Context, id string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.lookup(id)
	if j == nil {
		return 0, notFound()
	}
	return len(j.frames), nil
}

// Active implements chat.Jobs. The ids are sorted.
func (s *Jobs) Active(_ context.Context, userID string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune()
	ids := []string{}
	for id, j := range s.jobs {
		if !j.ended && j.info.UserID == userID {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// Remove implements chat.Jobs. A running job is first ended as aborted, so
// that its readers return and its generator's next Append fails with
// chat.ErrJobEnded. Removing an unknown job is not an error.
func (s *Jobs) Remove(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.lookup(id)
	if j == nil {
		return nil
	}
	if !j.ended {
		s.finish(id, j, chat.StatusAborted)
	}
	delete(s.jobs, id)
	return nil
}

var endStatuses = []string{chat.StatusComplete, chat.StatusError, chat.StatusAborted}

func endStatus(s string) bool { return slices.Contains(endStatuses, s) }

func notFound() error {
	return librechat.E(librechat.KindNotFound, "The generation job does not exist or has expired.")
}

// gone is the error of Append and End on a job that does not exist: it is
// both a KindNotFound error and chat.ErrJobEnded.
func gone(op string) error {
	return &librechat.Error{Kind: librechat.KindNotFound, Op: op, Message: "The generation job does not exist or has expired.", Err: chat.ErrJobEnded}
}
