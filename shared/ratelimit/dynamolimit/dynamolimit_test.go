package dynamolimit_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/truora/minidyn/server"

	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/ratelimit/dynamolimit"
	"github.com/lcgo/lcgo/shared/store/dynamo"
	"github.com/lcgo/lcgo/shared/store/dynamo/dynamotest"
)

func servers() []struct {
	name string
	url  func(t *testing.T) string
} {
	return []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"minidyn", func(t *testing.T) string {
			ts := httptest.NewServer(server.NewServer())
			t.Cleanup(ts.Close)
			return ts.URL
		}},
		{"dynalite", func(t *testing.T) string {
			return aws.ToString(dynamotest.Dynalite(t).Options().BaseEndpoint)
		}},
	}
}

func table(t *testing.T, url string) string {
	return dynamotest.NewTable(t, dynamotest.Client(url), dynamo.Options{}).TableName()
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

// Two instances, each with its own client, admit exactly the limit between
// them, including the race to start the window.
func TestSharedAcrossInstances(t *testing.T) {
	for _, srv := range servers() {
		t.Run(srv.name, func(t *testing.T) {
			url := srv.url(t)
			tb := table(t, url)
			a := dynamolimit.New(dynamotest.Client(url), dynamolimit.Options{Table: tb})
			b := dynamolimit.New(dynamotest.Client(url), dynamolimit.Options{Table: tb})
			ctx := context.Background()
			for round, key := range []string{"login:alice", "login:carol#1"} {
				var admitted atomic.Int64
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := range 40 {
					l := a
					if i%2 == 1 {
						l = b
					}
					wg.Go(func() {
						<-start
						ok, retry, err := l.Hit(ctx, key, 7, time.Minute)
						if err != nil {
							t.Error(err)
						}
						if ok {
							admitted.Add(1)
						} else if retry <= 0 || retry > time.Minute {
							t.Errorf("retryAfter = %v", retry)
						}
					})
				}
				close(start)
				wg.Wait()
				if admitted.Load() != 7 {
					t.Fatalf("round %d: admitted %d of 40 across two instances, want 7", round, admitted.Load())
				}
			}
			ok, retry, err := b.Hit(ctx, "login:alice", 7, time.Minute)
			if err != nil || ok || retry <= 0 || retry > time.Minute {
				t.Fatalf("over the limit: ok=%v retry=%v err=%v", ok, retry, err)
			}
			if ok, _, _ := a.Hit(ctx, "login:bob", 7, time.Minute); !ok {
				t.Fatal("bob limited by alice's attempts")
			}
		})
	}
}

// The window is fixed from its first hit: retryAfter counts down to its
// end, and the first hit after it starts a new one.
func TestWindow(t *testing.T) {
	for _, srv := range servers() {
		t.Run(srv.name, func(t *testing.T) {
			url := srv.url(t)
			c := &clock{t: time.Unix(1_800_000_000, 0)}
			l := dynamolimit.New(dynamotest.Client(url), dynamolimit.Options{Table: table(t, url), Clock: c})
			ctx := context.Background()
			hit := func() (bool, time.Duration) {
				t.Helper()
				ok, retry, err := l.Hit(ctx, "k", 2, 10*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				return ok, retry
			}
			if ok, _ := hit(); !ok {
				t.Fatal("first hit refused")
			}
			c.advance(4 * time.Second)
			if ok, _ := hit(); !ok {
				t.Fatal("second hit refused")
			}
			c.advance(2 * time.Second)
			if ok, retry := hit(); ok || retry != 4*time.Second {
				t.Fatalf("third hit: ok=%v retry=%v, want refused with 4s left", ok, retry)
			}
			c.advance(4 * time.Second)
			if ok, _ := hit(); !ok {
				t.Fatal("first hit of the next window refused")
			}
			c.advance(9 * time.Second)
			hit()
			if ok, retry := hit(); ok || retry != time.Second {
				t.Fatalf("over the limit in the second window: ok=%v retry=%v", ok, retry)
			}
		})
	}
}

func TestLimitZero(t *testing.T) {
	ts := httptest.NewServer(server.NewServer())
	t.Cleanup(ts.Close)
	l := dynamolimit.New(dynamotest.Client(ts.URL), dynamolimit.Options{Table: table(t, ts.URL)})
	if ok, retry, err := l.Hit(context.Background(), "z", 0, time.Minute); ok || retry != time.Minute || err != nil {
		t.Fatalf("limit 0: ok=%v retry=%v err=%v", ok, retry, err)
	}
}

func TestUnavailable(t *testing.T) {
	c := dynamotest.Client("http://127.0.0.1:1", func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
	_, _, err := dynamolimit.New(c, dynamolimit.Options{}).Hit(context.Background(), "k", 1, time.Second)
	if librechat.KindOf(err) != librechat.KindUnavailable {
		t.Fatalf("Hit with DynamoDB down = %v, want unavailable", err)
	}
}
