package provider

import (
	"errors"
	"testing"
)

func TestStreamError(t *testing.T) {
	base := errors.New("boom")
	partial := error(&StreamError{Partial: true, Err: base})
	before := error(&StreamError{Status: 401, Err: base})
	if !errors.Is(partial, ErrInterrupted) || !errors.Is(partial, base) {
		t.Fatalf("partial: %v", partial)
	}
	if errors.Is(before, ErrInterrupted) || !errors.Is(before, base) {
		t.Fatalf("before: %v", before)
	}
	if got := before.Error(); got != "provider: request failed (status 401): boom" {
		t.Fatalf("Error() = %q", got)
	}
	if got := partial.Error(); got != "provider: stream interrupted: boom" {
		t.Fatalf("Error() = %q", got)
	}
}

func TestLastUserText(t *testing.T) {
	msgs := []Message{
		{Role: RoleUser, Parts: []Part{{Type: PartText, Text: "a"}}},
		{Role: RoleUser, Parts: []Part{{Type: PartText, Text: "b"}, {Type: PartImage}, {Type: PartText, Text: "c"}}},
		{Role: RoleAssistant, Parts: []Part{{Type: PartText, Text: "x"}}},
	}
	if got := LastUserText(msgs); got != "bc" {
		t.Fatalf("LastUserText = %q", got)
	}
	if got := LastUserText(nil); got != "" {
		t.Fatalf("LastUserText(nil) = %q", got)
	}
}
