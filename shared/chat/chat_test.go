package chat

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSender(t *testing.T) {
	cases := []struct {
		endpoint            string
		custom              bool
		model, label, shown string
		want                string
	}{
		{"FakeOpenAI", true, "fake-gpt-1", "", "Fake OpenAI", "GPT-1"}, // capture 24
		{"openAI", false, "gpt-4o", "", "", "GPT-4o"},
		{"openAI", false, "o3-mini", "", "", "o3"},
		{"openAI", false, "text-davinci", "", "", "ChatGPT"},
		{"openAI", false, "gpt-4o", "Helper", "", "Helper"},
		{"anthropic", false, "claude-sonnet-4", "", "", "Claude"},
		{"google", false, "gemma-3", "", "", "Gemma"},
		{"google", false, "gemini-2.5-flash", "", "", "Gemini"},
		{"bedrock", false, "anthropic.claude-3", "", "", "AWS Bedrock"},
		{"OpenRouter", true, "mistral-large", "", "OR", "Mistral"},
		{"OpenRouter", true, "llama-3", "", "OR", "OR"},
		{"OpenRouter", true, "llama-3", "", "", "AI"},
	}
	for _, c := range cases {
		if got := Sender(c.endpoint, c.custom, c.model, c.label, c.shown); got != c.want {
			t.Errorf("Sender(%s, %s) = %q, want %q", c.endpoint, c.model, got, c.want)
		}
	}
}

func TestPriceOf(t *testing.T) {
	cases := map[string]Price{
		"gpt-4o":                 {2.5, 10},
		"gpt-4o-mini-2024-07-18": {0.15, 0.6},
		"anthropic.claude-3-5-sonnet-20240620-v1:0": {3, 15},
		"gemini-2.5-flash":                          {0.3, 2.5},
		"something-new":                             defaultPrice,
	}
	for model, want := range cases {
		if got := PriceOf(model); got != want {
			t.Errorf("PriceOf(%q) = %v, want %v", model, got, want)
		}
	}
	if c := (Price{2.5, 10}).Cost(1000, 100); c != 0.0035 {
		t.Errorf("cost %v", c)
	}
}

func TestFoldRebuildsState(t *testing.T) {
	um := UserMessage{MessageID: "u", ParentMessageID: "p", ConversationID: "c", Sender: "User", Text: "hi", IsCreatedByUser: true}
	frames := []Frame{
		createdFrame(um, "c"),
		frame(meta{Meta: true, ResponseMessageID: "r", Sender: "GPT-4o", Model: "gpt-4o", Endpoint: "openAI"}),
		runStepFrame(RunStep{ID: "s1", Index: 0, Type: "message_creation", RunID: "r", StepDetails: json.RawMessage(`{}`), Usage: json.RawMessage("null")}),
		deltaFrame("s1", Part{Type: "think", Think: "hm"}),
		runStepFrame(RunStep{ID: "s2", Index: 1, Type: "message_creation", RunID: "r", StepDetails: json.RawMessage(`{}`), Usage: json.RawMessage("null")}),
		deltaFrame("s2", Part{Type: "text", Text: "Hel"}),
		deltaFrame("s2", Part{Type: "text", Text: "lo"}),
		deltaFrame("unknown", Part{Type: "text", Text: "ignored"}),
		titleFrame(TitleEvent{ConversationID: "c", Title: "T"}),
	}
	var st State
	for _, f := range frames {
		st.Fold(f)
	}
	parts, _ := json.Marshal(st.Parts())
	if string(parts) != `[{"type":"think","think":"hm"},{"type":"text","text":"Hello"}]` {
		t.Fatalf("parts %s", parts)
	}
	if st.UserMessage == nil || st.UserMessage.MessageID != "u" || st.ResponseMessageID != "r" || st.Sender != "GPT-4o" ||
		st.Title == nil || st.Title.Title != "T" || len(st.RunSteps) != 2 || st.Final {
		t.Fatalf("state %+v", st)
	}
	if !isMeta(frames[1]) || isMeta(frames[0]) {
		t.Fatal("meta frames not told apart")
	}
	st.Fold(errorFrame("boom"))
	if st.Errored != "boom" {
		t.Fatalf("error not folded: %q", st.Errored)
	}
	ab := abortFrame(&State{}, "New Chat")
	if string(ab.Data) != `{"final":true,"conversation":null,"title":"New Chat","requestMessage":null,"responseMessage":null,"aborted":true,"earlyAbort":true}` {
		t.Fatalf("early abort frame %s", ab.Data)
	}
}

func TestTitlesAreBounded(t *testing.T) {
	long := "a" + strings.Repeat("é", 5000) // byte 120 falls inside an é
	for name, got := range map[string]string{
		"fallback": fallbackTitle(long + " two three"),
		"cleaned":  cleanTitle("Title: " + strings.Repeat("a", 119) + "é" + strings.Repeat("x", 200)),
	} {
		if len(got) > maxTitle || !utf8.ValidString(got) || got == "" {
			t.Errorf("%s title: %d bytes, valid %v", name, len(got), utf8.ValidString(got))
		}
	}
	if got := fallbackTitle("hello there, how are you doing today friend?"); got != "Hello there, how are you doing" {
		t.Errorf("fallback title %q", got)
	}
}
