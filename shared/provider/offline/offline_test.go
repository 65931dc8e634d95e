package offline

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/provider"
)

func req(text string) provider.Request {
	return provider.Request{
		Model:  "offline-echo",
		System: "be nice",
		Messages: []provider.Message{
			{Role: provider.RoleUser, Parts: []provider.Part{{Type: provider.PartText, Text: "first"}}},
			{Role: provider.RoleAssistant, Parts: []provider.Part{{Type: provider.PartText, Text: "ok"}}},
			{Role: provider.RoleUser, Parts: []provider.Part{
				{Type: provider.PartText, Text: text},
				{Type: provider.PartImage, MIME: "image/png", Data: []byte{1}},
			}},
		},
	}
}

func TestStreamChunksAndUsage(t *testing.T) {
	var slept []time.Duration
	m := &Model{Delay: 5 * time.Millisecond, Sleep: func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		return nil
	}}
	var events []provider.Event
	err := m.Stream(context.Background(), req("hello  world"), func(e provider.Event) error {
		events = append(events, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"You ", "said: ", `"hello  `, `world". `, "This ", "reply ", "comes ", "from ", "the ", "built-in ", "offline ", "model."}
	var got []string
	for _, e := range events[:len(events)-1] {
		if e.Kind != provider.EventText {
			t.Fatalf("unexpected event %+v", e)
		}
		got = append(got, e.Text)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("chunks = %q, want %q", got, want)
	}
	full := strings.Join(got, "")
	if full != `You said: "hello  world". This reply comes from the built-in offline model.` {
		t.Fatalf("text = %q", full)
	}
	last := events[len(events)-1]
	if last.Kind != provider.EventUsage || last.Usage != (provider.Usage{InputTokens: 2 + 1 + 1 + 2, OutputTokens: 12}) {
		t.Fatalf("usage event = %+v", last)
	}
	if len(slept) != len(want)-1 || slept[0] != 5*time.Millisecond {
		t.Fatalf("slept = %v", slept)
	}
}

func TestEmptyUserText(t *testing.T) {
	if got := Reply(nil); got != "You sent no text. This reply comes from the built-in offline model." {
		t.Fatalf("Reply(nil) = %q", got)
	}
}

func TestChunksRoundTrip(t *testing.T) {
	for _, s := range []string{"", "a", " a", "a ", "a b\n\nc  ", "  "} {
		if got := strings.Join(Chunks(s), ""); got != s {
			t.Errorf("Chunks(%q) joined = %q", s, got)
		}
	}
}

func TestCancelMidStream(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	m := &Model{Delay: time.Hour} // real sleep
	done := make(chan error, 1)
	go func() {
		done <- m.Stream(ctx, req("hi"), func(provider.Event) error {
			n++
			return nil
		})
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream did not stop on cancel")
	}
	if n != 1 {
		t.Fatalf("emitted %d events, want 1", n)
	}
}

func TestCancelViaInjectedSleep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	m := &Model{Sleep: func(ctx context.Context, _ time.Duration) error {
		calls++
		if calls == 3 {
			cancel()
			return ctx.Err()
		}
		return nil
	}}
	var got []string
	err := m.Stream(ctx, req("hi"), func(e provider.Event) error {
		got = append(got, e.Text)
		return nil
	})
	if !errors.Is(err, context.Canceled) || len(got) != 3 {
		t.Fatalf("err = %v, got %q", err, got)
	}
}

func TestEmitErrorStops(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	m := &Model{Sleep: func(context.Context, time.Duration) error { return nil }}
	err := m.Stream(context.Background(), req("hi"), func(provider.Event) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Fatalf("err = %v, n = %d", err, n)
	}
}

func TestAlreadyCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := New().Stream(ctx, req("hi"), func(provider.Event) error {
		t.Fatal("emit called")
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}
