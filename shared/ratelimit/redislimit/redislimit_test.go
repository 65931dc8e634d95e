package redislimit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lcgo/lcgo/shared/chat/redisjobs/redistest"
	"github.com/lcgo/lcgo/shared/ratelimit/redislimit"
)

func TestSharedAcrossInstances(t *testing.T) {
	addr := redistest.Start(t)
	mk := func() *redislimit.Limiter {
		c := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { c.Close() })
		return redislimit.New(c, "")
	}
	a, b := mk(), mk()
	ctx := context.Background()
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, _, err := l.Hit(ctx, "login:alice", 7, time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				admitted.Add(1)
			}
		}()
	}
	wg.Wait()
	if admitted.Load() != 7 {
		t.Fatalf("admitted %d of 40 across two instances, want 7", admitted.Load())
	}
	ok, retry, err := b.Hit(ctx, "login:alice", 7, time.Minute)
	if err != nil || ok || retry <= 0 || retry > time.Minute {
		t.Fatalf("over the limit: ok=%v retry=%v err=%v", ok, retry, err)
	}
	// Other keys are counted apart.
	if ok, _, _ := a.Hit(ctx, "login:bob", 7, time.Minute); !ok {
		t.Fatal("bob limited by alice's attempts")
	}
}

func TestWindowEnds(t *testing.T) {
	addr := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	l := redislimit.New(c, "t:")
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if ok, _, _ := l.Hit(ctx, "k", 2, 150*time.Millisecond); !ok {
			t.Fatalf("hit %d refused", i)
		}
	}
	if ok, _, _ := l.Hit(ctx, "k", 2, 150*time.Millisecond); ok {
		t.Fatal("third hit admitted")
	}
	// The counter carries the window as its expiry: once Redis drops it,
	// a new window starts.
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := c.Exists(ctx, "t:k").Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("window never expired")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ok, _, _ := l.Hit(ctx, "k", 2, 150*time.Millisecond); !ok {
		t.Fatal("new window refused")
	}
}

func TestRedisDownIsUnavailable(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	if _, _, err := redislimit.New(c, "").Hit(context.Background(), "k", 1, time.Second); err == nil {
		t.Fatal("no error with Redis down")
	}
}
