package chat

import (
	"context"
	"errors"
	"time"
)

// A generation's process can die mid-stream: a Lambda killed or timed out,
// a server that crashed. So that its job does not stay "running" until the
// job store forgets it, the generating process records a beat on the job
// every Options.Heartbeat (Jobs.Touch), and any process that meets a running
// job without a beat for Options.StaleAfter — or, before its first beat, as
// long since it was created — ends it as interrupted:
//
//   - when the reply had begun (the user message is stored once the created
//     frame is out), the job ends like an abort from another process: the
//     reply so far, rebuilt from the frames, is stored marked unfinished,
//     and every reader gets an abort final frame of what it was sent;
//   - otherwise it ends with an error frame.
//
// Readers following a running job check it every heartbeat, so a client
// that resumes after its stream broke gets the final frame soon after the
// job goes stale.

// msgInterrupted is the error of a job whose process stopped before the
// reply began.
const msgInterrupted = "The server generating this response stopped before it began. Please try again."

// stale reports whether the job is running without a live generator. A
// generation running in this process is never stale.
func (s *Service) stale(info *JobInfo) bool {
	if info.Status != StatusRunning || s.localRun(info.ID) != nil {
		return false
	}
	last := info.CreatedAt
	if info.Beat.After(last) {
		last = info.Beat
	}
	return s.clock.Now().Sub(last) > s.opts.StaleAfter
}

// settle ends the job when it is stale, and returns it as it is now
// (KindNotFound when it is gone).
func (s *Service) settle(ctx context.Context, info *JobInfo) (*JobInfo, error) {
	if !s.stale(info) {
		return info, nil
	}
	if err := s.interrupt(ctx, info); err != nil {
		return nil, err
	}
	return s.jobs.Info(ctx, info.ID)
}

// interrupt ends a stale job. Several processes may race to; one End wins
// and the others find the job ended.
func (s *Service) interrupt(ctx context.Context, info *JobInfo) error {
	ctx = context.WithoutCancel(ctx)
	s.log.Warn("chat: the generation's process stopped; ending the job", "job", info.ID, "beat", info.Beat, "created", info.CreatedAt)
	// The reply began once the created frame and the reply's identity
	// (frames 0 and 1) are out.
	st, err := s.fold(ctx, info.ID, 2)
	if err != nil {
		return err
	}
	if st.UserMessage == nil || st.ResponseMessageID == "" {
		err := s.jobs.End(ctx, info.ID, StatusError, errorFrame(msgInterrupted))
		if errors.Is(err, ErrJobEnded) {
			return nil
		}
		return err
	}
	_, err = s.endAborted(ctx, info)
	return err
}

// heartbeat records beats for a generation running in this process until
// ctx ends. A job found ended elsewhere (an abort, or another process that
// took it for stale) stops the generation.
func (s *Service) heartbeat(ctx context.Context, r *run) {
	t := time.NewTicker(s.opts.Heartbeat)
	defer t.Stop()
	for {
		err := s.jobs.Touch(ctx, r.id, s.clock.Now())
		if errors.Is(err, ErrJobEnded) && ctx.Err() == nil {
			r.mu.Lock()
			finished := r.finished
			r.mu.Unlock()
			if !finished {
				r.cancel()
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// watch checks the job every heartbeat while this process reads it, and
// ends it once it is stale; the reader then gets its last frame. It returns
// a function that stops watching.
func (s *Service) watch(ctx context.Context, id string) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(s.opts.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			info, err := s.jobs.Info(ctx, id)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				continue // a passing store error: try again at the next beat
			case info.Status != StatusRunning:
				return
			}
			if s.stale(info) {
				if err := s.interrupt(ctx, info); err != nil {
					s.log.Warn("chat: ending a stale job failed", "job", id, "err", err)
					continue
				}
				return
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
