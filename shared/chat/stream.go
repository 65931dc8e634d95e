package chat

import (
	"context"
	"errors"

	"github.com/lcgo/lcgo/shared/librechat"
)

var errNoJob = librechat.E(librechat.KindNotFound, "The generation job does not exist or has expired.")

// owned returns the job when it exists and belongs to the user; a job of
// another user is reported as absent.
func (s *Service) owned(ctx context.Context, userID, id string) (*JobInfo, error) {
	info, err := s.jobs.Info(ctx, id)
	if err != nil {
		if librechat.IsNotFound(err) {
			return nil, errNoJob
		}
		return nil, err
	}
	if info.UserID != userID {
		return nil, errNoJob
	}
	return info, nil
}

// Stream writes the job's frames to write: every frame from the start, or,
// when resume is set, a sync frame with the state so far and then the
// frames after it. It returns when the job has ended and its last frame was
// written, or when ctx ends (the client left: generation goes on). A job
// that does not exist, has ended and was removed, or belongs to another
// user is a KindNotFound error before anything is written.
func (s *Service) Stream(ctx context.Context, userID, id string, resume bool, write func(Frame) error) error {
	info, err := s.owned(ctx, userID, id)
	if err != nil {
		return err
	}
	claimed := false
	if s.opts.Deferred && info.Status == StatusRunning {
		if ok, err := s.jobs.Claim(ctx, id); err == nil && ok {
			claimed = true
			r := make(chan struct{})
			go func() {
				defer close(r)
				s.generate(id)
			}()
			// This invocation is the generation's host: it must not return
			// before the generation ends, whether or not the client stays.
			defer func() { <-r }()
		}
	}
	if !claimed {
		if info, err = s.settle(ctx, info); err != nil {
			return notFound(err)
		}
		if info.Status == StatusRunning && s.localRun(id) == nil {
			defer s.watch(ctx, id)()
		}
	}
	s.enter(id)
	defer s.leave(id)

	from := 0
	st := &State{} // what this reader has been sent, folded
	if resume {
		n, err := s.jobs.Len(ctx, id)
		if err != nil {
			return notFound(err)
		}
		if n > 0 {
			// The state so far, up to the job's last frame if it has
			// ended: that one is sent as it is, after the sync frame.
			stop := errors.New("stop")
			from = n
			err := s.jobs.Read(ctx, id, 0, func(i int, f Frame) error {
				st.Fold(f) // a last frame adds nothing to the sync state
				if st.Final || f.Event == "error" {
					from = i
					return stop
				}
				if i >= n-1 {
					return stop
				}
				return nil
			})
			if err != nil && !errors.Is(err, stop) {
				return notFound(err)
			}
		}
		if err := write(syncFrame(st)); err != nil {
			return err
		}
	}
	err = s.jobs.Read(ctx, id, from, func(_ int, f Frame) error {
		if mark := abortMarkOf(f); mark != nil {
			return write(abortFrame(st, mark.Title))
		}
		st.Fold(f)
		if isMeta(f) {
			return nil
		}
		return write(f)
	})
	if ctx.Err() != nil {
		return nil
	}
	if err == nil {
		// Delivered to its end: like LibreChat, a completed job is gone
		// once seen (a reload reads the stored messages instead). A failed
		// one stays for its retention, for late subscribers; an aborted one
		// is removed by whoever stopped it, once the partial reply is saved.
		if info, ierr := s.jobs.Info(ctx, id); ierr == nil && info.Status == StatusComplete {
			_ = s.jobs.Remove(context.WithoutCancel(ctx), id)
		}
	}
	return notFound(err)
}

// removeIfWatched removes an ended job at once when a reader in this
// process is following it (it still gets every frame). Otherwise the job is
// kept for the job store's retention so that a reader arriving late (the
// client subscribes right after its POST) replays it in full; that reader
// removes it.
func (s *Service) removeIfWatched(id string) {
	s.mu.Lock()
	watched := s.readers[id] > 0
	s.mu.Unlock()
	if watched {
		_ = s.jobs.Remove(context.Background(), id)
	}
}

func notFound(err error) error {
	if librechat.IsNotFound(err) {
		return errNoJob
	}
	return err
}

// enter and leave count this process's readers of a job; when the last one
// leaves a running generation of this process, its partial reply is stored.
func (s *Service) enter(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readers == nil {
		s.readers = map[string]int{}
	}
	s.readers[id]++
}

func (s *Service) leave(id string) {
	s.mu.Lock()
	s.readers[id]--
	last := s.readers[id] <= 0
	if last {
		delete(s.readers, id)
	}
	r := s.runs[id]
	s.mu.Unlock()
	// The reader left before the end (its context ended, or a write to
	// the client failed first): a generation that has not finished keeps
	// what was sent (checkpoint does nothing once it has).
	if last && r != nil {
		r.checkpoint()
	}
}

// StatusAnswer is the body of GET /api/agents/chat/status/:id.
type StatusAnswer struct {
	Active            bool         `json:"active"`
	StreamID          string       `json:"streamId,omitempty"`
	Status            string       `json:"status,omitempty"`
	AggregatedContent []Part       `json:"aggregatedContent,omitempty"`
	CreatedAt         int64        `json:"createdAt,omitempty"`
	ResumeState       *resumeState `json:"resumeState,omitempty"`
}

// Status reports the user's job for a conversation; {active:false} when
// there is none (or it is another user's).
func (s *Service) Status(ctx context.Context, userID, id string) (*StatusAnswer, error) {
	info, err := s.owned(ctx, userID, id)
	if err == nil {
		info, err = s.settle(ctx, info)
	}
	if librechat.IsNotFound(err) {
		return &StatusAnswer{}, nil
	}
	if err != nil {
		return nil, err
	}
	st, err := s.snapshot(ctx, id)
	if librechat.IsNotFound(err) {
		return &StatusAnswer{}, nil
	}
	if err != nil {
		return nil, err
	}
	rs := st.resume()
	return &StatusAnswer{
		Active: info.Status == StatusRunning, StreamID: id, Status: info.Status,
		AggregatedContent: rs.AggregatedContent, CreatedAt: info.CreatedAt.UnixMilli(), ResumeState: &rs,
	}, nil
}

// Active lists the ids of the user's running jobs. Stale ones are ended
// on the way and left out.
func (s *Service) Active(ctx context.Context, userID string) ([]string, error) {
	ids, err := s.live(ctx, userID)
	if ids == nil {
		ids = []string{}
	}
	return ids, err
}

// live is Jobs.Active without the stale jobs, which it ends.
func (s *Service) live(ctx context.Context, userID string) ([]string, error) {
	ids, err := s.jobs.Active(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := ids[:0:0]
	for _, id := range ids {
		info, err := s.jobs.Info(ctx, id)
		if err == nil && info.UserID == userID {
			info, err = s.settle(ctx, info)
		}
		switch {
		case librechat.IsNotFound(err):
			continue
		case err != nil:
			return nil, err
		case info.Status == StatusRunning:
			out = append(out, id)
		}
	}
	return out, nil
}

// Running reports whether the user has a running job for the conversation.
func (s *Service) Running(ctx context.Context, userID, id string) bool {
	info, err := s.owned(ctx, userID, id)
	return err == nil && info.Status == StatusRunning
}
