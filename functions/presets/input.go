package presets

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/wire"
)

// Limits of the keys the server owns.
const (
	maxTitle    = 1024 // UTF-16 code units, as JavaScript counts
	maxIDLength = 128
	maxEndpoint = 256
	maxOrder    = 1 << 30
)

// kind is how a preset setting is checked and stored.
type kind uint8

const (
	kIgnored kind = iota // accepted from the client, never stored
	kString
	kEnum
	kNumber // a JSON number within [min, max]
	kTokens // an integer >= min (<= max when max > min), or a numeric string
	kBool
	kStrings // an array of strings
	kObjects // an array of objects
	kTools   // tool names, or plugin objects reduced to their pluginKey
	kObject  // any JSON object
)

type setting struct {
	kind     kind
	min, max float64
	enum     []string
}

// LibreChat's ranges (packages/data-provider/src/schemas.ts: openAISettings,
// anthropicSettings, googleSettings, agentsSettings). Where endpoints differ
// the widest range is used, so a preset valid for any endpoint is accepted.
func number(lo, hi float64) setting { return setting{kind: kNumber, min: lo, max: hi} }
func tokens(lo, hi float64) setting { return setting{kind: kTokens, min: lo, max: hi} }
func enum(vals ...string) setting   { return setting{kind: kEnum, enum: vals} }

var (
	str     = setting{kind: kString}
	boolean = setting{kind: kBool}
	ignored = setting{kind: kIgnored}
)

// settings are the keys of tConversationSchema and of the Mongo preset
// schema that a preset keeps, plus document keys the client may send back
// and the server ignores. Any other key is rejected.
var settings = map[string]setting{
	"endpointType":            str,
	"model":                   str,
	"region":                  str,
	"chatGptLabel":            str,
	"modelLabel":              str,
	"userLabel":               str,
	"promptPrefix":            str,
	"system":                  str,
	"context":                 str,
	"artifacts":               str,
	"agent_id":                str,
	"assistant_id":            str,
	"instructions":            str,
	"iconURL":                 str,
	"greeting":                str,
	"spec":                    str,
	"promptCacheTtl":          str,
	"additional_instructions": str,

	"imageDetail":       enum("low", "auto", "high"),
	"reasoning_effort":  enum("", "none", "minimal", "low", "medium", "high", "xhigh"),
	"reasoning_summary": enum("", "auto", "concise", "detailed"),
	"verbosity":         enum("", "low", "medium", "high"),
	"effort":            enum("", "low", "medium", "high", "xhigh", "max"),
	"thinkingLevel":     enum("", "minimal", "low", "medium", "high"),

	"temperature":       number(0, 2),
	"top_p":             number(0, 1),
	"topP":              number(0, 1),
	"topK":              number(1, 40),
	"presence_penalty":  number(-2, 2),
	"frequency_penalty": number(-2, 2),

	"maxOutputTokens":  tokens(1, 0),
	"maxContextTokens": tokens(1, 0),
	"max_tokens":       tokens(1, 0),
	"maxTokens":        tokens(1, 0),
	"fileTokenLimit":   tokens(0, 0),
	"thinkingBudget":   tokens(-1, 200000),

	"promptCache":             boolean,
	"thinking":                boolean,
	"resendFiles":             boolean,
	"resendImages":            boolean,
	"useResponsesApi":         boolean,
	"web_search":              boolean,
	"disableStreaming":        boolean,
	"append_current_datetime": boolean,
	"isArchived":              boolean,

	"stop":     {kind: kStrings},
	"file_ids": {kind: kStrings},
	"tags":     {kind: kStrings},
	"examples": {kind: kObjects},
	"tools":    {kind: kTools},

	"additionalModelRequestFields": {kind: kObject},

	// Document keys of a preset or a conversation the client may echo.
	"_id": ignored, "__v": ignored, "user": ignored, "tenantId": ignored,
	"createdAt": ignored, "updatedAt": ignored, "expiredAt": ignored,
	"conversationId": ignored, "messages": ignored, "parentMessageId": ignored,
	"presetOverride": ignored, "disableParams": ignored, "stream": ignored,
	"isTemporary": ignored, "pinned": ignored, "chatProjectId": ignored, "files": ignored,
}

// owned are the keys the handler reads itself.
var owned = map[string]bool{
	"presetId": true, "newPresetId": true, "title": true, "endpoint": true,
	"defaultPreset": true, "order": true,
}

// input is a validated POST /api/presets body.
type input struct {
	presetID   string
	newID      string
	title      *string
	endpoint   *string
	order      *int
	hasDefault bool // defaultPreset was sent as a boolean
	isDefault  bool
	set        map[string]json.RawMessage
	unset      []string
}

func invalid(format string, args ...any) error {
	return librechat.E(librechat.KindInvalid, format, args...)
}

// parseInput checks every key of body, in sorted order so the first
// problem reported is always the same one.
func parseInput(body wire.Object) (*input, error) {
	in := &input{set: map[string]json.RawMessage{}}
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if owned[k] {
			continue
		}
		s, ok := settings[k]
		if !ok {
			return nil, invalid("Unknown preset field %q", k)
		}
		if s.kind == kIgnored {
			continue
		}
		v, err := s.check(k, body[k])
		if err != nil {
			return nil, err
		}
		if v == nil {
			in.unset = append(in.unset, k)
		} else {
			in.set[k] = v
		}
	}

	var ok bool
	if in.presetID, ok = optionalString(body, "presetId"); !ok {
		return nil, invalid("presetId must be a string")
	}
	if in.newID, ok = optionalString(body, "newPresetId"); !ok {
		return nil, invalid("newPresetId must be a string")
	}
	for name, id := range map[string]string{"presetId": in.presetID, "newPresetId": in.newID} {
		if len(id) > maxIDLength {
			return nil, invalid("%s must be at most %d characters", name, maxIDLength)
		}
	}
	if isPresent(body, "title") {
		t, ok := optionalString(body, "title")
		if !ok {
			return nil, invalid("title must be a string")
		}
		if utf16Len(t) > maxTitle {
			return nil, invalid("title must be at most %d characters", maxTitle)
		}
		in.title = &t
	}
	if isPresent(body, "endpoint") {
		e, ok := optionalString(body, "endpoint")
		if !ok {
			return nil, invalid("endpoint must be a string")
		}
		if len(e) > maxEndpoint {
			return nil, invalid("endpoint must be at most %d characters", maxEndpoint)
		}
		in.endpoint = &e
	}
	if isPresent(body, "order") {
		f, ok := jsonNumber(body["order"])
		if !ok {
			return nil, invalid("order must be a number")
		}
		if f != math.Trunc(f) || math.Abs(f) > maxOrder {
			return nil, invalid("order must be an integer between %d and %d", -maxOrder, maxOrder)
		}
		n := int(f)
		in.order = &n
	}
	if isPresent(body, "defaultPreset") {
		switch string(bytes.TrimSpace(body["defaultPreset"])) {
		case "true":
			in.hasDefault, in.isDefault = true, true
		case "false":
			in.hasDefault = true
		default:
			return nil, invalid("defaultPreset must be a boolean")
		}
	}
	return in, nil
}

// apply writes the input over p, as LibreChat's savePreset does:
// defaultPreset true sets order 0, false removes both flag and order.
func (in *input) apply(p *librechat.Preset) {
	if in.title != nil {
		p.Title = *in.title
	}
	if in.endpoint != nil {
		p.Endpoint = *in.endpoint
	}
	if p.Fields == nil {
		p.Fields = map[string]json.RawMessage{}
	}
	for _, k := range in.unset {
		delete(p.Fields, k)
	}
	for k, v := range in.set {
		p.Fields[k] = v
	}
	if in.order != nil {
		p.Order = *in.order
	}
	switch {
	case in.hasDefault && in.isDefault:
		p.IsDefault, p.Order = true, 0
	case in.hasDefault:
		p.IsDefault, p.Order = false, noOrder
	}
}

// check validates one setting and returns the JSON to store, or nil to
// remove the key (null, or an empty numeric string).
func (s setting) check(name string, raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return nil, nil
	}
	switch s.kind {
	case kString:
		v, ok := asString(raw)
		if !ok {
			return nil, invalid("%s must be a string", name)
		}
		return encodeString(v), nil
	case kEnum:
		v, ok := asString(raw)
		if !ok || !slices.Contains(s.enum, v) {
			quoted := make([]string, len(s.enum))
			for i, e := range s.enum {
				quoted[i] = strconv.Quote(e)
			}
			return nil, invalid("%s must be one of %s", name, strings.Join(quoted, ", "))
		}
		return encodeString(v), nil
	case kNumber:
		f, ok := jsonNumber(raw)
		if !ok {
			return nil, invalid("%s must be a number", name)
		}
		if f < s.min || f > s.max {
			return nil, invalid("%s must be between %s and %s", name, fmtNum(s.min), fmtNum(s.max))
		}
		return encodeNumber(f), nil
	case kTokens:
		f, ok := jsonNumber(raw)
		if !ok {
			v, isStr := asString(raw)
			if !isStr {
				return nil, invalid("%s must be a number", name)
			}
			if strings.TrimSpace(v) == "" {
				return nil, nil
			}
			var err error
			if f, err = strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, invalid("%s must be a number", name)
			}
		}
		if f != math.Trunc(f) {
			return nil, invalid("%s must be an integer", name)
		}
		if s.max > s.min && (f < s.min || f > s.max) {
			return nil, invalid("%s must be between %s and %s", name, fmtNum(s.min), fmtNum(s.max))
		}
		if f < s.min || f > math.MaxInt32 {
			return nil, invalid("%s must be between %s and %d", name, fmtNum(s.min), math.MaxInt32)
		}
		return encodeNumber(f), nil
	case kBool:
		if v := string(raw); v != "true" && v != "false" {
			return nil, invalid("%s must be a boolean", name)
		}
		return raw, nil
	case kStrings:
		var vals []string
		if raw[0] != '[' || json.Unmarshal(raw, &vals) != nil {
			return nil, invalid("%s must be an array of strings", name)
		}
		return raw, nil
	case kObjects:
		var vals []map[string]json.RawMessage
		if raw[0] != '[' || json.Unmarshal(raw, &vals) != nil {
			return nil, invalid("%s must be an array of objects", name)
		}
		for _, v := range vals {
			if v == nil {
				return nil, invalid("%s must be an array of objects", name)
			}
		}
		return raw, nil
	case kTools:
		var vals []json.RawMessage
		if raw[0] != '[' || json.Unmarshal(raw, &vals) != nil {
			return nil, invalid("%s must be an array", name)
		}
		names := make([]string, 0, len(vals))
		for _, v := range vals {
			if s, ok := asString(v); ok {
				names = append(names, s)
				continue
			}
			var plugin struct {
				PluginKey string `json:"pluginKey"`
			}
			if v = bytes.TrimSpace(v); len(v) > 0 && v[0] == '{' && json.Unmarshal(v, &plugin) == nil && plugin.PluginKey != "" {
				names = append(names, plugin.PluginKey)
			}
		}
		b, _ := json.Marshal(names)
		return b, nil
	case kObject:
		var o map[string]json.RawMessage
		if raw[0] != '{' || json.Unmarshal(raw, &o) != nil {
			return nil, invalid("%s must be an object", name)
		}
		return raw, nil
	}
	return nil, invalid("Unknown preset field %q", name)
}

func asString(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// jsonNumber reads a JSON number (not a numeric string).
func jsonNumber(raw json.RawMessage) (float64, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return 0, false
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil {
		return 0, false
	}
	return f, true
}

// encodeString writes s as Node does, leaving <, > and & unescaped.
func encodeString(s string) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimRight(b.Bytes(), "\n")
}

func encodeNumber(f float64) json.RawMessage {
	b, _ := json.Marshal(f)
	return b
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// isPresent reports whether key is in o with a value other than null.
func isPresent(o wire.Object, key string) bool {
	v, ok := o[key]
	return ok && string(bytes.TrimSpace(v)) != "null"
}

// optionalString returns key's string value ("" when absent or null); ok
// is false when the value is of another type.
func optionalString(o wire.Object, key string) (string, bool) {
	if !isPresent(o, key) {
		return "", true
	}
	return asString(o[key])
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += max(utf16.RuneLen(r), 1)
	}
	return n
}

// readObject reads a JSON object body. An empty or null body is an empty
// object whatever its content type (the client posts no body to delete
// every preset).
func readObject(r *http.Request) (wire.Object, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, librechat.E(librechat.KindTooLarge, "Request body is larger than 3 MB")
		}
		return nil, librechat.Wrap(librechat.KindInvalid, "presets: read body", err)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		return wire.Object{}, nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, librechat.E(librechat.KindUnsupportedType, "Content-Type must be application/json")
		}
	}
	if data[0] != '{' {
		return nil, invalid("Request body must be a JSON object")
	}
	var o wire.Object
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, invalid("Invalid JSON body")
	}
	return o, nil
}
