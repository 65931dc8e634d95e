package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/lcgo/lcgo/shared/librechat"
)

// seedStore is what seeding needs of a store.
type seedStore interface {
	UserByEmail(ctx context.Context, email string) (*librechat.User, error)
	PutConversation(ctx context.Context, c *librechat.Conversation) error
	ListConversations(ctx context.Context, userID string, q librechat.ConversationQuery) ([]*librechat.Conversation, *librechat.Cursor, error)
}

// topUpConversations seeds the user with that email until the list holds
// total conversations (a chat measurement before it leaves some) and
// returns how many it wrote.
func topUpConversations(s seedStore, email string, total int) (int, error) {
	ctx := context.Background()
	u, err := s.UserByEmail(ctx, email)
	if err != nil {
		return 0, err
	}
	have := 0
	q := librechat.ConversationQuery{Limit: 100}
	for {
		page, next, err := s.ListConversations(ctx, u.ID, q)
		if err != nil {
			return 0, err
		}
		have += len(page)
		if next == nil {
			break
		}
		q.After = next
	}
	n := max(total-have, 0)
	return n, seedConversations(s, email, n)
}

// seedConversations gives the user with that email n conversations, one
// minute apart, written straight through the store package.
func seedConversations(s seedStore, email string, n int) error {
	ctx := context.Background()
	u, err := s.UserByEmail(ctx, email)
	if err != nil {
		return err
	}
	base := time.Now().Add(-time.Duration(n) * time.Minute).UTC()
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				at := base.Add(time.Duration(i) * time.Minute)
				c := &librechat.Conversation{
					ID: newUUID(), ObjectID: randHex(12), UserID: u.ID,
					Title: fmt.Sprintf("Bench conversation %d", i), Endpoint: "openAI", Model: "gpt-4o-mini",
					Fields:    map[string]json.RawMessage{"endpointType": json.RawMessage(`"openAI"`)},
					CreatedAt: at, UpdatedAt: at,
				}
				if err := s.PutConversation(ctx, c); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	return firstErr
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newUUID() string {
	h := randHex(16)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

// timeConvoPages times n GET /api/convos requests, walking the list from
// the newest page through nextCursor (and from the top again at its end),
// as the client's sidebar does when scrolled. get sends one request with
// the query string given. It checks that pages are full and that a whole
// walk sees every one of the total conversations.
func timeConvoPages(n, total int, get func(query string) (int, []byte, error)) ([]time.Duration, string, error) {
	var out []time.Duration
	cursor, seen, walks := "", 0, 0
	pageSize := 0
	for i := 0; i < n; i++ {
		q := ""
		if cursor != "" {
			q = url.Values{"cursor": {cursor}}.Encode()
		}
		t0 := time.Now()
		status, body, err := get(q)
		d := time.Since(t0)
		if err != nil {
			return nil, "", err
		}
		if status != 200 {
			return nil, "", fmt.Errorf("GET /api/convos?%s: %d %s", q, status, body)
		}
		var page struct {
			Conversations []json.RawMessage `json:"conversations"`
			NextCursor    *string           `json:"nextCursor"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, "", err
		}
		if i == 0 {
			pageSize = len(page.Conversations)
			if pageSize == 0 {
				return nil, "", fmt.Errorf("the first page is empty: the seeded conversations are not in the store this function reads")
			}
		}
		out = append(out, d)
		seen += len(page.Conversations)
		if page.NextCursor == nil || *page.NextCursor == "" {
			if seen != total {
				return nil, "", fmt.Errorf("a walk through the list saw %d conversations, want %d", seen, total)
			}
			cursor, seen = "", 0
			walks++
			continue
		}
		cursor = *page.NextCursor
	}
	desc := fmt.Sprintf("%d pages of %d", n, pageSize)
	if walks == 1 {
		desc += ", one whole walk"
	} else if walks > 1 {
		desc += fmt.Sprintf(", %d whole walks", walks)
	} else {
		desc += fmt.Sprintf(", down to conversation %d", seen)
	}
	return out, desc, nil
}
