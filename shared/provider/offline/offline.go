// Package offline implements the built-in offline model: a deterministic
// echo of the last user message, streamed word by word. It needs no network
// and no credentials.
package offline

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/lcgo/lcgo/shared/provider"
)

// DefaultDelay is the pause between two chunks when Model.Delay is zero.
const DefaultDelay = 25 * time.Millisecond

// Model is the offline provider. The zero value is ready to use.
type Model struct {
	// Sleep pauses between chunks; nil means a real sleep that returns
	// ctx.Err() when ctx is done first.
	Sleep func(ctx context.Context, d time.Duration) error
	// Delay between chunks; zero means DefaultDelay.
	Delay time.Duration
}

var _ provider.Streamer = (*Model)(nil)

// New returns a Model with the default delay and a real sleep.
func New() *Model { return &Model{} }

// Reply returns the full reply the offline model gives to msgs.
func Reply(msgs []provider.Message) string {
	text := strings.TrimSpace(provider.LastUserText(msgs))
	if text == "" {
		return "You sent no text. This reply comes from the built-in offline model."
	}
	return fmt.Sprintf("You said: \"%s\". This reply comes from the built-in offline model.", text)
}

// Chunks splits s into word chunks, each word keeping the whitespace that
// follows it, so that concatenating the chunks gives back s.
func Chunks(s string) []string {
	var out []string
	start := 0
	inSpace := false
	for i, r := range s {
		sp := unicode.IsSpace(r)
		if inSpace && !sp && i > start {
			out = append(out, s[start:i])
			start = i
		}
		inSpace = sp
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// CountTokens approximates a token count as the number of
// whitespace-separated words.
func CountTokens(s string) int { return len(strings.Fields(s)) }

// Stream emits the reply as Text events, one per word, then a Usage event.
func (m *Model) Stream(ctx context.Context, req provider.Request, emit func(provider.Event) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sleep := m.Sleep
	if sleep == nil {
		sleep = realSleep
	}
	delay := m.Delay
	if delay <= 0 {
		delay = DefaultDelay
	}
	reply := Reply(req.Messages)
	for i, c := range Chunks(reply) {
		if i > 0 {
			if err := sleep(ctx, delay); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := emit(provider.Event{Kind: provider.EventText, Text: c}); err != nil {
			return err
		}
	}
	in := CountTokens(req.System)
	for _, msg := range req.Messages {
		in += CountTokens(msg.Text())
	}
	return emit(provider.Event{Kind: provider.EventUsage, Usage: provider.Usage{
		InputTokens:  in,
		OutputTokens: CountTokens(reply),
	}})
}

func realSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
