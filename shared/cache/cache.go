// Package cache is a small key-value cache with expiry, shared by the
// areas that keep derived data between requests: the model configurations
// read from the store (see cachedstore) and the model lists fetched from
// custom endpoints. memcache keeps it in the process; rediscache shares it
// between every function instance through Redis. cachetest is the suite
// both pass.
//
// A cache may lose any entry at any time (eviction, restart, outage), so a
// miss or an error is never a reason to fail a request: callers read the
// source of truth instead.
package cache

import (
	"context"
	"time"
)

// Cache holds byte values under string keys.
type Cache interface {
	// Get returns the value stored under key and whether there is one. An
	// expired value is a miss. The returned slice is the caller's.
	Get(ctx context.Context, key string) ([]byte, bool, error)
	// Set stores a copy of val under key for ttl, replacing any value and
	// expiry the key had. A ttl <= 0 keeps the value until it is deleted
	// or evicted.
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	// Delete removes the keys; absent keys and no keys are not errors.
	Delete(ctx context.Context, keys ...string) error
}
