package chat

import (
	"context"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/provider"
)

// Price is what a model costs, in US dollars per million tokens. LibreChat's
// token credits are millionths of a dollar, so the same numbers are credits
// per token.
type Price struct {
	Prompt     float64 `json:"prompt"`
	Completion float64 `json:"completion"`
}

// Cost is the dollar cost of a call.
func (p Price) Cost(in, out int) float64 {
	return (float64(in)*p.Prompt + float64(out)*p.Completion) / 1e6
}

// defaultPrice applies to models the table does not know (LibreChat's default rate).
var defaultPrice = Price{Prompt: 6, Completion: 6}

// prices maps a model-name prefix to its price; the longest matching prefix wins.
var prices = map[string]Price{
	"gpt-4o-mini":       {0.15, 0.6},
	"gpt-4o":            {2.5, 10},
	"gpt-4.1-nano":      {0.1, 0.4},
	"gpt-4.1-mini":      {0.4, 1.6},
	"gpt-4.1":           {2, 8},
	"gpt-4-turbo":       {10, 30},
	"gpt-4":             {30, 60},
	"gpt-3.5-turbo":     {0.5, 1.5},
	"gpt-5-nano":        {0.05, 0.4},
	"gpt-5-mini":        {0.25, 2},
	"gpt-5":             {1.25, 10},
	"o1-mini":           {1.1, 4.4},
	"o1":                {15, 60},
	"o3-mini":           {1.1, 4.4},
	"o3":                {2, 8},
	"o4-mini":           {1.1, 4.4},
	"claude-3-haiku":    {0.25, 1.25},
	"claude-3-5-haiku":  {0.8, 4},
	"claude-haiku-4":    {1, 5},
	"claude-3-5-sonnet": {3, 15},
	"claude-3-7-sonnet": {3, 15},
	"claude-sonnet-4":   {3, 15},
	"claude-3-opus":     {15, 75},
	"claude-opus-4":     {15, 75},
	"gemini-1.5-flash":  {0.075, 0.3},
	"gemini-1.5-pro":    {1.25, 5},
	"gemini-2.0-flash":  {0.1, 0.4},
	"gemini-2.5-flash":  {0.3, 2.5},
	"gemini-2.5-pro":    {1.25, 10},
	"offline-echo":      {0, 0},
}

// PriceOf returns the price of a model (Bedrock ids such as
// "anthropic.claude-3-5-sonnet-…" match by their model part).
func PriceOf(model string) Price {
	m := strings.ToLower(model)
	if i := strings.LastIndex(m, "."); i >= 0 && strings.Count(m, ".") >= 1 && !strings.HasPrefix(m, "gpt-") && !strings.HasPrefix(m, "gemini-") {
		m = m[i+1:]
	}
	best, price := -1, defaultPrice
	for prefix, p := range prices {
		if strings.HasPrefix(m, prefix) && len(prefix) > best {
			best, price = len(prefix), p
		}
	}
	return price
}

// Prices is the pricing table (a copy), for /api/endpoints/token-config.
func Prices() map[string]Price {
	out := make(map[string]Price, len(prices))
	for k, v := range prices {
		out[k] = v
	}
	return out
}

// contextWindows maps a model-name prefix to its context window in tokens.
var contextWindows = map[string]int{
	"gpt-4o":        127500,
	"gpt-4.1":       1047576,
	"gpt-4-turbo":   127500,
	"gpt-4":         8187,
	"gpt-3.5-turbo": 16375,
	"gpt-5":         400000,
	"o1":            195000,
	"o3":            195000,
	"o4":            195000,
	"claude":        200000,
	"gemini":        1000000,
	"offline-echo":  8192,
}

// ContextWindow is the context window of a model; 30400 when unknown
// (LibreChat's budget for unknown models after its reserve).
func ContextWindow(model string) int { return contextWindow(model) }

func contextWindow(model string) int {
	m := strings.ToLower(model)
	best, n := -1, 30400
	for prefix, w := range contextWindows {
		if strings.Contains(m, prefix) && len(prefix) > best {
			best, n = len(prefix), w
		}
	}
	return n
}

// checkBalance refuses a request when balances are on and the user's is used up.
func (s *Service) checkBalance(ctx context.Context, userID string) error {
	b := s.cfg.File.Balance
	if !b.IsEnabled() {
		return nil
	}
	bal, err := EnsureBalance(ctx, s.store, s.cfg, userID)
	if err != nil {
		return err
	}
	if bal.TokenCredits <= 0 {
		return &RequestError{Status: 402, Body: map[string]any{
			"type": "token_balance", "balance": bal.TokenCredits, "tokenCost": 0, "promptTokens": 0,
			"message": "Insufficient token balance.",
		}}
	}
	return nil
}

// EnsureBalance returns the user's balance, creating it with the
// configured starting balance on first use.
func EnsureBalance(ctx context.Context, st librechat.BalanceStore, cfg *config.Config, userID string) (*librechat.Balance, error) {
	bal, err := st.Balance(ctx, userID)
	if !librechat.IsNotFound(err) {
		return bal, err
	}
	b := cfg.File.Balance
	nb := &librechat.Balance{UserID: userID, TokenCredits: b.Start(), AutoRefillEnabled: b.AutoRefill()}
	if nb.AutoRefillEnabled {
		v, u := b.Interval()
		nb.RefillIntervalValue, nb.RefillIntervalUnit, nb.RefillAmount = int(v), u, b.Refill()
	}
	return st.PutBalanceIfAbsent(ctx, nb)
}

// charge debits the user's balance for a call, one transaction per token
// type, when balances are on.
func (s *Service) charge(ctx context.Context, userID, convID, msgID, model string, u provider.Usage) {
	if !s.cfg.File.Balance.IsEnabled() {
		return
	}
	price := PriceOf(model)
	now := s.clock.Now()
	for _, t := range []struct {
		kind   string
		tokens int
		rate   float64
	}{{"prompt", u.InputTokens, price.Prompt}, {"completion", u.OutputTokens, price.Completion}} {
		if t.tokens == 0 {
			continue
		}
		amount := -int64(math.Ceil(float64(t.tokens) * t.rate))
		_, err := s.store.AddTransaction(ctx, &librechat.Transaction{
			ID: s.ids.ObjectID(), UserID: userID, ConversationID: convID, MessageID: msgID, Model: model,
			TokenType: t.kind, RawAmount: -int64(t.tokens), Rate: t.rate, Amount: amount,
			Context: "message", CreatedAt: now,
		})
		if err != nil {
			s.log.Warn("chat: balance not debited", "user", userID, "err", err)
		}
	}
}

// titlePrompt asks for a short title.
const titlePrompt = "Write a concise title of at most 5 words for a conversation that starts with the message below. Answer with the title only, no quotes or punctuation at the end.\n\n"

// generateTitle asks the endpoint's title model (or the conversation's
// model) for a title; it falls back to the first words of the message.
func (s *Service) generateTitle(ctx context.Context, st provider.Streamer, ep config.EndpointInfo, model, text string) string {
	if ep.Offline {
		return fallbackTitle(text)
	}
	if ep.Custom != nil && ep.Custom.TitleModel != "" && ep.Custom.TitleModel != "current_model" {
		model = ep.Custom.TitleModel
	}
	if ep.Custom != nil && !ep.Custom.TitleConvo {
		return ""
	}
	var b strings.Builder
	maxTokens := 40
	req := provider.Request{Model: model, Messages: []provider.Message{{
		Role: provider.RoleUser, Parts: []provider.Part{{Type: provider.PartText, Text: titlePrompt + text}},
	}}, Params: provider.Params{MaxTokens: &maxTokens}}
	err := st.Stream(ctx, req, func(e provider.Event) error {
		if e.Kind == provider.EventText {
			b.WriteString(e.Text)
		}
		return nil
	})
	t := cleanTitle(b.String())
	if err != nil || t == "" {
		return fallbackTitle(text)
	}
	return t
}

func cleanTitle(s string) string {
	s = strings.TrimSpace(s)
	s = strings.Trim(s, "\"'`*#")
	s = strings.TrimSpace(strings.TrimPrefix(s, "Title:"))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(clip(s, maxTitle))
}

// maxTitle bounds a generated title, in bytes.
const maxTitle = 120

// clip cuts s to at most n bytes without splitting a character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// fallbackTitle is the first words of the message.
func fallbackTitle(text string) string {
	words := strings.FieldsFunc(text, func(r rune) bool { return unicode.IsSpace(r) })
	if len(words) > 6 {
		words = words[:6]
	}
	t := strings.TrimRightFunc(clip(strings.Join(words, " "), maxTitle), unicode.IsPunct)
	if t == "" {
		return ""
	}
	r := []rune(t)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}
