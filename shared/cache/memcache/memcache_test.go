package memcache_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/cache"
	"github.com/lcgo/lcgo/shared/cache/cachetest"
	"github.com/lcgo/lcgo/shared/cache/memcache"
)

func TestConformance(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) cache.Cache { return memcache.New(memcache.Options{}) })
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

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func has(t *testing.T, c *memcache.Cache, key string) bool {
	t.Helper()
	_, ok, err := c.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestExpiryFollowsTheClock(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	c := memcache.New(memcache.Options{Clock: clk})
	_ = c.Set(ctx, "k", []byte("v"), time.Minute)
	_ = c.Set(ctx, "forever", []byte("v"), 0)
	clk.Advance(time.Minute - time.Nanosecond)
	if !has(t, c, "k") {
		t.Fatal("expired before its TTL")
	}
	clk.Advance(time.Nanosecond)
	if has(t, c, "k") {
		t.Fatal("still there at its TTL")
	}
	if c.Len() != 1 {
		t.Fatalf("the expired entry was not dropped: Len = %d", c.Len())
	}
	clk.Advance(1000 * time.Hour)
	if !has(t, c, "forever") {
		t.Fatal("an entry without TTL expired")
	}
}

func TestBoundedEntries(t *testing.T) {
	ctx := context.Background()
	c := memcache.New(memcache.Options{MaxEntries: 3})
	for _, k := range []string{"a", "b", "c"} {
		_ = c.Set(ctx, k, []byte(k), 0)
	}
	has(t, c, "a") // a is now the most recently used; b the least
	_ = c.Set(ctx, "d", []byte("d"), 0)
	if c.Len() != 3 {
		t.Fatalf("Len = %d, want 3", c.Len())
	}
	for k, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if has(t, c, k) != want {
			t.Errorf("%s present = %v, want %v", k, !want, want)
		}
	}
	for i := range 100 {
		_ = c.Set(ctx, fmt.Sprint(i), nil, 0)
	}
	if c.Len() != 3 {
		t.Fatalf("Len = %d after 100 more, want 3", c.Len())
	}
}

func TestBoundedBytes(t *testing.T) {
	ctx := context.Background()
	c := memcache.New(memcache.Options{MaxBytes: 100})
	_ = c.Set(ctx, "a", make([]byte, 39), 0) // 40 bytes with the key
	_ = c.Set(ctx, "b", make([]byte, 39), 0)
	_ = c.Set(ctx, "c", make([]byte, 39), 0) // 120: a goes
	if has(t, c, "a") || !has(t, c, "b") || !has(t, c, "c") {
		t.Fatal("the least recently used entry was not evicted")
	}
	// An entry over the bound is not kept, and does not leave the old value.
	_ = c.Set(ctx, "b", make([]byte, 200), 0)
	if has(t, c, "b") || !has(t, c, "c") || c.Len() != 1 {
		t.Fatalf("oversized entry: b=%v c=%v Len=%d", has(t, c, "b"), has(t, c, "c"), c.Len())
	}
	// Overwriting counts the new size, not both.
	for range 10 {
		_ = c.Set(ctx, "c", make([]byte, 49), 0)
	}
	_ = c.Set(ctx, "d", make([]byte, 49), 0)
	if !has(t, c, "c") || !has(t, c, "d") {
		t.Fatal("overwrites were counted twice")
	}
}
