package redisjobs_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lcgo/lcgo/shared/chat"
	"github.com/lcgo/lcgo/shared/chat/jobstest"
	"github.com/lcgo/lcgo/shared/chat/redisjobs"
	"github.com/lcgo/lcgo/shared/chat/redisjobs/redistest"
	"github.com/lcgo/lcgo/shared/librechat"
)

func client(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func prefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:]) + ":"
}

func TestConformance(t *testing.T) {
	addr := redistest.Start(t)
	jobstest.Run(t, func(t *testing.T) chat.Jobs {
		return redisjobs.New(client(t, addr), redisjobs.Options{Prefix: prefix()})
	})
}

// Two processes: two clients, each with its own store, over one Redis.
func TestConformanceTwoInstances(t *testing.T) {
	addr := redistest.Start(t)
	jobstest.RunShared(t, func(t *testing.T) (chat.Jobs, chat.Jobs) {
		p := prefix()
		return redisjobs.New(client(t, addr), redisjobs.Options{Prefix: p}),
			redisjobs.New(client(t, addr), redisjobs.Options{Prefix: p})
	})
}

// Small batches and short waits exercise paging and the existence check.
func TestConformanceSmallBatches(t *testing.T) {
	addr := redistest.Start(t)
	jobstest.Run(t, func(t *testing.T) chat.Jobs {
		return redisjobs.New(client(t, addr), redisjobs.Options{Prefix: prefix(), Batch: 3, Block: 50 * time.Millisecond})
	})
}

func TestKeysAndTTLs(t *testing.T) {
	ctx := t.Context()
	rdb := client(t, redistest.Start(t))
	s := redisjobs.New(rdb, redisjobs.Options{Prefix: "p:"})
	info, stream, user := "p:job:{c1}", "p:frames:{c1}", "p:user:u1"

	if err := s.Create(ctx, chat.JobInfo{ID: "c1", UserID: "u1", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, "c1", chat.Frame{Event: "message", Data: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	within := func(key string, lo, hi time.Duration) {
		t.Helper()
		d, err := rdb.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if d < lo || d > hi {
			t.Fatalf("TTL of %s = %v, want %v..%v", key, d, lo, hi)
		}
	}
	within(info, 29*time.Minute, 30*time.Minute)
	within(stream, 29*time.Minute, 30*time.Minute)
	within(user, 23*time.Hour, 24*time.Hour)
	if n, _ := rdb.ZCard(ctx, user).Result(); n != 1 {
		t.Fatalf("user index has %d entries, want 1", n)
	}

	if err := s.End(ctx, "c1", chat.StatusError); err != nil {
		t.Fatal(err)
	}
	within(info, 59*time.Second, time.Minute)
	within(stream, 59*time.Second, time.Minute)
	if n, _ := rdb.ZCard(ctx, user).Result(); n != 0 {
		t.Fatalf("user index has %d entries after End, want 0", n)
	}
	msgs, err := rdb.XRange(ctx, stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || !strings.HasSuffix(msgs[0].ID, "-1") || msgs[1].Values["end"] != chat.StatusError {
		t.Fatalf("stream = %+v, want a frame then the end marker", msgs)
	}

	if err := s.Remove(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.Exists(ctx, info).Result(); n != 0 {
		t.Fatal("job hash still there after Remove")
	}
	within(stream, 29*time.Second, 30*time.Second)
}

// A new job with the id of an ended one keeps the previous job's frames for
// its readers and trims any older ones.
func TestReplaceKeepsPreviousGeneration(t *testing.T) {
	ctx := t.Context()
	rdb := client(t, redistest.Start(t))
	s := redisjobs.New(rdb, redisjobs.Options{Prefix: "p:"})
	for round := range 3 {
		if err := s.Create(ctx, chat.JobInfo{ID: "c", UserID: "u"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Append(ctx, "c", chat.Frame{Event: "message", Data: json.RawMessage(`1`)}); err != nil {
			t.Fatal(err)
		}
		if round < 2 {
			if err := s.End(ctx, "c", chat.StatusComplete); err != nil {
				t.Fatal(err)
			}
		}
	}
	msgs, err := rdb.XRange(ctx, "p:frames:{c}", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 {
		t.Fatalf("stream has %d entries, want 3 (previous job's frame and end, the current frame): %+v", len(msgs), msgs)
	}
}

// A reader whose running job expires without an end is told it is gone.
func TestReaderOfExpiredJob(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	rdb := client(t, redistest.Start(t))
	s := redisjobs.New(rdb, redisjobs.Options{Prefix: "p:", Block: 50 * time.Millisecond})
	if err := s.Create(ctx, chat.JobInfo{ID: "c", UserID: "u"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, "c", chat.Frame{Event: "message", Data: json.RawMessage(`1`)}); err != nil {
		t.Fatal(err)
	}
	got := make(chan int, 1)
	done := make(chan error, 1)
	go func() {
		done <- s.Read(ctx, "c", 0, func(i int, _ chat.Frame) error {
			got <- i
			return nil
		})
	}()
	<-got
	if err := rdb.Del(ctx, "p:job:{c}", "p:frames:{c}").Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !librechat.IsNotFound(err) {
			t.Fatalf("Read of an expired job = %v, want not found", err)
		}
	case <-ctx.Done():
		t.Fatal("Read did not notice that its job expired")
	}
}

// A stale index entry (a job that expired while running) is dropped by
// Active, but a newer job under the same id is never dropped.
func TestActiveDropsStaleEntries(t *testing.T) {
	ctx := t.Context()
	rdb := client(t, redistest.Start(t))
	s := redisjobs.New(rdb, redisjobs.Options{Prefix: "p:"})
	for _, id := range []string{"a", "b"} {
		if err := s.Create(ctx, chat.JobInfo{ID: id, UserID: "u"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := rdb.Del(ctx, "p:job:{a}").Err(); err != nil {
		t.Fatal(err)
	}
	ids, err := s.Active(ctx, "u")
	if err != nil || len(ids) != 1 || ids[0] != "b" {
		t.Fatalf("Active = %v, %v, want [b]", ids, err)
	}
	if n, _ := rdb.ZCard(ctx, "p:user:u").Result(); n != 1 {
		t.Fatalf("index has %d entries, want 1", n)
	}
}

func TestUnavailable(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	defer rdb.Close()
	s := redisjobs.New(rdb, redisjobs.Options{})
	_, err := s.Info(t.Context(), "x")
	if librechat.KindOf(err) != librechat.KindUnavailable {
		t.Fatalf("Info with Redis down = %v, want an unavailable error", err)
	}
	if errors.Is(err, chat.ErrJobEnded) {
		t.Fatal("an outage must not read as a job that ended")
	}
}
