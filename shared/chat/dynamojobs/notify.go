package dynamojobs

import "sync"

// notifier wakes the readers of this process when this process changes a
// job, so that they need not wait for their next poll.
type notifier struct {
	mu sync.Mutex
	m  map[string]*waiters
}

type waiters struct {
	ch chan struct{}
	n  int
}

// watch returns a channel closed at the next signal for id, and a release
// function the caller must call when done waiting on id.
func (n *notifier) watch(id string) (<-chan struct{}, func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	w := n.m[id]
	if w == nil {
		w = &waiters{ch: make(chan struct{})}
		n.m[id] = w
	}
	w.n++
	released := false
	return w.ch, func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		if released {
			return
		}
		released = true
		w.n--
		if w.n == 0 && n.m[id] == w {
			delete(n.m, id)
		}
	}
}

// signal wakes every reader watching id.
func (n *notifier) signal(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	w := n.m[id]
	if w == nil {
		return
	}
	close(w.ch)
	w.ch = make(chan struct{})
}
