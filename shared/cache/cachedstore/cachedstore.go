// Package cachedstore puts a cache.Cache in front of a store's model
// configuration lists and group memberships, the reads every chat start and
// configuration request makes: read through (a miss reads the store and
// fills the cache), write invalidate (every write of a model configuration
// or a membership deletes the keys it affects once the store has answered).
// With a cache shared by every instance (rediscache) a change made through
// one instance is seen by the others at their next read.
//
// The cache is never the truth: a cache error, or a cached value that does
// not decode, is logged and the store is read instead, and after a failure
// reads leave the cache alone for a while (RetryAfter) so that an outage
// does not slow every request. Invalidations are always attempted. A write
// whose invalidation fails is logged and still succeeds; the stale entry
// then lives at most TTL.
package cachedstore

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/lcgo/lcgo/shared/cache"
	"github.com/lcgo/lcgo/shared/librechat"
)

// Defaults of Options.
const (
	DefaultTTL        = 5 * time.Minute
	DefaultTimeout    = time.Second
	DefaultRetryAfter = 10 * time.Second
)

// Options configure a Store.
type Options struct {
	// TTL of the cached lists; <= 0 means DefaultTTL.
	TTL time.Duration
	// Timeout bounds each cache call; <= 0 means DefaultTimeout.
	Timeout time.Duration
	// RetryAfter is how long reads skip the cache after a cache call
	// failed; <= 0 means DefaultRetryAfter.
	RetryAfter time.Duration
	// Log receives cache failures; nil means slog.Default().
	Log *slog.Logger
}

// Store is a librechat.Store whose ModelConfigs (one scope) and GroupsOf
// reads go through a cache. Every other method is the wrapped store's.
type Store struct {
	librechat.Store
	cache      cache.Cache
	ttl        time.Duration
	timeout    time.Duration
	retryAfter time.Duration
	log        *slog.Logger
	downUntil  atomic.Int64 // Unix ns before which reads skip the cache
}

var _ librechat.Store = (*Store)(nil)

// New wraps st. The caller closes the returned Store (which closes st).
func New(st librechat.Store, c cache.Cache, opts Options) *Store {
	s := &Store{Store: st, cache: c, ttl: opts.TTL, timeout: opts.Timeout, retryAfter: opts.RetryAfter, log: opts.Log}
	if s.ttl <= 0 {
		s.ttl = DefaultTTL
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.retryAfter <= 0 {
		s.retryAfter = DefaultRetryAfter
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// Unwrap returns the wrapped store.
func (s *Store) Unwrap() librechat.Store { return s.Store }

// Cache keys. Scopes never contain ':', so "modelconfigs:<scope>:<id>"
// names one scope unambiguously.
const (
	modelConfigsPrefix = "modelconfigs:"
	groupsOfPrefix     = "groupsof:"
)

// ModelConfigsKey is the cache key of one scope's list, and whether that
// list is cached at all: only the three scopes are (the system one without
// a scope id); the list of every configuration (scope "") is not.
func ModelConfigsKey(scope, scopeID string) (string, bool) {
	switch scope {
	case librechat.ScopeSystem:
		if scopeID != "" {
			return "", false
		}
	case librechat.ScopeGroup, librechat.ScopeUser:
		if scopeID == "" {
			return "", false
		}
	default:
		return "", false
	}
	return modelConfigsPrefix + scope + ":" + scopeID, true
}

// GroupsOfKey is the cache key of a user's group ids.
func GroupsOfKey(userID string) string { return groupsOfPrefix + userID }

// modelConfig is the cached form of a librechat.ModelConfig. Spec is kept
// as bytes (base64 in the JSON) so that it comes back byte for byte.
type modelConfig struct {
	ID        string    `json:"id"`
	Scope     string    `json:"scope"`
	ScopeID   string    `json:"scopeId"`
	Name      string    `json:"name"`
	Spec      []byte    `json:"spec"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	UpdatedBy string    `json:"updatedBy"`
}

// ModelConfigs reads one scope's list from the cache, or from the store
// and then keeps it for the TTL.
func (s *Store) ModelConfigs(ctx context.Context, scope, scopeID string) ([]*librechat.ModelConfig, error) {
	key, ok := ModelConfigsKey(scope, scopeID)
	if !ok {
		return s.Store.ModelConfigs(ctx, scope, scopeID)
	}
	var cached []*modelConfig
	if s.lookup(ctx, key, &cached) {
		return fromCache(cached), nil
	}
	list, err := s.Store.ModelConfigs(ctx, scope, scopeID)
	if err != nil {
		return nil, err
	}
	s.keep(ctx, key, toCache(list))
	return list, nil
}

// GroupsOf reads a user's group ids from the cache, or from the store and
// then keeps them for the TTL.
func (s *Store) GroupsOf(ctx context.Context, userID string) ([]string, error) {
	key := GroupsOfKey(userID)
	var cached []string
	if s.lookup(ctx, key, &cached) {
		return cached, nil
	}
	ids, err := s.Store.GroupsOf(ctx, userID)
	if err != nil {
		return nil, err
	}
	s.keep(ctx, key, ids)
	return ids, nil
}

// CreateModelConfig writes, then invalidates the configuration's scope.
// The scope is invalidated whatever the outcome: a store without
// transactions may have written part of a failed create.
func (s *Store) CreateModelConfig(ctx context.Context, c *librechat.ModelConfig) error {
	err := s.Store.CreateModelConfig(ctx, c)
	if c != nil {
		s.invalidate(ctx, modelConfigKeys(c)...)
	}
	return err
}

// UpdateModelConfig reads the stored configuration first (an update may
// move it to another scope), writes, then invalidates both scopes. When
// that read fails for another reason than absence nothing is written, so
// that no scope is changed without being invalidated.
func (s *Store) UpdateModelConfig(ctx context.Context, c *librechat.ModelConfig) error {
	if c == nil {
		return s.Store.UpdateModelConfig(ctx, c)
	}
	old, err := s.Store.ModelConfig(ctx, c.ID)
	if err != nil && !librechat.IsNotFound(err) {
		return err
	}
	err = s.Store.UpdateModelConfig(ctx, c)
	keys := modelConfigKeys(c)
	if old != nil {
		keys = append(keys, modelConfigKeys(old)...)
	}
	s.invalidate(ctx, keys...)
	return err
}

// DeleteModelConfig reads the stored configuration first for its scope,
// deletes, then invalidates that scope. When that read fails for another
// reason than absence nothing is deleted.
func (s *Store) DeleteModelConfig(ctx context.Context, id string) error {
	old, err := s.Store.ModelConfig(ctx, id)
	if err != nil && !librechat.IsNotFound(err) {
		return err
	}
	err = s.Store.DeleteModelConfig(ctx, id)
	if old != nil {
		s.invalidate(ctx, modelConfigKeys(old)...)
	}
	return err
}

// AddMember writes, then invalidates the user's groups.
func (s *Store) AddMember(ctx context.Context, groupID, userID string) error {
	err := s.Store.AddMember(ctx, groupID, userID)
	s.invalidate(ctx, GroupsOfKey(userID))
	return err
}

// RemoveMember writes, then invalidates the user's groups.
func (s *Store) RemoveMember(ctx context.Context, groupID, userID string) error {
	err := s.Store.RemoveMember(ctx, groupID, userID)
	s.invalidate(ctx, GroupsOfKey(userID))
	return err
}

// DeleteGroup lists the members first (the delete removes the
// memberships), deletes, then invalidates each member's groups. When the
// list cannot be read nothing is deleted.
func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	members, err := s.Store.Members(ctx, id)
	if err != nil {
		return err
	}
	err = s.Store.DeleteGroup(ctx, id)
	keys := make([]string, 0, len(members))
	for _, uid := range members {
		keys = append(keys, GroupsOfKey(uid))
	}
	s.invalidate(ctx, keys...)
	return err
}

// modelConfigKeys is the cached list a configuration belongs to, if any.
func modelConfigKeys(c *librechat.ModelConfig) []string {
	if k, ok := ModelConfigsKey(c.Scope, c.ScopeID); ok {
		return []string{k}
	}
	return nil
}

// invalidateBatch bounds the keys of one Delete.
const invalidateBatch = 500

// invalidate deletes the keys, even when the request was canceled (the
// store has been written by then) and while reads skip the cache.
func (s *Store) invalidate(ctx context.Context, keys ...string) {
	ctx = context.WithoutCancel(ctx)
	for len(keys) > 0 {
		n := min(len(keys), invalidateBatch)
		cctx, cancel := context.WithTimeout(ctx, s.timeout)
		err := s.cache.Delete(cctx, keys[:n]...)
		cancel()
		if err != nil {
			s.failed()
			s.log.Error("cachedstore: invalidating the cache failed; other instances may read the old value until it expires",
				"keys", keys[:n], "ttl", s.ttl, "err", err)
		}
		keys = keys[n:]
	}
}

// skip reports whether reads leave the cache alone after a failure.
func (s *Store) skip() bool { return time.Now().UnixNano() < s.downUntil.Load() }

// failed makes reads skip the cache for RetryAfter.
func (s *Store) failed() { s.downUntil.Store(time.Now().Add(s.retryAfter).UnixNano()) }

// lookup decodes the cached value of key into dst and reports whether it
// did. Errors and undecodable values are logged and count as misses.
func (s *Store) lookup(ctx context.Context, key string, dst any) bool {
	if s.skip() {
		return false
	}
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	b, ok, err := s.cache.Get(cctx, key)
	cancel()
	if err != nil {
		if ctx.Err() == nil { // not the request's own end
			s.failed()
			s.log.Warn("cachedstore: cache read failed; reading the store", "key", key, "retryAfter", s.retryAfter, "err", err)
		}
		return false
	}
	if !ok {
		return false
	}
	if err := json.Unmarshal(b, dst); err != nil {
		s.log.Warn("cachedstore: cached value does not decode; reading the store", "key", key, "err", err)
		return false
	}
	return true
}

// keep caches v under key for the TTL; failures are logged.
func (s *Store) keep(ctx context.Context, key string, v any) {
	if s.skip() {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Warn("cachedstore: value does not encode; not cached", "key", key, "err", err)
		return
	}
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	err = s.cache.Set(cctx, key, b, s.ttl)
	cancel()
	if err != nil && ctx.Err() == nil {
		s.failed()
		s.log.Warn("cachedstore: cache write failed", "key", key, "retryAfter", s.retryAfter, "err", err)
	}
}

func toCache(list []*librechat.ModelConfig) []*modelConfig {
	if list == nil {
		return nil
	}
	out := make([]*modelConfig, len(list))
	for i, c := range list {
		if c == nil {
			continue
		}
		out[i] = &modelConfig{ID: c.ID, Scope: c.Scope, ScopeID: c.ScopeID, Name: c.Name, Spec: c.Spec,
			CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, UpdatedBy: c.UpdatedBy}
	}
	return out
}

func fromCache(list []*modelConfig) []*librechat.ModelConfig {
	if list == nil {
		return nil
	}
	out := make([]*librechat.ModelConfig, len(list))
	for i, c := range list {
		if c == nil {
			continue
		}
		out[i] = &librechat.ModelConfig{ID: c.ID, Scope: c.Scope, ScopeID: c.ScopeID, Name: c.Name, Spec: c.Spec,
			CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, UpdatedBy: c.UpdatedBy}
	}
	return out
}
