package modelcfg

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/lcgo/lcgo/shared/config"
	"gopkg.in/yaml.v3"
)

// Priority values: which scope wins when two configurations a user sees
// share a name.
const (
	PriorityUser   = "user"   // user, then group, then system
	PriorityGroup  = "group"  // group, then user, then system
	PrioritySystem = "system" // system, then group, then user
)

// Settings are the switches of the models file.
type Settings struct {
	// UserPresets: configurations at user scope are offered at all
	// (default true) and may replace a system or group configuration of the
	// same name (AllowOverride, default true; when false the operator's
	// configuration wins whatever the priority).
	UserPresetsEnabled bool
	AllowOverride      bool
	// GroupPresetsEnabled: configurations of the user's groups are offered
	// (default true).
	GroupPresetsEnabled bool
	// Priority is PriorityUser (default), PriorityGroup or PrioritySystem.
	Priority string
	// Enforce: chats must go through a configuration, as librechat.yaml's
	// modelSpecs.enforce (either turns enforcement on).
	Enforce bool
}

// DefaultSettings are the settings without a models file.
func DefaultSettings() Settings {
	return Settings{UserPresetsEnabled: true, AllowOverride: true, GroupPresetsEnabled: true, Priority: PriorityUser}
}

// File is the models file:
//
//	models:
//	  defaults:            # system-scope configurations (Spec fields; name defaults to the model)
//	    - endpoint: openAI
//	      model: gpt-4
//	      systemMessage: "You are a helpful assistant"
//	      parameters:
//	        temperature: 0.7
//	  userPresets:
//	    enabled: true
//	    allowOverride: true
//	  groupPresets:
//	    enabled: true
//	    priority: user     # user | group | system
//	  enforce: false       # optional
type File struct {
	Name     string
	Defaults []*Spec
	Settings Settings
	// paths and lines of each default, for messages.
	paths []string
	lines []int
}

// LoadFile reads the models file at path; "" means there is none.
func LoadFile(path string) (*File, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("MODELS_CONFIG_PATH: %s does not exist", path)
	}
	if err != nil {
		return nil, fmt.Errorf("MODELS_CONFIG_PATH: read %s: %w", path, err)
	}
	return ParseFile(path, data)
}

// ParseFile reads a models file strictly: an unknown key, a value of the
// wrong type or out of range fails with a *config.FileError naming the line
// and the key path.
func ParseFile(name string, data []byte) (*File, error) {
	f := &File{Name: name, Settings: DefaultSettings()}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &config.FileError{File: name, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	root, err := fromYAML(&doc, "")
	if err != nil {
		return nil, fileErr(name, err)
	}
	if ferr := f.read(root); ferr != nil {
		return nil, fileErr(name, ferr)
	}
	return f, nil
}

func fileErr(name string, err error) error {
	var fe *fieldError
	if errors.As(err, &fe) {
		return &config.FileError{File: name, Line: fe.line, Path: fe.path, Msg: fe.msg}
	}
	return &config.FileError{File: name, Msg: err.Error()}
}

func checkKeys(n *node, known ...string) *fieldError {
	for _, k := range n.keys {
		ok := false
		for _, x := range known {
			ok = ok || k == x
		}
		if !ok {
			return n.keyErr(k, "unknown field (expected one of %s)", strings.Join(known, ", "))
		}
	}
	return nil
}

func (f *File) read(root *node) *fieldError {
	if root.kind == kindNull {
		return nil
	}
	if root.kind != kindObject {
		return root.typeErr("a mapping with a models key")
	}
	if err := checkKeys(root, "models"); err != nil {
		return err
	}
	m, ok := root.get("models")
	if !ok || m.kind == kindNull {
		return nil
	}
	if m.kind != kindObject {
		return m.typeErr("a mapping")
	}
	if err := checkKeys(m, "defaults", "userPresets", "groupPresets", "enforce"); err != nil {
		return err
	}
	if v, ok := m.get("enforce"); ok {
		b, err := v.boolean()
		if err != nil {
			return err
		}
		f.Settings.Enforce = b
	}
	if up, ok := m.get("userPresets"); ok && up.kind != kindNull {
		if up.kind != kindObject {
			return up.typeErr("a mapping")
		}
		if err := checkKeys(up, "enabled", "allowOverride"); err != nil {
			return err
		}
		if err := readBool(up, "enabled", &f.Settings.UserPresetsEnabled); err != nil {
			return err
		}
		if err := readBool(up, "allowOverride", &f.Settings.AllowOverride); err != nil {
			return err
		}
	}
	if gp, ok := m.get("groupPresets"); ok && gp.kind != kindNull {
		if gp.kind != kindObject {
			return gp.typeErr("a mapping")
		}
		if err := checkKeys(gp, "enabled", "priority"); err != nil {
			return err
		}
		if err := readBool(gp, "enabled", &f.Settings.GroupPresetsEnabled); err != nil {
			return err
		}
		if v, ok := gp.get("priority"); ok {
			s, err := v.str()
			if err != nil {
				return err
			}
			if s != PriorityUser && s != PriorityGroup && s != PrioritySystem {
				return errAt(v, "must be user, group or system, not %s", quote(s))
			}
			f.Settings.Priority = s
		}
	}
	d, ok := m.get("defaults")
	if !ok || d.kind == kindNull {
		return nil
	}
	if d.kind != kindArray {
		return d.typeErr("a list")
	}
	names := map[string]string{}
	for _, item := range d.items {
		if item.kind == kindObject {
			deriveName(item)
			if _, named := item.get("name"); !named {
				return missing(item, "model") // a default without a name is named after its model
			}
		}
		s, err := parseSpec(item, false)
		if err != nil {
			return err
		}
		if prev, ok := names[s.Name]; ok {
			at := item
			if v, ok := item.get("name"); ok {
				at = v
			}
			return errAt(at, "a configuration named %s is already defined at %s", quote(s.Name), prev)
		}
		names[s.Name] = item.path
		f.Defaults = append(f.Defaults, s)
		f.paths = append(f.paths, item.path)
		f.lines = append(f.lines, item.line)
	}
	return nil
}

func readBool(n *node, key string, dst *bool) *fieldError {
	v, ok := n.get(key)
	if !ok {
		return nil
	}
	b, err := v.boolean()
	if err != nil {
		return err
	}
	*dst = b
	return nil
}

// deriveName names a default without a name after its model, and labels it
// with the model.
func deriveName(item *node) {
	if _, ok := item.get("name"); ok {
		return
	}
	m, ok := item.get("model")
	if !ok || m.kind != kindString || strings.TrimSpace(m.s) == "" {
		return
	}
	var b strings.Builder
	dash := false
	for _, r := range m.s {
		ok := r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
		switch {
		case ok:
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	name := strings.TrimRight(b.String(), "-")
	if len(name) > maxName {
		name = name[:maxName]
	}
	if name == "" {
		name = "model"
	}
	item.set("name", &node{kind: kindString, path: joinPath(item.path, "name"), line: m.line, s: name})
	if _, ok := item.get("label"); !ok {
		item.set("label", &node{kind: kindString, path: joinPath(item.path, "label"), line: m.line, s: m.s})
	}
}

// LibreChat's private preset fields, which hold a model spec's system
// message and never reach the browser.
var privatePresetFields = []string{"promptPrefix", "system", "instructions", "additional_instructions", "context", "examples"}

// extensionFields are the Spec fields a librechat.yaml model spec may carry
// beside LibreChat's own; they are kept from the browser.
var extensionFields = []string{"systemMessage", "allowedModels", "constraints", "onViolation", "allowedTools", "allowOverride", "priority"}

// librechatSpec maps one librechat.yaml model spec (modelSpecs.list[i] as
// written) to a Spec: its preset gives the endpoint, the model and the
// parameters; promptPrefix, system, instructions, additional_instructions
// and context there make the system message. LibreChat's presentation
// fields are left to the client view; the Spec fields above are read from
// the entry itself.
func librechatSpec(raw config.Object, path string) (*Spec, *fieldError) {
	entry := fromValue(raw, path)
	out := newObject(path, 0)
	for _, k := range []string{"name", "label", "description", "iconURL", "group", "order", "default"} {
		if v, ok := entry.get(k); ok && v.kind != kindNull {
			out.set(k, v)
		}
	}
	for _, k := range extensionFields {
		if v, ok := entry.get(k); ok {
			out.set(k, v)
		}
	}
	preset, ok := entry.get("preset")
	if !ok || preset.kind != kindObject {
		if !ok {
			return nil, missing(entry, "preset")
		}
		return nil, preset.typeErr("an object")
	}
	for _, k := range []string{"endpoint", "model"} {
		if v, ok := preset.get(k); ok {
			out.set(k, v)
		} else {
			return nil, missing(preset, k)
		}
	}
	params := newObject(preset.path, 0)
	for _, k := range preset.keys {
		if v := preset.obj[k]; lookupParam(k) != nil && v.kind != kindNull && !(v.kind == kindString && v.s == "") {
			params.set(k, preset.obj[k])
		}
	}
	if len(params.keys) > 0 {
		out.set("parameters", params)
	}
	var parts []string
	msgPath := joinPath(preset.path, "promptPrefix")
	if v, ok := entry.get("systemMessage"); ok {
		s, err := v.str()
		if err != nil {
			return nil, err
		}
		parts, msgPath = append(parts, s), v.path
	}
	for _, k := range privatePresetFields {
		v, ok := preset.get(k)
		if !ok || k == "examples" || v.kind == kindNull {
			continue
		}
		s, err := v.str()
		if err != nil {
			return nil, err
		}
		parts = append(parts, s)
	}
	if msg := joinSystem(parts); msg != "" {
		out.set("systemMessage", &node{kind: kindString, path: msgPath, s: msg})
	}
	return parseSpec(out, true)
}

// joinSystem joins the non-empty, distinct parts of a system message.
func joinSystem(parts []string) string {
	var kept []string
	seen := map[string]bool{}
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		kept = append(kept, p)
	}
	return strings.Join(kept, "\n\n")
}
