package messages

import (
	"encoding/json"
	"math"
	"net/http"
	"regexp"
	"strings"
	"unicode"

	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/wire"
)

// Artifact markers in a response's markdown.
const (
	artifactStart = ":::artifact"
	artifactEnd   = ":::"
)

// artifact is POST /api/messages/artifact/:messageId {index, original,
// updated}: replace original with updated inside the index-th artifact of
// the message (counted over its text parts, or its text when no part has
// one).
func (h *handler) artifact(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("messageId")
	body, ok := decode(w, r)
	if !ok {
		return
	}
	idx, isNum := numberOf(body["index"])
	original, ok1 := stringOf(body["original"])
	updated, ok2 := stringOf(body["updated"])
	if !isNum || idx < 0 || idx != math.Trunc(idx) || !ok1 || !ok2 {
		fail(w, http.StatusBadRequest, "Invalid request parameters")
		return
	}
	m, err := h.findMessage(r, user(r).ID, id)
	if err != nil {
		if librechat.IsNotFound(err) {
			fail(w, http.StatusNotFound, msgMessageNotFound)
			return
		}
		httpx.Error(w, r, err)
		return
	}
	parts, _ := arrayOf(m.Content)
	spans := findArtifacts(parts, m.Text)
	if idx >= float64(len(spans)) {
		fail(w, http.StatusBadRequest, "Artifact index out of bounds")
		return
	}
	span := spans[int(idx)]
	replaced, found := replaceArtifact(span, unescapeLaTeX(original), unescapeLaTeX(updated))
	if !found || replaced == "" {
		fail(w, http.StatusBadRequest, "Original content not found in target artifact")
		return
	}
	if span.part >= 0 {
		part, _ := parseObject(parts[span.part])
		part.set("text", mustRaw(replaced))
		parts[span.part] = mustRaw(part)
		m.Content = mustRaw(parts)
	} else {
		m.Text = replaced
	}
	m.UpdatedAt = h.clock.Now()
	if !h.put(w, r, m) {
		return
	}
	d := &wire.Doc{}
	d.Head("conversationId", m.ConversationID)
	if len(m.Content) > 0 {
		d.Head("content", m.Content)
	}
	d.Head("text", m.Text)
	httpx.JSON(w, http.StatusOK, d)
}

// artifactSpan is one artifact: [start, end) of text, which is the text
// of content part part, or the message's text when part is -1.
type artifactSpan struct {
	start, end int
	part       int
	text       string
}

// findArtifacts lists the artifacts of the text parts of content, or of
// text when the parts have none.
func findArtifacts(parts []json.RawMessage, text string) []artifactSpan {
	var spans []artifactSpan
	for i, p := range parts {
		part, ok := parseObject(p)
		if !ok {
			continue
		}
		if t, _ := part.str("type"); t != "text" {
			continue
		}
		if s, ok := part.str("text"); ok {
			spans = appendArtifacts(spans, s, i)
		}
	}
	if len(spans) == 0 && text != "" {
		spans = appendArtifacts(spans, text, -1)
	}
	return spans
}

func appendArtifacts(spans []artifactSpan, text string, part int) []artifactSpan {
	at := 0
	for {
		i := strings.Index(text[at:], artifactStart)
		if i == -1 {
			return spans
		}
		start := at + i
		end := artifactEndAt(text, start)
		spans = append(spans, artifactSpan{start: start, end: end, part: part, text: text})
		at = end
	}
}

func lineEnd(text string, start int) int {
	if start >= len(text) {
		return len(text)
	}
	if i := strings.IndexByte(text[start:], '\n'); i >= 0 {
		return start + i
	}
	return len(text)
}

func nextLineStart(text string, end int) int {
	if end >= len(text) {
		return len(text)
	}
	return end + 1
}

func isCloseLine(line string) bool { return strings.TrimSpace(line) == artifactEnd }

// fence is a markdown code fence: its character and length.
type fence struct {
	marker byte
	length int
	// contentStart is where the fenced block's first line begins (opening
	// fences only).
	contentStart int
}

func codeFence(line string) *fence {
	t := strings.TrimLeftFunc(line, unicode.IsSpace)
	if t == "" || (t[0] != '`' && t[0] != '~') {
		return nil
	}
	n := 0
	for n < len(t) && t[n] == t[0] {
		n++
	}
	if n < 3 {
		return nil
	}
	return &fence{marker: t[0], length: n}
}

func closesFence(line string, f *fence) bool {
	t := strings.TrimSpace(line)
	if len(t) < f.length {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] != f.marker {
			return false
		}
	}
	return true
}

// artifactEndAt finds where the artifact opened at start ends: after its
// closing ":::" line, skipping ":::" lines inside code fences unless the
// fence never closes.
func artifactEndAt(text string, start int) int {
	at := nextLineStart(text, lineEnd(text, start))
	var open *fence
	fallback := -1
	for at < len(text) {
		end := lineEnd(text, at)
		line := text[at:end]
		if isCloseLine(line) {
			if open == nil {
				return end
			}
			fallback = end
		}
		if f := codeFence(line); f != nil && open == nil {
			open = f
		} else if open != nil && closesFence(line, open) {
			open = nil
		}
		at = nextLineStart(text, end)
	}
	if open != nil && fallback != -1 {
		return fallback
	}
	return len(text)
}

// searchRange is the part of an artifact the original text is looked for
// in: the inside of its code block when it is one fenced block, else
// everything between the opening line and the last ":::" line.
func searchRange(a string) (int, int, bool) {
	openEnd := lineEnd(a, max(strings.Index(a, artifactStart), 0))
	if openEnd >= len(a) {
		return 0, 0, false
	}
	contentStart := nextLineStart(a, openEnd)
	contentEnd := len(a)
	for at := contentStart; at < len(a); {
		end := lineEnd(a, at)
		if isCloseLine(a[at:end]) {
			contentEnd = at
		}
		at = nextLineStart(a, end)
	}
	open := openingFence(a, contentStart, contentEnd)
	if open == nil {
		return contentStart, contentEnd, true
	}
	closeStart := -1
	for at := open.contentStart; at < contentEnd; {
		end := lineEnd(a, at)
		if closesFence(a[at:end], open) {
			closeStart = at
			break
		}
		at = nextLineStart(a, end)
	}
	if closeStart == -1 {
		return open.contentStart, contentEnd, true
	}
	if strings.TrimSpace(substring(a, lineEnd(a, closeStart), contentEnd)) != "" {
		return contentStart, contentEnd, true
	}
	searchEnd := closeStart
	if closeStart > 0 && a[closeStart-1] == '\n' {
		searchEnd = closeStart - 1
	}
	return open.contentStart, searchEnd, true
}

// openingFence is the code fence the artifact's content starts with, if any.
func openingFence(text string, start, end int) *fence {
	content := substring(text, start, end)
	i := strings.IndexFunc(content, func(r rune) bool { return !unicode.IsSpace(r) })
	if i == -1 {
		return nil
	}
	at := min(start, end) + i
	le := lineEnd(text, at)
	f := codeFence(text[at:le])
	if f == nil {
		return nil
	}
	f.contentStart = nextLineStart(text, le)
	return f
}

// replaceArtifact replaces original (less one trailing newline) with
// updated inside span and returns the whole new text.
func replaceArtifact(span artifactSpan, original, updated string) (string, bool) {
	a := span.text[span.start:span.end]
	start, end, ok := searchRange(a)
	if !ok {
		return "", false
	}
	inner := substring(a, start, end)
	want := strings.TrimSuffix(original, "\n")
	at := strings.Index(inner, want)
	if want == "" && strings.TrimSpace(inner) != "" {
		at = -1
	}
	if at == -1 {
		return "", false
	}
	abs := span.start + start + at
	return collapseBeforeClose(replaceRange(span.text, abs, abs+len(want), updated)), true
}

// replaceRange puts updated in place of text[start:end], keeping a line
// break after it.
func replaceRange(text string, start, end int, updated string) string {
	rest := substring(text, end, len(text))
	sep := "\n"
	if strings.HasPrefix(rest, "\n") || strings.HasSuffix(updated, "\n") {
		sep = ""
	}
	return substring(text, 0, start) + updated + sep + rest
}

// collapseBeforeClose turns runs of line breaks in front of a "```\n:::"
// block end into one.
func collapseBeforeClose(s string) string {
	const closing = "```\n:::"
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '\n' {
			j := strings.IndexByte(s[i:], '\n')
			if j == -1 {
				b.WriteString(s[i:])
				break
			}
			b.WriteString(s[i : i+j])
			i += j
			continue
		}
		j := i
		for j < len(s) && s[j] == '\n' {
			j++
		}
		if strings.HasPrefix(s[j:], closing) {
			b.WriteByte('\n')
		} else {
			b.WriteString(s[i:j])
		}
		i = j
	}
	return b.String()
}

// substring is JavaScript's String.prototype.substring: bounds are
// clamped and swapped when reversed.
func substring(s string, a, b int) string {
	a, b = min(max(a, 0), len(s)), min(max(b, 0), len(s))
	if a > b {
		a, b = b, a
	}
	return s[a:b]
}

// The client escapes dollar signs (and mhchem) for rendering; the stored
// text has them unescaped.
var (
	escapedDollar = regexp.MustCompile(`\\\\?\$`)
	mhchemCe      = regexp.MustCompile(`\$\$\\\\ce\{([^}]*)\}\$\$`)
	mhchemPu      = regexp.MustCompile(`\$\$\\\\pu\{([^}]*)\}\$\$`)
)

func unescapeLaTeX(s string) string {
	if s == "" {
		return s
	}
	s = escapedDollar.ReplaceAllLiteralString(s, "$")
	s = mhchemCe.ReplaceAllString(s, `$$\ce{${1}}$$`)
	return mhchemPu.ReplaceAllString(s, `$$\pu{${1}}$$`)
}
