// Package memcache is a cache.Cache kept in the process: bounded in
// entries and bytes (least recently used entries go first), expiring by an
// injected clock, safe for concurrent use.
package memcache

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/lcgo/lcgo/shared/cache"
)

// Default bounds.
const (
	DefaultMaxEntries = 10000
	DefaultMaxBytes   = 64 << 20
)

// Clock tells the time; librechat.Clock is one.
type Clock interface {
	Now() time.Time
}

// Options configure a Cache.
type Options struct {
	// Clock decides expiry; nil means the system clock.
	Clock Clock
	// MaxEntries bounds the number of entries; <= 0 means DefaultMaxEntries.
	MaxEntries int
	// MaxBytes bounds the sum of the keys' and values' lengths; <= 0 means
	// DefaultMaxBytes. A single entry larger than that is not kept.
	MaxBytes int64
}

// Cache is an in-process cache.Cache. Build one with New.
type Cache struct {
	clock      Clock
	maxEntries int
	maxBytes   int64

	mu    sync.Mutex
	items map[string]*list.Element // of *entry
	lru   *list.List               // most recently used first
	bytes int64
}

type entry struct {
	key     string
	val     []byte
	expires time.Time // zero: never
}

func (e *entry) size() int64 { return int64(len(e.key) + len(e.val)) }

var _ cache.Cache = (*Cache)(nil)

// New returns an empty cache.
func New(opts Options) *Cache {
	c := &Cache{clock: opts.Clock, maxEntries: opts.MaxEntries, maxBytes: opts.MaxBytes,
		items: map[string]*list.Element{}, lru: list.New()}
	if c.maxEntries <= 0 {
		c.maxEntries = DefaultMaxEntries
	}
	if c.maxBytes <= 0 {
		c.maxBytes = DefaultMaxBytes
	}
	return c
}

func (c *Cache) now() time.Time {
	if c.clock != nil {
		return c.clock.Now()
	}
	return time.Now()
}

// Get returns a copy of the value under key; an expired one is dropped.
func (c *Cache) Get(_ context.Context, key string) ([]byte, bool, error) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false, nil
	}
	e := el.Value.(*entry)
	if !e.expires.IsZero() && !now.Before(e.expires) {
		c.remove(el)
		return nil, false, nil
	}
	c.lru.MoveToFront(el)
	return append([]byte{}, e.val...), true, nil
}

// Set stores a copy of val, then evicts the least recently used entries
// until the cache is within its bounds.
func (c *Cache) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	e := &entry{key: key, val: append([]byte{}, val...)}
	if ttl > 0 {
		e.expires = c.now().Add(ttl)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.items[key]; ok {
		c.remove(old)
	}
	if e.size() > c.maxBytes {
		return nil
	}
	c.items[key] = c.lru.PushFront(e)
	c.bytes += e.size()
	for len(c.items) > c.maxEntries || c.bytes > c.maxBytes {
		c.remove(c.lru.Back())
	}
	return nil
}

// Delete removes the keys.
func (c *Cache) Delete(_ context.Context, keys ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		if el, ok := c.items[k]; ok {
			c.remove(el)
		}
	}
	return nil
}

// Len returns the number of entries held, expired ones not yet dropped
// included.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// remove drops an entry; c.mu is held.
func (c *Cache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*entry)
	delete(c.items, e.key)
	c.bytes -= e.size()
}
