// Package ratelimit counts attempts per key in fixed windows.
package ratelimit

import (
	"context"
	"sync"
	"time"

	"github.com/lcgo/lcgo/shared/librechat"
)

// Limiter admits at most limit hits per key in each window.
type Limiter interface {
	// Hit counts one attempt for key. It reports whether the attempt is
	// within the limit and, when not, how long until the window resets.
	Hit(ctx context.Context, key string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error)
}

// Memory is a Limiter for one process.
type Memory struct {
	Clock librechat.Clock

	mu      sync.Mutex
	windows map[string]window
	sweeps  int
}

type window struct {
	start time.Time
	count int
	span  time.Duration
}

// NewMemory returns an empty in-process limiter.
func NewMemory(clock librechat.Clock) *Memory {
	return &Memory{Clock: clock, windows: map[string]window{}}
}

// Hit implements Limiter.
func (m *Memory) Hit(_ context.Context, key string, limit int, span time.Duration) (bool, time.Duration, error) {
	now := m.Clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweeps++
	if m.sweeps >= 1024 { // drop finished windows now and then
		m.sweeps = 0
		for k, w := range m.windows {
			if now.Sub(w.start) >= w.span {
				delete(m.windows, k)
			}
		}
	}
	w, ok := m.windows[key]
	if !ok || now.Sub(w.start) >= span {
		w = window{start: now, span: span}
	}
	w.count++
	m.windows[key] = w
	if w.count > limit {
		return false, w.start.Add(span).Sub(now), nil
	}
	return true, 0, nil
}
