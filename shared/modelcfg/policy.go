package modelcfg

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/lcgo/lcgo/shared/chat"
	"github.com/lcgo/lcgo/shared/librechat"
)

// Refusal types of the chat policy, as the client knows them
// (LibreChat's ErrorTypes.INVALID_REQUEST and
// ViolationTypes.ILLEGAL_MODEL_REQUEST).
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeIllegalModel   = "illegal_model_request"
)

// Policy re-applies the configuration named in a chat request's "spec". It
// implements chat.Policy. Refusals are *chat.RequestError with these
// bodies:
//
//	400 {"type":"invalid_request_error","info":"No model spec selected ..."}
//	    enforcement is on and the request names no configuration
//	400 {"type":"invalid_request_error","info":"Model configuration \"x\" is not available","spec":"x"}
//	    the user sees no configuration of that name
//	403 {"type":"illegal_model_request","info":"<endpoint>|<model>","message":"...","spec":"x"}
//	    another endpoint, or a model the configuration does not allow
//	403 {"type":"invalid_request_error","info":"Tool \"t\" is not allowed ...","spec":"x","tool":"t"}
//	400 {"type":"invalid_request_error","info":"temperature 1.5 is above the maximum 1 ...","spec":"x","param":"temperature"}
//	    a parameter breaks a constraint whose onViolation is reject, or has the wrong type
type Policy struct {
	r *Resolver
}

// Policy returns the chat policy of the resolver's configurations.
func (r *Resolver) Policy() *Policy { return &Policy{r: r} }

var _ chat.Policy = (*Policy)(nil)

func refuse(status int, typ, info string, extra ...string) *chat.RequestError {
	body := map[string]any{"type": typ, "info": info}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i]] = extra[i+1]
	}
	return &chat.RequestError{Status: status, Body: body}
}

// Apply checks and rewrites one start request. Without "spec" the request
// passes unchanged unless the operator enforces configurations. With one,
// the configuration's endpoint and model are required (a model from its
// allowedModels may be picked), tools it does not allow are refused, its
// parameters are applied and the request's checked against its
// constraints, the user's own instructions are dropped unless it allows
// overriding, and its system message is returned for the model call only.
func (p *Policy) Apply(ctx context.Context, userID, endpoint string, payload map[string]json.RawMessage) (*chat.Applied, error) {
	name, isString := stringOf(payload["spec"])
	if !isString {
		return nil, refuse(400, TypeInvalidRequest, "spec must be a string")
	}
	if name == "" {
		if p.r.enforce {
			return nil, refuse(400, TypeInvalidRequest, "No model spec selected: this server only accepts chats through one of its model configurations")
		}
		return &chat.Applied{Endpoint: endpoint, Payload: payload}, nil
	}
	res, err := p.r.Find(ctx, userID, name)
	if librechat.IsNotFound(err) {
		return nil, refuse(400, TypeInvalidRequest, fmt.Sprintf("Model configuration %q is not available", name), "spec", name)
	}
	if err != nil {
		return nil, err
	}
	s := res.Spec

	out := make(map[string]json.RawMessage, len(payload)+4)
	for k, v := range payload {
		out[k] = v
	}
	if endpoint == "" {
		endpoint, _ = stringOf(payload["endpoint"])
	}
	model, ok := stringOf(payload["model"])
	if !ok {
		return nil, refuse(400, TypeInvalidRequest, "model must be a string", "spec", name)
	}
	if endpoint != "" && endpoint != s.Endpoint {
		return nil, refuse(403, TypeIllegalModel, endpoint+"|"+model, "spec", name,
			"message", fmt.Sprintf("Model configuration %q uses endpoint %q, not %q", name, s.Endpoint, endpoint))
	}
	if model == "" {
		model = s.Model
	}
	if !contains(s.Models(), model) {
		return nil, refuse(403, TypeIllegalModel, s.Endpoint+"|"+model, "spec", name,
			"message", fmt.Sprintf("Model %q is not allowed by model configuration %q (allowed: %s)", model, name, strings.Join(s.Models(), ", ")))
	}
	if s.AllowedTools != nil {
		tools, rerr := requestedTools(payload)
		if rerr != nil {
			return nil, rerr
		}
		for _, t := range tools {
			if !toolAllowed(s.AllowedTools, t) {
				return nil, refuse(403, TypeInvalidRequest, fmt.Sprintf("Tool %q is not allowed by model configuration %q", t, name), "spec", name, "tool", t)
			}
		}
	}
	if err := applyParams(s, out); err != nil {
		return nil, err
	}
	if !s.AllowOverride {
		for _, f := range privatePresetFields {
			delete(out, f)
		}
	}
	out["endpoint"] = mustJSON(s.Endpoint)
	out["model"] = mustJSON(model)
	out["spec"] = mustJSON(name)
	if s.IconURL != "" {
		out["iconURL"] = mustJSON(s.IconURL)
	}
	return &chat.Applied{Endpoint: s.Endpoint, Payload: out, System: s.SystemMessage}, nil
}

// applyParams applies the configuration's parameters and checks the
// request's against its constraints, in place.
func applyParams(s *Spec, out map[string]json.RawMessage) error {
	for i := range paramDefs {
		def := &paramDefs[i]
		c, constrained := s.Constraints[def.name]
		conf, hasConf := s.Parameters[def.name]
		var present []string
		for _, k := range def.keys() {
			if v, ok := out[k]; ok {
				if unset(def, v) {
					delete(out, k)
					continue
				}
				present = append(present, k)
			}
		}
		if len(present) == 0 {
			if hasConf {
				out[def.name] = encodeValue(conf)
			}
			continue
		}
		if !constrained {
			if hasConf && !s.AllowOverride {
				for _, k := range present {
					out[k] = encodeValue(conf)
				}
				out[def.name] = encodeValue(conf)
			}
			continue
		}
		var final any
		for _, k := range present {
			v, msg := requestValue(def, out[k])
			if msg != "" {
				return refuse(400, TypeInvalidRequest, fmt.Sprintf("%s %s", k, msg), "spec", s.Name, "param", def.name)
			}
			if msg := violation(def, c, v); msg != "" {
				if s.violationMode(c) == Reject {
					return refuse(400, TypeInvalidRequest, fmt.Sprintf("%s (model configuration %q)", msg, s.Name), "spec", s.Name, "param", def.name)
				}
				v = clampValue(def, c, v, conf, hasConf)
			}
			out[k] = encodeValue(v)
			if final == nil {
				final = v
			}
		}
		if _, ok := out[def.name]; !ok {
			out[def.name] = encodeValue(final)
		}
	}
	return nil
}

// unset reports whether a request value means "not set".
func unset(def *paramDef, v json.RawMessage) bool {
	t := strings.TrimSpace(string(v))
	return t == "null" || t == "" || (def.kind == pEnum && t == `""`)
}

// requestValue reads a request's parameter value ("" message when valid).
func requestValue(def *paramDef, raw json.RawMessage) (any, string) {
	switch def.kind {
	case pNumber, pInteger:
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, "must be a number"
		}
		if def.kind == pInteger {
			if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
				return nil, "must be an integer"
			}
			return int64(f), ""
		}
		return f, ""
	case pEnum:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, "must be a string"
		}
		return s, ""
	default:
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, "must be a boolean"
		}
		return b, ""
	}
}

// clampValue replaces a value that breaks c: with the nearest bound, or,
// for allowed values, with the configured value, else the nearest (numbers)
// or first allowed one.
func clampValue(def *paramDef, c Constraint, v, conf any, hasConf bool) any {
	if c.Allowed != nil && !containsValue(c.Allowed, v) {
		if hasConf && containsValue(c.Allowed, conf) {
			return conf
		}
		if def.numeric() {
			best, dist := c.Allowed[0], math.Inf(1)
			for _, a := range c.Allowed {
				if d := math.Abs(toFloat(a) - toFloat(v)); d < dist {
					best, dist = a, d
				}
			}
			return best
		}
		return c.Allowed[0]
	}
	if !def.numeric() {
		return v
	}
	f := toFloat(v)
	if c.Min != nil && f < *c.Min {
		f = *c.Min
	}
	if c.Max != nil && f > *c.Max {
		f = *c.Max
	}
	return numberValue(def, f)
}

func encodeValue(v any) json.RawMessage {
	switch t := v.(type) {
	case float64:
		return json.RawMessage(strconv.FormatFloat(t, 'g', -1, 64))
	case int64:
		return json.RawMessage(strconv.FormatInt(t, 10))
	}
	return mustJSON(v)
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// stringOf reads an optional string: absent and null are "", another type
// is not a string.
func stringOf(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ephemeralSwitches are the tool switches of a request's ephemeralAgent.
var ephemeralSwitches = []string{"web_search", "file_search", "execute_code", "artifacts"}

// requestedTools lists the tools a request enables: its tools list (names,
// or objects with pluginKey or name), the switches of ephemeralAgent
// (web_search, file_search, execute_code, artifacts, and mcp:<server> for
// each MCP server) and a top-level web_search: true.
func requestedTools(payload map[string]json.RawMessage) ([]string, *chat.RequestError) {
	var out []string
	if raw, ok := payload["tools"]; ok && string(raw) != "null" {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, refuse(400, TypeInvalidRequest, "tools must be a list")
		}
		for i, it := range items {
			var name string
			if json.Unmarshal(it, &name) != nil {
				var obj struct {
					PluginKey string `json:"pluginKey"`
					Name      string `json:"name"`
				}
				_ = json.Unmarshal(it, &obj)
				name = obj.PluginKey
				if name == "" {
					name = obj.Name
				}
			}
			if name == "" {
				return nil, refuse(400, TypeInvalidRequest, fmt.Sprintf("tools[%d] names no tool", i))
			}
			out = append(out, name)
		}
	}
	if raw, ok := payload["ephemeralAgent"]; ok && string(raw) != "null" {
		var ea map[string]json.RawMessage
		if err := json.Unmarshal(raw, &ea); err != nil {
			return nil, refuse(400, TypeInvalidRequest, "ephemeralAgent must be an object")
		}
		for _, k := range ephemeralSwitches {
			if v, ok := ea[k]; ok && enabled(v) {
				out = append(out, k)
			}
		}
		if v, ok := ea["mcp"]; ok && string(v) != "null" {
			var servers []string
			if json.Unmarshal(v, &servers) != nil {
				return nil, refuse(400, TypeInvalidRequest, "ephemeralAgent.mcp must be a list of server names")
			}
			for _, s := range servers {
				out = append(out, "mcp:"+s)
			}
		}
	}
	if raw, ok := payload["web_search"]; ok && enabled(raw) {
		out = append(out, "web_search")
	}
	return dedupe(out), nil
}

// enabled reports whether a tool switch is on: true, a non-empty string,
// a non-empty list or object.
func enabled(v json.RawMessage) bool {
	var x any
	if json.Unmarshal(v, &x) != nil {
		return false
	}
	switch t := x.(type) {
	case bool:
		return t
	case string:
		return t != ""
	case []any:
		return len(t) > 0
	case map[string]any:
		return len(t) > 0
	case float64:
		return t != 0
	}
	return false
}

func toolAllowed(allowed []string, tool string) bool {
	if contains(allowed, tool) {
		return true
	}
	return strings.HasPrefix(tool, "mcp:") && contains(allowed, "mcp:*")
}
