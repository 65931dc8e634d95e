package config

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/lcgo/lcgo/shared/chat"
	cfgpkg "github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/roles"
)

// The context-usage gauge of the chat composer reads two routes:
//
//   - GET /api/endpoints/token-config: endpoint → model → tokenomics. The
//     client takes `context` as the window of the selected model (unless the
//     conversation, agent or model spec sets maxContextTokens) and, when
//     interface.contextCost is true, the rates for the cost rows.
//   - POST /api/endpoints/context-projection: a pre-send context snapshot of
//     the viewed branch, shaped like the live on_context_usage event. The
//     client reads contextBudget, remainingContextTokens,
//     effectiveInstructionTokens and the breakdown's maxContextTokens,
//     instructionTokens and messageTokens; the rest is there for parity.

// tokenomics is one model's entry of the token config: its context window
// and, when costs are shown, its rates in US dollars per million tokens.
type tokenomics struct {
	Context    *int     `json:"context,omitempty"`
	Prompt     *float64 `json:"prompt,omitempty"`
	Completion *float64 `json:"completion,omitempty"`
}

// tokenConfig answers GET /api/endpoints/token-config for every model that
// /api/models lists, keyed by endpoint then model in that order. Rates are
// only sent while the interface advertises contextCost: true, as LibreChat
// does. Unlike LibreChat, which leaves `context` out for a model its table
// does not know, the fallback window the chat run applies to such a model
// is sent, so the gauge measures against the window actually used.
func (h *handler) tokenConfig(w http.ResponseWriter, r *http.Request) {
	in := roles.Interface(h.cfg)
	withCost, _ := in.Bool("contextCost")
	eps, lists, err := h.modelLists(r)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	out := cfgpkg.NewObject()
	for i, e := range eps {
		if len(lists[i]) == 0 {
			continue
		}
		models := cfgpkg.NewObject()
		for _, m := range lists[i] {
			window := chat.ContextWindow(m)
			t := tokenomics{Context: &window}
			if withCost {
				p := chat.PriceOf(m)
				t.Prompt, t.Completion = &p.Prompt, &p.Completion
			}
			models.Set(m, t)
		}
		out.Set(e.Name, models)
	}
	httpx.JSON(w, http.StatusOK, out)
}

// projectionRequest is the body of POST /api/endpoints/context-projection.
// Absent fields are nil; a field of the wrong JSON type is refused.
type projectionRequest struct {
	ConversationID   *string  `json:"conversationId"`
	MessageID        *string  `json:"messageId"`
	Endpoint         *string  `json:"endpoint"`
	Model            *string  `json:"model"`
	AgentID          *string  `json:"agentId"`
	Spec             *string  `json:"spec"`
	MaxContextTokens *float64 `json:"maxContextTokens"`
	CalibrationRatio *float64 `json:"calibrationRatio"`
	Revision         *float64 `json:"revision"` // client-side cache key; unused
}

// projection is the answer: the fields of LibreChat's context-usage event a
// pre-send projection fills, in its key order (runId is never set).
type projection struct {
	AgentID                    string          `json:"agentId"`
	Breakdown                  budgetBreakdown `json:"breakdown"`
	ContextBudget              int             `json:"contextBudget"`
	EffectiveInstructionTokens int             `json:"effectiveInstructionTokens"`
	PrePruneContextTokens      int             `json:"prePruneContextTokens"`
	RemainingContextTokens     int             `json:"remainingContextTokens"`
	CalibrationRatio           float64         `json:"calibrationRatio"`
}

type budgetBreakdown struct {
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

// Projection limits: past them the answer is null and the client falls back
// to its own per-message estimate (LibreChat's limits).
const (
	maxProjectionMessages       = 512
	maxProjectionBranchMessages = 256
	maxProjectionBranchBytes    = 512 << 10
	// reserveRatio is the share of the window kept free for the reply.
	reserveRatio = 0.05
	// Seeded calibration ratios are held to the bounds LibreChat's pruner
	// keeps its own running ratio in.
	minCalibrationRatio = 0.5
	maxCalibrationRatio = 5
	// maxSafeInteger bounds maxContextTokens (JavaScript's safe integers).
	maxSafeInteger = 1<<53 - 1
)

// contextProjection answers POST /api/endpoints/context-projection: what
// the next call on the viewed branch would put in the context window,
// without calling a model. The branch is walked from messageId to the root
// among the user's own messages; each message counts its stored tokenCount,
// or this server's token estimate of its text when it has none (or carries
// quotes, which join the text sent). The newest messages that fit the
// budget (the window less a 5% reply reserve) are kept, as the pruner of
// the chat run would. Like LibreChat's first cut, instructions and tools
// are not counted.
//
// The answer is null (200) when there is nothing to project: no
// conversation or message id, no positive maxContextTokens, a tail that is
// not among the user's messages, a summarized branch, or a conversation
// past the limits above. A body that is not a JSON object, or a field of
// the wrong type or out of range, is refused with 400 naming the problem.
func (h *handler) contextProjection(w http.ResponseWriter, r *http.Request) {
	var req projectionRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		if librechat.KindOf(err) == librechat.KindInvalid {
			err = invalidProjectionBody(err)
		}
		httpx.Error(w, r, err)
		return
	}
	if req.MaxContextTokens != nil && *req.MaxContextTokens > maxSafeInteger {
		httpx.Error(w, r, librechat.E(librechat.KindInvalid, "maxContextTokens must be at most %d", int64(maxSafeInteger)))
		return
	}
	if req.ConversationID == nil || *req.ConversationID == "" || req.MessageID == nil || *req.MessageID == "" {
		httpx.JSON(w, http.StatusOK, nil)
		return
	}
	if req.MaxContextTokens == nil || *req.MaxContextTokens < 1 {
		httpx.JSON(w, http.StatusOK, nil)
		return
	}
	msgs, err := h.app.Store.Messages(r.Context(), user(r).ID, *req.ConversationID)
	if librechat.IsNotFound(err) {
		httpx.JSON(w, http.StatusOK, nil)
		return
	}
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	p := project(msgs, req)
	if p == nil {
		httpx.JSON(w, http.StatusOK, nil)
		return
	}
	httpx.JSON(w, http.StatusOK, p)
}

// invalidProjectionBody words a decoding failure for the client: a field of
// the wrong type is named with the JSON type it must have; anything else is
// a body that is not one JSON object.
func invalidProjectionBody(err error) error {
	var field, goType string
	if n, _ := fmt.Sscanf(librechat.MessageOf(err), "Invalid JSON: field %q must be %s", &field, &goType); n == 2 {
		want := "a number"
		if goType == "string" {
			want = "a string"
		}
		return librechat.E(librechat.KindInvalid, "Invalid JSON: field %q must be %s", field, want)
	}
	return librechat.E(librechat.KindInvalid, "Request body must be a single JSON object")
}

// project computes the projection, or nil when there is none to give.
func project(all []*librechat.Message, req projectionRequest) *projection {
	if len(all) > maxProjectionMessages {
		return nil
	}
	byID := make(map[string]*librechat.Message, len(all))
	for _, m := range all {
		byID[m.ID] = m
	}
	var branch []*librechat.Message
	seen := map[string]bool{}
	for id := *req.MessageID; id != "" && id != librechat.NoParent && !seen[id]; {
		m := byID[id]
		if m == nil {
			break
		}
		seen[id] = true
		branch = append(branch, m)
		id = m.ParentID
	}
	if len(branch) == 0 || len(branch) > maxProjectionBranchMessages {
		return nil
	}
	// branch runs from the tail to the root.
	counts := make([]int, len(branch))
	bytes, total := 0, 0
	for i, m := range branch {
		if summarized(m) {
			return nil
		}
		text, quoted := projectionText(m)
		bytes += len(text)
		if bytes > maxProjectionBranchBytes {
			return nil
		}
		n := m.TokenCount
		if quoted || n <= 0 {
			n = chat.EstimateTokens(text)
		}
		counts[i] = n
		total += n
	}

	maxTokens := int(*req.MaxContextTokens)
	ratio := 1.0
	if c := req.CalibrationRatio; c != nil && *c > 0 {
		ratio = min(max(*c, minCalibrationRatio), maxCalibrationRatio)
	}
	budget := maxTokens - int(math.Round(float64(maxTokens)*reserveRatio))
	calibrated := func(n int) int { return int(math.Round(float64(n) * ratio)) }

	kept, keptTokens := len(branch), total
	if calibrated(total) > budget {
		// Keep the newest messages that fit, stopping at the first that
		// does not.
		kept, keptTokens = 0, 0
		for _, n := range counts {
			if calibrated(keptTokens+n) > budget {
				break
			}
			kept++
			keptTokens += n
		}
	}
	remaining := max(0, budget-calibrated(keptTokens))

	agentID := "projection"
	if req.AgentID != nil && *req.AgentID != "" {
		agentID = *req.AgentID
	}
	return &projection{
		AgentID: agentID,
		Breakdown: budgetBreakdown{
			MaxContextTokens:     maxTokens,
			MessageCount:         kept,
			MessageTokens:        budget - remaining,
			AvailableForMessages: budget,
			ToolTokenCounts:      map[string]int{},
		},
		ContextBudget:          budget,
		PrePruneContextTokens:  calibrated(total),
		RemainingContextTokens: remaining,
		CalibrationRatio:       ratio,
	}
}

// projectionText is the text a message contributes to the prompt, as the
// chat run builds it: its text parts (or its text), after any quotes of a
// user message. quoted reports whether quotes were added.
func projectionText(m *librechat.Message) (string, bool) {
	text := partsText(m.Content)
	if text == "" {
		text = m.Text
	}
	if !m.IsCreatedByUser {
		return text, false
	}
	raw, ok := m.Fields["quotes"]
	if !ok {
		return text, false
	}
	var quotes []string
	if json.Unmarshal(raw, &quotes) != nil || len(quotes) == 0 {
		return text, false
	}
	var b strings.Builder
	for _, q := range quotes {
		b.WriteString("> ")
		b.WriteString(strings.ReplaceAll(q, "\n", "\n> "))
		b.WriteString("\n\n")
	}
	return b.String() + text, true
}

// partsText joins the text of a message's content parts. A part's text is
// a string, or an object with a string value.
func partsText(content json.RawMessage) string {
	if len(content) == 0 {
		return ""
	}
	var parts []struct {
		Type string          `json:"type"`
		Text json.RawMessage `json:"text"`
	}
	if json.Unmarshal(content, &parts) != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range parts {
		if len(p.Text) == 0 {
			continue
		}
		var s string
		if json.Unmarshal(p.Text, &s) == nil {
			b.WriteString(s)
			continue
		}
		var v struct {
			Value string `json:"value"`
		}
		if json.Unmarshal(p.Text, &v) == nil {
			b.WriteString(v.Value)
		}
	}
	return b.String()
}

// summarized reports whether the message carries the compaction marker
// (metadata.summaryUsedTokens > 0): the next call would send a summary and
// the tail, not the raw branch, so no projection is given.
func summarized(m *librechat.Message) bool {
	raw, ok := m.Fields["metadata"]
	if !ok {
		return false
	}
	var md struct {
		SummaryUsedTokens float64 `json:"summaryUsedTokens"`
	}
	return json.Unmarshal(raw, &md) == nil && md.SummaryUsedTokens > 0
}
