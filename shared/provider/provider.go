// Package provider declares the small streaming interface implemented by
// every model provider, together with the provider-neutral request and event
// types.
package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Role is the author of a message.
type Role string

// Message roles.
const (
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleSystem    Role = "system"
)

// Part types.
const (
	PartText  = "text"
	PartImage = "image"
)

// Part is one piece of message content: text, or an image given by its bytes.
type Part struct {
	Type string // PartText or PartImage
	Text string
	MIME string // image media type, e.g. "image/png"
	Data []byte // image bytes
}

// Message is one turn of a conversation.
type Message struct {
	Role  Role
	Parts []Part
}

// Text returns the concatenation of the message's text parts.
func (m Message) Text() string {
	var b strings.Builder
	for _, p := range m.Parts {
		if p.Type == PartText || p.Type == "" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// Params are the optional sampling parameters of a request.
type Params struct {
	Temperature *float64
	TopP        *float64
	MaxTokens   *int
	TopK        *int
	Stop        []string
	// Thinking asks for extended reasoning where the provider supports it
	// (Anthropic thinking, Gemini thinking); ThinkingBudget is its token
	// budget (0: the provider's default).
	Thinking       bool
	ThinkingBudget int
	// ReasoningEffort is OpenAI's reasoning_effort ("low", "medium", "high").
	ReasoningEffort string
	// Extra fields merged into the provider request body (addParams).
	Extra map[string]any
	// Drop lists top-level request body fields to remove (dropParams).
	Drop []string
}

// Request is a provider-neutral completion request.
type Request struct {
	Model    string
	System   string
	Messages []Message
	Params   Params
}

// EventKind tells what an Event carries.
type EventKind int

// Event kinds.
const (
	EventText EventKind = iota + 1
	EventReasoning
	EventUsage
)

func (k EventKind) String() string {
	switch k {
	case EventText:
		return "text"
	case EventReasoning:
		return "reasoning"
	case EventUsage:
		return "usage"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Usage is the token accounting reported by a provider.
type Usage struct {
	InputTokens  int
	OutputTokens int
}

// Event is one streamed delta. Text is set for EventText and EventReasoning,
// Usage for EventUsage.
type Event struct {
	Kind  EventKind
	Text  string
	Usage Usage
	// ID is the provider's id of the response (an OpenAI "chatcmpl-…", an
	// Anthropic "msg_…"), set on every event once the provider has sent it.
	ID string
}

// Streamer streams a completion. emit is called for each delta, in order; a
// non-nil error from emit stops the stream and is returned unchanged. A
// provider failure is returned as a *StreamError.
type Streamer interface {
	Stream(ctx context.Context, req Request, emit func(Event) error) error
}

// ErrInterrupted is matched (through errors.Is) by a *StreamError whose
// stream failed after some output had already been emitted.
var ErrInterrupted = errors.New("provider: stream interrupted")

// StreamError describes a provider failure.
type StreamError struct {
	// Partial reports that at least one event was emitted before the failure.
	Partial bool
	// Status is the provider's HTTP status code, or 0 when unknown.
	Status int
	Err    error
}

func (e *StreamError) Error() string {
	var b strings.Builder
	b.WriteString("provider: ")
	if e.Partial {
		b.WriteString("stream interrupted")
	} else {
		b.WriteString("request failed")
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, " (status %d)", e.Status)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *StreamError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrInterrupted) true for partial failures.
func (e *StreamError) Is(target error) bool {
	return target == ErrInterrupted && e.Partial
}

// LastUserText returns the text of the last user message of msgs, or "".
func LastUserText(msgs []Message) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == RoleUser {
			return msgs[i].Text()
		}
	}
	return ""
}
