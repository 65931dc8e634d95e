package chat

import (
	"bytes"
	"encoding/json"

	"github.com/lcgo/lcgo/shared/wire"
)

// Part is one content part of a reply.
type Part struct {
	Type  string `json:"type"`
	Text  string `json:"text,omitempty"`
	Think string `json:"think,omitempty"`
}

// RunStep opens one content part of the reply, as the client expects it.
type RunStep struct {
	StepIndex   int             `json:"stepIndex"`
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	Index       int             `json:"index"`
	StepDetails json.RawMessage `json:"stepDetails"`
	Usage       json.RawMessage `json:"usage"`
	RunID       string          `json:"runId"`
}

// UserMessage is the short form of the request message in frames.
type UserMessage struct {
	MessageID       string   `json:"messageId"`
	ParentMessageID string   `json:"parentMessageId"`
	ConversationID  string   `json:"conversationId"`
	Sender          string   `json:"sender"`
	Text            string   `json:"text"`
	IsCreatedByUser bool     `json:"isCreatedByUser"`
	TokenCount      int      `json:"tokenCount"`
	Quotes          []string `json:"quotes,omitempty"`
}

func frame(v any) Frame {
	return Frame{Event: "message", Data: marshal(v)}
}

// marshal encodes without HTML escaping, as LibreChat's server does.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte(`{}`)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

type eventFrame struct {
	Event string `json:"event"`
	Data  any    `json:"data"`
}

// createdFrame announces the accepted user message.
func createdFrame(u UserMessage, streamID string) Frame {
	return frame(struct {
		Created  bool        `json:"created"`
		Message  UserMessage `json:"message"`
		StreamID string      `json:"streamId"`
	}{true, u, streamID})
}

func runStepFrame(s RunStep) Frame { return frame(eventFrame{"on_run_step", s}) }

func deltaFrame(stepID string, p Part) Frame {
	name := "on_message_delta"
	if p.Type == "think" {
		name = "on_reasoning_delta"
	}
	type delta struct {
		Content []Part `json:"content"`
	}
	return frame(eventFrame{name, struct {
		ID    string `json:"id"`
		Delta delta  `json:"delta"`
	}{stepID, delta{[]Part{p}}}})
}

// TitleEvent is the data of a title frame.
type TitleEvent struct {
	ConversationID string `json:"conversationId"`
	Title          string `json:"title"`
}

func titleFrame(t TitleEvent) Frame { return frame(eventFrame{"title", t}) }

// errorFrame carries a failure the client shows in an error bubble. msg may
// itself be JSON text such as {"type":"no_user_key"}.
func errorFrame(msg string) Frame {
	return Frame{Event: "error", Data: marshal(struct {
		Error string `json:"error"`
	}{msg})}
}

// ContextUsage is the data of an on_context_usage frame.
type ContextUsage struct {
	RunID                      string         `json:"runId"`
	AgentID                    string         `json:"agentId"`
	Breakdown                  ContextSummary `json:"breakdown"`
	ContextBudget              int            `json:"contextBudget"`
	EffectiveInstructionTokens int            `json:"effectiveInstructionTokens"`
	PrePruneContextTokens      int            `json:"prePruneContextTokens"`
	RemainingContextTokens     int            `json:"remainingContextTokens"`
	CalibrationRatio           float64        `json:"calibrationRatio"`
}

// ContextSummary is the breakdown the context gauge renders.
type ContextSummary struct {
	MaxContextTokens         int            `json:"maxContextTokens"`
	InstructionTokens        int            `json:"instructionTokens"`
	SystemMessageTokens      int            `json:"systemMessageTokens"`
	DynamicInstructionTokens int            `json:"dynamicInstructionTokens"`
	ToolSchemaTokens         int            `json:"toolSchemaTokens"`
	SummaryTokens            int            `json:"summaryTokens"`
	ToolCount                int            `json:"toolCount"`
	MessageCount             int            `json:"messageCount"`
	MessageTokens            int            `json:"messageTokens"`
	AvailableForMessages     int            `json:"availableForMessages"`
	ToolTokenCounts          map[string]int `json:"toolTokenCounts"`
}

func contextUsageFrame(c ContextUsage) Frame { return frame(eventFrame{"on_context_usage", c}) }

// TokenUsage is the data of an on_token_usage frame.
type TokenUsage struct {
	InputTokens  int      `json:"input_tokens"`
	OutputTokens int      `json:"output_tokens"`
	TotalTokens  int      `json:"total_tokens"`
	Model        string   `json:"model"`
	Provider     string   `json:"provider"`
	RunID        string   `json:"runId"`
	Seq          int      `json:"seq"`
	Cost         *float64 `json:"cost,omitempty"`
}

func tokenUsageFrame(u TokenUsage) Frame { return frame(eventFrame{"on_token_usage", u}) }

// ResponseFinal is responseMessage of a normal final frame.
type ResponseFinal struct {
	MessageID       string          `json:"messageId"`
	ConversationID  string          `json:"conversationId"`
	ParentMessageID string          `json:"parentMessageId"`
	IsCreatedByUser bool            `json:"isCreatedByUser"`
	IsEdited        bool            `json:"isEdited"`
	Model           string          `json:"model"`
	Sender          string          `json:"sender"`
	PromptTokens    int             `json:"promptTokens"`
	Endpoint        string          `json:"endpoint"`
	Text            string          `json:"text"`
	Content         []Part          `json:"content"`
	TokenCount      int             `json:"tokenCount"`
	Attachments     []any           `json:"attachments"`
	Metadata        json.RawMessage `json:"metadata,omitempty"`
}

func finalFrame(conv *wire.Doc, title string, req UserMessage, resp ResponseFinal) Frame {
	return frame(struct {
		Final           bool          `json:"final"`
		Conversation    *wire.Doc     `json:"conversation"`
		Title           string        `json:"title"`
		RequestMessage  UserMessage   `json:"requestMessage"`
		ResponseMessage ResponseFinal `json:"responseMessage"`
	}{true, conv, title, req, resp})
}

// abortedResponse is responseMessage of an abort's final frame.
type abortedResponse struct {
	MessageID       string `json:"messageId"`
	ParentMessageID string `json:"parentMessageId"`
	ConversationID  string `json:"conversationId"`
	Content         []Part `json:"content"`
	Sender          string `json:"sender"`
	Endpoint        string `json:"endpoint"`
	IconURL         string `json:"iconURL"`
	Model           string `json:"model"`
	Unfinished      bool   `json:"unfinished"`
	Error           bool   `json:"error"`
	IsCreatedByUser bool   `json:"isCreatedByUser"`
}

type abortedRequest struct {
	MessageID       string   `json:"messageId"`
	ParentMessageID string   `json:"parentMessageId"`
	ConversationID  string   `json:"conversationId"`
	Text            string   `json:"text"`
	Quotes          []string `json:"quotes,omitempty"`
	IsCreatedByUser bool     `json:"isCreatedByUser"`
}

// abortFrame is the final frame of an aborted job, built from its state.
func abortFrame(st *State, title string) Frame {
	type convRef struct {
		ConversationID string `json:"conversationId"`
	}
	var (
		conv *convRef
		req  *abortedRequest
		resp *abortedResponse
	)
	early := st.UserMessage == nil
	if st.UserMessage != nil {
		u := st.UserMessage
		req = &abortedRequest{u.MessageID, u.ParentMessageID, u.ConversationID, u.Text, u.Quotes, true}
		conv = &convRef{st.ConversationID}
		content := st.Content
		if content == nil {
			content = []Part{}
		}
		resp = &abortedResponse{
			MessageID: st.ResponseMessageID, ParentMessageID: u.MessageID, ConversationID: st.ConversationID,
			Content: content, Sender: st.Sender, Endpoint: st.Endpoint, IconURL: st.IconURL, Model: st.Model,
			Unfinished: true,
		}
	}
	return frame(struct {
		Final           bool             `json:"final"`
		Conversation    *convRef         `json:"conversation"`
		Title           string           `json:"title"`
		RequestMessage  *abortedRequest  `json:"requestMessage"`
		ResponseMessage *abortedResponse `json:"responseMessage"`
		Aborted         bool             `json:"aborted"`
		EarlyAbort      bool             `json:"earlyAbort"`
	}{true, conv, title, req, resp, true, early})
}

// State is what a job's frames add up to: the snapshot a resuming client
// rebuilds the reply from, and what an abort saves.
type State struct {
	ConversationID    string          `json:"conversationId"`
	UserMessage       *UserMessage    `json:"userMessage,omitempty"`
	ResponseMessageID string          `json:"responseMessageId"`
	RunSteps          []RunStep       `json:"runSteps"`
	Content           []Part          `json:"aggregatedContent"`
	Sender            string          `json:"sender"`
	IconURL           string          `json:"iconURL"`
	Model             string          `json:"model"`
	Endpoint          string          `json:"-"`
	Title             *TitleEvent     `json:"titleEvent,omitempty"`
	ContextUsage      json.RawMessage `json:"contextUsage,omitempty"`
	Usage             []TokenUsage    `json:"collectedUsage,omitempty"`
	Final             bool            `json:"-"`
	Errored           string          `json:"-"`
	steps             map[string]int  // step id → content index
}

// meta is a frame only the server reads: the reply's identity, written
// right after created so that any process can rebuild State.
type meta struct {
	Meta              bool   `json:"lcgoMeta"`
	ResponseMessageID string `json:"responseMessageId,omitempty"`
	Sender            string `json:"sender,omitempty"`
	IconURL           string `json:"iconURL,omitempty"`
	Model             string `json:"model,omitempty"`
	Endpoint          string `json:"endpoint,omitempty"`
	// Abort marks the end of a job stopped from another process: each
	// reader writes the abort frame from the frames before it, so the
	// frame holds exactly what that reader was sent.
	Abort *abortMark `json:"abort,omitempty"`
}

type abortMark struct {
	Title string `json:"title"`
}

// Fold applies one frame to the state.
func (st *State) Fold(f Frame) {
	if f.Event == "error" {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(f.Data, &e)
		st.Errored = e.Error
		return
	}
	var probe struct {
		Created bool            `json:"created"`
		Final   bool            `json:"final"`
		Meta    bool            `json:"lcgoMeta"`
		Event   string          `json:"event"`
		Data    json.RawMessage `json:"data"`
		Message *UserMessage    `json:"message"`
	}
	if json.Unmarshal(f.Data, &probe) != nil {
		return
	}
	switch {
	case probe.Created && probe.Message != nil:
		st.UserMessage = probe.Message
		st.ConversationID = probe.Message.ConversationID
	case probe.Meta:
		var m meta
		_ = json.Unmarshal(f.Data, &m)
		if m.Abort != nil {
			st.Final = true
			return
		}
		st.ResponseMessageID, st.Sender, st.IconURL, st.Model, st.Endpoint = m.ResponseMessageID, m.Sender, m.IconURL, m.Model, m.Endpoint
	case probe.Final:
		st.Final = true
	case probe.Event == "on_run_step":
		var s RunStep
		if json.Unmarshal(probe.Data, &s) == nil {
			st.RunSteps = append(st.RunSteps, s)
			if st.steps == nil {
				st.steps = map[string]int{}
			}
			st.steps[s.ID] = s.Index
			for len(st.Content) <= s.Index {
				st.Content = append(st.Content, Part{})
			}
		}
	case probe.Event == "on_message_delta" || probe.Event == "on_reasoning_delta":
		var d struct {
			ID    string `json:"id"`
			Delta struct {
				Content []Part `json:"content"`
			} `json:"delta"`
		}
		if json.Unmarshal(probe.Data, &d) != nil {
			return
		}
		i, ok := st.steps[d.ID]
		if !ok {
			return
		}
		for _, p := range d.Delta.Content {
			cur := &st.Content[i]
			cur.Type = p.Type
			cur.Text += p.Text
			cur.Think += p.Think
		}
	case probe.Event == "title":
		var t TitleEvent
		if json.Unmarshal(probe.Data, &t) == nil {
			st.Title = &t
		}
	case probe.Event == "on_context_usage":
		st.ContextUsage = probe.Data
	case probe.Event == "on_token_usage":
		var u TokenUsage
		if json.Unmarshal(probe.Data, &u) == nil {
			st.Usage = append(st.Usage, u)
		}
	}
}

// Parts is the folded content without placeholders of steps that never
// received a delta.
func (st *State) Parts() []Part {
	out := make([]Part, 0, len(st.Content))
	for _, p := range st.Content {
		if p.Type != "" {
			out = append(out, p)
		}
	}
	return out
}

// resumeState is the snapshot in a sync frame and in the status answer.
type resumeState struct {
	RunSteps          []RunStep       `json:"runSteps"`
	AggregatedContent []Part          `json:"aggregatedContent"`
	UserMessage       *UserMessage    `json:"userMessage,omitempty"`
	ResponseMessageID string          `json:"responseMessageId"`
	ConversationID    string          `json:"conversationId"`
	Sender            string          `json:"sender"`
	IconURL           string          `json:"iconURL,omitempty"`
	Model             string          `json:"model"`
	TitleEvent        *TitleEvent     `json:"titleEvent,omitempty"`
	CollectedUsage    []TokenUsage    `json:"collectedUsage,omitempty"`
	ContextUsage      json.RawMessage `json:"contextUsage,omitempty"`
}

func (st *State) resume() resumeState {
	steps := st.RunSteps
	if steps == nil {
		steps = []RunStep{}
	}
	return resumeState{
		RunSteps: steps, AggregatedContent: st.Parts(), UserMessage: st.UserMessage,
		ResponseMessageID: st.ResponseMessageID, ConversationID: st.ConversationID,
		Sender: st.Sender, IconURL: st.IconURL, Model: st.Model, TitleEvent: st.Title,
		CollectedUsage: st.Usage, ContextUsage: st.ContextUsage,
	}
}

func syncFrame(st *State) Frame {
	return frame(struct {
		Sync          bool        `json:"sync"`
		ResumeState   resumeState `json:"resumeState"`
		PendingEvents []any       `json:"pendingEvents"`
	}{true, st.resume(), []any{}})
}

// abortMarkOf returns the abort mark of a server-only frame, or nil.
func abortMarkOf(f Frame) *abortMark {
	if !isMeta(f) {
		return nil
	}
	var m meta
	if json.Unmarshal(f.Data, &m) != nil {
		return nil
	}
	return m.Abort
}

// isMeta reports whether a frame is for the server only.
func isMeta(f Frame) bool {
	return f.Event == "message" && len(f.Data) > 12 && string(f.Data[:12]) == `{"lcgoMeta":`
}
