// Package modelcfg is the operator's predefined model configurations: the
// Spec a configuration holds, its strict parsing (JSON from the store and
// the admin API, YAML from the models file and librechat.yaml), the
// resolution of the configurations one user sees (system, the user's groups
// and the user's own), the chat Policy that re-applies a configuration to
// every request, and the sanitized view the client receives as modelSpecs.
//
// # Spec
//
// A configuration is a JSON object (YAML in files) with these fields; any
// other field is refused:
//
//	name           required; 1-128 characters: letters, digits, space and . _ - : @ + ( ) /
//	label          menu title (default: name)
//	description    menu subtitle
//	endpoint       required; an endpoint name (openAI, anthropic, google, bedrock or a custom one)
//	model          required; the model a request through the configuration uses
//	allowedModels  further models of the endpoint a request may pick instead
//	systemMessage  the system message; never sent to the browser
//	parameters     {name: value}: the values applied to every request (see below)
//	constraints    {name: {min, max, allowed: [...], onViolation}}: limits on what a request may send
//	onViolation    "reject" (default) or "clamp": what a constraint does when broken
//	allowedTools   tools a request may enable; absent: any, []: none
//	allowOverride  false (default): the user's own instructions (promptPrefix) are dropped and
//	               parameters without a constraint are fixed to the configured value;
//	               true: the user may add instructions and change unconstrained parameters
//	iconURL        an http(s) URL or an endpoint name whose icon to reuse
//	group          the menu group (an endpoint name nests the entry under that endpoint)
//	order          menu position (ascending; entries without one come last)
//	priority       breaks a tie between two of the user's groups defining the same name (higher wins)
//	default        selected for new chats
//
// Parameters (aliases in parentheses; ranges are LibreChat's):
//
//	temperature        number 0..2
//	top_p (topP)       number 0..1
//	topK (top_k)       integer 1..40
//	max_tokens (maxOutputTokens, maxTokens)  integer 1..2000000
//	presence_penalty (presencePenalty)       number -2..2
//	frequency_penalty (frequencyPenalty)     number -2..2
//	reasoning_effort (reasoningEffort)       none | minimal | low | medium | high | xhigh
//	thinking           boolean
//	thinkingBudget     integer -1..200000
//	maxContextTokens   integer 1..10000000
//
// A parameter with a constraint is the user's to choose within it (the
// configured value is the default when the request has none). min and max
// apply to numeric parameters; allowed lists the only values accepted. When
// a request breaks a constraint, "reject" refuses it and "clamp" replaces
// the value: with the nearest bound, or for allowed values with the
// configured value, else the nearest (numbers) or first allowed value.
//
// Tools are named as the client enables them: web_search, file_search,
// execute_code, artifacts, mcp:<server> for an MCP server ("mcp:*": any),
// and the names in a request's tools list.
package modelcfg

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
)

// Violation handling.
const (
	Reject = "reject"
	Clamp  = "clamp"
)

// Spec is one model configuration.
type Spec struct {
	Name          string
	Label         string
	Description   string
	Endpoint      string
	Model         string
	AllowedModels []string
	// SystemMessage is used for the model call only.
	SystemMessage string
	// Parameters holds canonical parameter names with float64 (numbers),
	// int64 (integers), string or bool values.
	Parameters map[string]any
	// Constraints is keyed by canonical parameter name.
	Constraints map[string]Constraint
	// OnViolation is Reject or Clamp ("" means Reject).
	OnViolation string
	// AllowedTools is nil when any tool is allowed, empty when none is.
	AllowedTools  []string
	AllowOverride bool
	IconURL       string
	Group         string
	Order         *int
	Priority      int
	Default       bool
}

// Constraint limits one parameter.
type Constraint struct {
	Min *float64
	Max *float64
	// Allowed values, typed like Spec.Parameters.
	Allowed []any
	// OnViolation overrides the Spec's ("" keeps it).
	OnViolation string
}

type paramKind uint8

const (
	pNumber paramKind = iota
	pInteger
	pEnum
	pBool
)

// paramDef is a parameter a configuration can set and constrain.
type paramDef struct {
	name     string
	aliases  []string
	kind     paramKind
	min, max float64
	enum     []string
}

// keys are every key the parameter goes by in a request.
func (d *paramDef) keys() []string { return append([]string{d.name}, d.aliases...) }

func (d *paramDef) numeric() bool { return d.kind == pNumber || d.kind == pInteger }

var paramDefs = []paramDef{
	{name: "temperature", kind: pNumber, min: 0, max: 2},
	{name: "top_p", aliases: []string{"topP"}, kind: pNumber, min: 0, max: 1},
	{name: "topK", aliases: []string{"top_k"}, kind: pInteger, min: 1, max: 40},
	{name: "max_tokens", aliases: []string{"maxOutputTokens", "maxTokens"}, kind: pInteger, min: 1, max: 2_000_000},
	{name: "presence_penalty", aliases: []string{"presencePenalty"}, kind: pNumber, min: -2, max: 2},
	{name: "frequency_penalty", aliases: []string{"frequencyPenalty"}, kind: pNumber, min: -2, max: 2},
	{name: "reasoning_effort", aliases: []string{"reasoningEffort"}, kind: pEnum, enum: []string{"none", "minimal", "low", "medium", "high", "xhigh"}},
	{name: "thinking", kind: pBool},
	{name: "thinkingBudget", kind: pInteger, min: -1, max: 200_000},
	{name: "maxContextTokens", kind: pInteger, min: 1, max: 10_000_000},
}

// lookupParam finds a parameter by its name or an alias.
func lookupParam(key string) *paramDef {
	for i := range paramDefs {
		for _, k := range paramDefs[i].keys() {
			if k == key {
				return &paramDefs[i]
			}
		}
	}
	return nil
}

func paramNames() string {
	names := make([]string, len(paramDefs))
	for i := range paramDefs {
		names[i] = paramDefs[i].name
	}
	return strings.Join(names, ", ")
}

// Field limits.
const (
	maxName        = 128
	maxLabel       = 256
	maxDescription = 4096
	maxSystem      = 200_000
	maxEndpoint    = 128
	maxModel       = 256
	maxURL         = 2048
	maxList        = 200
	maxAllowed     = 64
	maxTool        = 128
)

var specFields = map[string]bool{
	"name": true, "label": true, "description": true, "endpoint": true, "model": true,
	"allowedModels": true, "systemMessage": true, "parameters": true, "constraints": true,
	"onViolation": true, "allowedTools": true, "allowOverride": true, "iconURL": true,
	"group": true, "order": true, "priority": true, "default": true,
}

// builtinEndpoints are LibreChat's endpoint names, matched case-insensitively.
var builtinEndpoints = []string{
	config.EndpointOpenAI, config.EndpointGoogle, config.EndpointAnthropic, config.EndpointBedrock,
	"azureOpenAI", "agents", "assistants", "azureAssistants",
}

// ParseSpec reads and validates one configuration as JSON. It fails with a
// librechat.KindInvalid error whose message starts with the path of the
// field at fault (e.g. "parameters.temperature: 3 is outside 0..2").
func ParseSpec(raw []byte) (*Spec, error) {
	n, err := decodeJSON(raw, "")
	if err != nil {
		return nil, invalid(err)
	}
	s, ferr := parseSpec(n, false)
	if ferr != nil {
		return nil, invalid(ferr)
	}
	return s, nil
}

func invalid(err error) error {
	return &librechat.Error{Kind: librechat.KindInvalid, Message: "invalid model configuration: " + err.Error()}
}

// UnmarshalJSON parses strictly, as ParseSpec does.
func (s *Spec) UnmarshalJSON(b []byte) error {
	p, err := ParseSpec(b)
	if err != nil {
		return err
	}
	*s = *p
	return nil
}

// parseSpec reads a configuration node. lenientName accepts any name
// without control characters (librechat.yaml's model specs, which LibreChat
// names freely).
func parseSpec(n *node, lenientName bool) (*Spec, *fieldError) {
	if n.kind != kindObject {
		return nil, n.typeErr("an object")
	}
	for _, k := range n.keys {
		if !specFields[k] {
			return nil, n.keyErr(k, "unknown field")
		}
	}
	s := &Spec{}
	var err *fieldError
	str := func(key string, max int, newlines bool, dst *string) {
		if err != nil {
			return
		}
		if v, ok := n.get(key); ok {
			*dst, err = v.text(max, newlines)
		}
	}
	str("name", maxName, false, &s.Name)
	str("label", maxLabel, false, &s.Label)
	str("description", maxDescription, true, &s.Description)
	str("endpoint", maxEndpoint, false, &s.Endpoint)
	str("model", maxModel, false, &s.Model)
	str("systemMessage", maxSystem, true, &s.SystemMessage)
	str("onViolation", 16, false, &s.OnViolation)
	str("iconURL", maxURL, false, &s.IconURL)
	str("group", maxLabel, false, &s.Group)
	if err != nil {
		return nil, err
	}

	name, _ := n.get("name")
	switch {
	case strings.TrimSpace(s.Name) == "":
		return nil, missing(n, "name")
	case !lenientName && !safeName(s.Name):
		return nil, errAt(name, "%s is not a valid name: use 1-%d letters, digits, spaces and . _ - : @ + ( ) /, starting with a letter or digit", quote(s.Name), maxName)
	}
	if strings.TrimSpace(s.Endpoint) == "" {
		return nil, missing(n, "endpoint")
	}
	s.Endpoint = canonicalBuiltin(s.Endpoint)
	if strings.TrimSpace(s.Model) == "" {
		return nil, missing(n, "model")
	}
	if s.OnViolation != "" && s.OnViolation != Reject && s.OnViolation != Clamp {
		v, _ := n.get("onViolation")
		return nil, errAt(v, "must be %q or %q, not %s", Reject, Clamp, quote(s.OnViolation))
	}
	if s.IconURL != "" {
		if msg := checkIconURL(s.IconURL); msg != "" {
			v, _ := n.get("iconURL")
			return nil, errAt(v, "%s", msg)
		}
	}

	if v, ok := n.get("allowedModels"); ok {
		if s.AllowedModels, err = v.strings(); err != nil {
			return nil, err
		}
		if len(s.AllowedModels) > maxList {
			return nil, errAt(v, "lists more than %d models", maxList)
		}
		for i, m := range s.AllowedModels {
			if strings.TrimSpace(m) == "" || len(m) > maxModel || hasControl(m, false) {
				return nil, errAt(v.items[i], "must be a model name of 1-%d characters", maxModel)
			}
		}
		s.AllowedModels = dedupe(s.AllowedModels)
	}
	if v, ok := n.get("allowedTools"); ok {
		tools, err := v.strings()
		if err != nil {
			return nil, err
		}
		if len(tools) > maxList {
			return nil, errAt(v, "lists more than %d tools", maxList)
		}
		for i, t := range tools {
			if !safeTool(t) {
				return nil, errAt(v.items[i], "%s is not a valid tool name (letters, digits and _ . : @ * -, up to %d)", quote(t), maxTool)
			}
		}
		s.AllowedTools = dedupe(tools)
	}
	for _, b := range []struct {
		key string
		dst *bool
	}{{"allowOverride", &s.AllowOverride}, {"default", &s.Default}} {
		if v, ok := n.get(b.key); ok {
			if *b.dst, err = v.boolean(); err != nil {
				return nil, err
			}
		}
	}
	if v, ok := n.get("order"); ok {
		i, err := v.integer()
		if err != nil {
			return nil, err
		}
		if i < math.MinInt32 || i > math.MaxInt32 {
			return nil, errAt(v, "is out of range")
		}
		o := int(i)
		s.Order = &o
	}
	if v, ok := n.get("priority"); ok {
		i, err := v.integer()
		if err != nil {
			return nil, err
		}
		if i < -1_000_000 || i > 1_000_000 {
			return nil, errAt(v, "must be between -1000000 and 1000000")
		}
		s.Priority = int(i)
	}

	if v, ok := n.get("constraints"); ok {
		if s.Constraints, err = parseConstraints(v); err != nil {
			return nil, err
		}
	}
	if v, ok := n.get("parameters"); ok {
		if s.Parameters, err = parseParameters(v); err != nil {
			return nil, err
		}
		for _, def := range paramDefs {
			val, ok := s.Parameters[def.name]
			if !ok {
				continue
			}
			c, ok := s.Constraints[def.name]
			if !ok {
				continue
			}
			if msg := violation(&def, c, val); msg != "" {
				pv := paramNode(v, &def)
				return nil, errAt(pv, "the configured value breaks its constraint: %s", msg)
			}
		}
	}
	return s, nil
}

func missing(n *node, key string) *fieldError {
	if v, ok := n.get(key); ok {
		return errAt(v, "must not be empty")
	}
	return &fieldError{path: joinPath(n.path, key), line: n.line, msg: "required field is missing"}
}

// paramNode returns the node a parameter was written under.
func paramNode(obj *node, def *paramDef) *node {
	for _, k := range def.keys() {
		if v, ok := obj.get(k); ok {
			return v
		}
	}
	return obj
}

func safeName(s string) bool {
	if s == "" || len(s) > maxName || s != strings.TrimSpace(s) {
		return false
	}
	for i, r := range s {
		letter := unicode.IsLetter(r) || unicode.IsDigit(r)
		if i == 0 && !letter {
			return false
		}
		if !letter && !strings.ContainsRune(" ._-:@+()/", r) {
			return false
		}
	}
	return true
}

func safeTool(s string) bool {
	if s == "" || len(s) > maxTool {
		return false
	}
	for _, r := range s {
		if !(r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_.:@*-", r))) {
			return false
		}
	}
	return true
}

func checkIconURL(s string) string {
	if strings.ContainsAny(s, " <>\"'`") {
		return "must be a URL or an endpoint name"
	}
	u, err := url.Parse(s)
	if err != nil {
		return "must be a URL or an endpoint name"
	}
	if u.Scheme != "" && ((u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		return "must be an http(s) URL, a path or an endpoint name"
	}
	return ""
}

// canonicalBuiltin spells a built-in endpoint name the way the client does
// ("openai" → "openAI").
func canonicalBuiltin(name string) string {
	for _, b := range builtinEndpoints {
		if strings.EqualFold(name, b) {
			return b
		}
	}
	return name
}

func dedupe(in []string) []string {
	out := make([]string, 0, len(in))
	seen := map[string]bool{}
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// parseParameters reads the parameters object into canonical names.
func parseParameters(n *node) (map[string]any, *fieldError) {
	if n.kind != kindObject {
		return nil, n.typeErr("an object")
	}
	out := map[string]any{}
	by := map[string]string{}
	for _, k := range n.keys {
		def := lookupParam(k)
		if def == nil {
			return nil, n.keyErr(k, "unknown parameter (known: %s)", paramNames())
		}
		if prev, ok := by[def.name]; ok {
			return nil, n.keyErr(k, "%s is already set as %s", def.name, joinPath(n.path, prev))
		}
		by[def.name] = k
		v, err := parseValue(def, n.obj[k])
		if err != nil {
			return nil, err
		}
		out[def.name] = v
	}
	return out, nil
}

// parseValue reads one parameter value and checks it against LibreChat's
// range for the parameter.
func parseValue(def *paramDef, n *node) (any, *fieldError) {
	switch def.kind {
	case pNumber, pInteger:
		var f float64
		if def.kind == pInteger {
			i, err := n.integer()
			if err != nil {
				return nil, err
			}
			f = float64(i)
		} else {
			var err *fieldError
			if f, err = n.float(); err != nil {
				return nil, err
			}
		}
		if f < def.min || f > def.max {
			return nil, errAt(n, "%s is outside the range of %s (%s to %s)", n.num, def.name, fmtNum(def.min), fmtNum(def.max))
		}
		if def.kind == pInteger {
			return int64(f), nil
		}
		return f, nil
	case pEnum:
		s, err := n.str()
		if err != nil {
			return nil, err
		}
		for _, e := range def.enum {
			if s == e {
				return s, nil
			}
		}
		return nil, errAt(n, "%s is not a valid %s (one of %s)", quote(s), def.name, strings.Join(def.enum, ", "))
	default:
		return n.boolean()
	}
}

// parseConstraints reads the constraints object.
func parseConstraints(n *node) (map[string]Constraint, *fieldError) {
	if n.kind != kindObject {
		return nil, n.typeErr("an object")
	}
	out := map[string]Constraint{}
	by := map[string]string{}
	for _, k := range n.keys {
		def := lookupParam(k)
		if def == nil {
			return nil, n.keyErr(k, "unknown parameter (known: %s)", paramNames())
		}
		if prev, ok := by[def.name]; ok {
			return nil, n.keyErr(k, "%s is already constrained as %s", def.name, joinPath(n.path, prev))
		}
		by[def.name] = k
		c, err := parseConstraint(def, n.obj[k])
		if err != nil {
			return nil, err
		}
		out[def.name] = c
	}
	return out, nil
}

func parseConstraint(def *paramDef, n *node) (Constraint, *fieldError) {
	var c Constraint
	if n.kind != kindObject {
		return c, n.typeErr("an object")
	}
	for _, k := range n.keys {
		switch k {
		case "min", "max", "allowed", "onViolation":
		default:
			return c, n.keyErr(k, "unknown field (a constraint has min, max, allowed and onViolation)")
		}
	}
	for _, k := range []string{"min", "max"} {
		v, ok := n.get(k)
		if !ok {
			continue
		}
		if !def.numeric() {
			return c, errAt(v, "%s is not numeric: constrain it with allowed", def.name)
		}
		val, err := parseValue(def, v)
		if err != nil {
			return c, err
		}
		f := toFloat(val)
		if k == "min" {
			c.Min = &f
		} else {
			c.Max = &f
		}
	}
	if c.Min != nil && c.Max != nil && *c.Min > *c.Max {
		v, _ := n.get("min")
		return c, errAt(v, "min %s is greater than max %s", fmtNum(*c.Min), fmtNum(*c.Max))
	}
	if v, ok := n.get("allowed"); ok {
		if v.kind != kindArray {
			return c, v.typeErr("a list")
		}
		if len(v.items) == 0 {
			return c, errAt(v, "must list at least one value")
		}
		if len(v.items) > maxAllowed {
			return c, errAt(v, "lists more than %d values", maxAllowed)
		}
		for _, it := range v.items {
			val, err := parseValue(def, it)
			if err != nil {
				return c, err
			}
			f := toFloat(val)
			if c.Min != nil && def.numeric() && f < *c.Min || c.Max != nil && def.numeric() && f > *c.Max {
				return c, errAt(it, "%s is outside this constraint's min and max", it.num)
			}
			c.Allowed = append(c.Allowed, val)
		}
	}
	if v, ok := n.get("onViolation"); ok {
		s, err := v.str()
		if err != nil {
			return c, err
		}
		if s != Reject && s != Clamp {
			return c, errAt(v, "must be %q or %q, not %s", Reject, Clamp, quote(s))
		}
		c.OnViolation = s
	}
	if c.Min == nil && c.Max == nil && c.Allowed == nil {
		return c, errAt(n, "needs min, max or allowed")
	}
	return c, nil
}

func toFloat(v any) float64 {
	switch t := v.(type) {
	case float64:
		return t
	case int64:
		return float64(t)
	}
	return 0
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// fmtValue writes a parameter value for a message.
func fmtValue(v any) string {
	switch t := v.(type) {
	case float64:
		return fmtNum(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case string:
		return strconv.Quote(t)
	case bool:
		return strconv.FormatBool(t)
	}
	return fmt.Sprint(v)
}

func fmtValues(vs []any) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = fmtValue(v)
	}
	return "[" + strings.Join(out, ", ") + "]"
}

// violation describes how v breaks c ("" when it does not).
func violation(def *paramDef, c Constraint, v any) string {
	if c.Allowed != nil && !containsValue(c.Allowed, v) {
		return fmt.Sprintf("%s %s is not one of the allowed values %s", def.name, fmtValue(v), fmtValues(c.Allowed))
	}
	if def.numeric() {
		f := toFloat(v)
		if c.Min != nil && f < *c.Min {
			return fmt.Sprintf("%s %s is below the minimum %s", def.name, fmtValue(v), fmtNum(*c.Min))
		}
		if c.Max != nil && f > *c.Max {
			return fmt.Sprintf("%s %s is above the maximum %s", def.name, fmtValue(v), fmtNum(*c.Max))
		}
	}
	return ""
}

func containsValue(vs []any, v any) bool {
	for _, x := range vs {
		if sameValue(x, v) {
			return true
		}
	}
	return false
}

func sameValue(a, b any) bool {
	switch a.(type) {
	case float64, int64:
		switch b.(type) {
		case float64, int64:
			return toFloat(a) == toFloat(b)
		}
		return false
	}
	return a == b
}

// MarshalJSON writes the configuration with its fields in a fixed order
// and parameters under their canonical names. A nil AllowedTools is left
// out (any tool); an empty one is written as [] (none).
func (s *Spec) MarshalJSON() ([]byte, error) {
	return json.Marshal(s.object(true))
}

// object is the configuration as an ordered JSON object; withPrivate adds
// the system message.
func (s *Spec) object(withPrivate bool) config.Object {
	o := config.NewObject()
	o.Set("name", s.Name)
	if s.Label != "" {
		o.Set("label", s.Label)
	}
	if s.Description != "" {
		o.Set("description", s.Description)
	}
	o.Set("endpoint", s.Endpoint)
	o.Set("model", s.Model)
	if len(s.AllowedModels) > 0 {
		o.Set("allowedModels", s.AllowedModels)
	}
	if withPrivate && s.SystemMessage != "" {
		o.Set("systemMessage", s.SystemMessage)
	}
	if len(s.Parameters) > 0 {
		p := config.NewObject()
		for _, def := range paramDefs {
			if v, ok := s.Parameters[def.name]; ok {
				p.Set(def.name, v)
			}
		}
		o.Set("parameters", p)
	}
	if len(s.Constraints) > 0 {
		cs := config.NewObject()
		for _, def := range paramDefs {
			c, ok := s.Constraints[def.name]
			if !ok {
				continue
			}
			co := config.NewObject()
			if c.Min != nil {
				co.Set("min", numberValue(&def, *c.Min))
			}
			if c.Max != nil {
				co.Set("max", numberValue(&def, *c.Max))
			}
			if c.Allowed != nil {
				co.Set("allowed", c.Allowed)
			}
			if c.OnViolation != "" {
				co.Set("onViolation", c.OnViolation)
			}
			cs.Set(def.name, co)
		}
		o.Set("constraints", cs)
	}
	if s.OnViolation != "" {
		o.Set("onViolation", s.OnViolation)
	}
	if s.AllowedTools != nil {
		o.Set("allowedTools", s.AllowedTools)
	}
	if s.AllowOverride {
		o.Set("allowOverride", true)
	}
	if s.IconURL != "" {
		o.Set("iconURL", s.IconURL)
	}
	if s.Group != "" {
		o.Set("group", s.Group)
	}
	if s.Order != nil {
		o.Set("order", *s.Order)
	}
	if s.Priority != 0 {
		o.Set("priority", s.Priority)
	}
	if s.Default {
		o.Set("default", true)
	}
	return o
}

// numberValue types a bound like the parameter's values.
func numberValue(def *paramDef, f float64) any {
	if def.kind == pInteger {
		return int64(f)
	}
	return f
}

// LabelOrName is the menu title.
func (s *Spec) LabelOrName() string {
	if s.Label != "" {
		return s.Label
	}
	return s.Name
}

// violationMode is how a broken constraint on def is handled.
func (s *Spec) violationMode(c Constraint) string {
	if c.OnViolation != "" {
		return c.OnViolation
	}
	if s.OnViolation != "" {
		return s.OnViolation
	}
	return Reject
}

// Models lists the models a request through the configuration may use.
func (s *Spec) Models() []string {
	return dedupe(append([]string{s.Model}, s.AllowedModels...))
}

// clone copies a Spec deeply enough for the resolver to adjust it.
func (s *Spec) clone() *Spec {
	c := *s
	c.AllowedModels = append([]string(nil), s.AllowedModels...)
	if s.AllowedTools != nil {
		c.AllowedTools = append([]string{}, s.AllowedTools...)
	}
	return &c
}
