package memjobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/chat"
	"github.com/lcgo/lcgo/shared/chat/jobstest"
	"github.com/lcgo/lcgo/shared/chat/memjobs"
	"github.com/lcgo/lcgo/shared/librechat"
)

func TestConformance(t *testing.T) {
	jobstest.Run(t, func(t *testing.T) chat.Jobs { return memjobs.New(nil) })
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestRetention(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := memjobs.New(c)
	for _, id := range []string{"err", "done", "running", "replaced"} {
		if err := s.Create(ctx, chat.JobInfo{ID: id, UserID: "u", CreatedAt: c.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.End(ctx, "err", chat.StatusError, chat.Frame{Event: "error", Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.End(ctx, "replaced", chat.StatusComplete); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, chat.JobInfo{ID: "replaced", UserID: "u", CreatedAt: c.Now()}); err != nil {
		t.Fatal(err)
	}
	c.advance(30 * time.Second)
	if err := s.End(ctx, "done", chat.StatusComplete); err != nil {
		t.Fatal(err)
	}

	c.advance(29 * time.Second)
	for _, id := range []string{"err", "done", "running", "replaced"} {
		if _, err := s.Info(ctx, id); err != nil {
			t.Fatalf("%s before its retention: %v", id, err)
		}
	}
	c.advance(time.Second) // "err" ended 60 s ago
	if _, err := s.Info(ctx, "err"); !librechat.IsNotFound(err) {
		t.Fatalf("errored job after 60 s: %v, want not found", err)
	}
	if _, err := s.Info(ctx, "done"); err != nil {
		t.Fatalf("done 30 s after it ended: %v", err)
	}
	c.advance(30 * time.Second)
	if _, err := s.Info(ctx, "done"); !librechat.IsNotFound(err) {
		t.Fatalf("done job after 60 s: %v, want not found", err)
	}
	c.advance(time.Hour)
	for _, id := range []string{"running", "replaced"} {
		info, err := s.Info(ctx, id)
		if err != nil || info.Status != chat.StatusRunning {
			t.Fatalf("running job %s: %+v, %v", id, info, err)
		}
	}
	ids, err := s.Active(ctx, "u")
	if err != nil || len(ids) != 2 {
		t.Fatalf("Active = %v, %v", ids, err)
	}
}

// A reader that started before a job was pruned still gets all its frames.
func TestPrunedWhileReading(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(0, 0)}
	s := memjobs.New(c)
	if err := s.Create(ctx, chat.JobInfo{ID: "j", UserID: "u"}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := s.Append(ctx, "j", chat.Frame{Event: "message", Data: []byte(`1`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.End(ctx, "j", chat.StatusError); err != nil {
		t.Fatal(err)
	}
	n := 0
	err := s.Read(ctx, "j", 0, func(i int, f chat.Frame) error {
		if i == 0 {
			c.advance(2 * memjobs.Retention)
			if _, err := s.Info(ctx, "j"); !librechat.IsNotFound(err) {
				t.Errorf("Info after retention: %v", err)
			}
		}
		n++
		return nil
	})
	if err != nil || n != 3 {
		t.Fatalf("Read = %v after %d frames, want 3", err, n)
	}
}
