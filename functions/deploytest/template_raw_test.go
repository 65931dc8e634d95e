package deploytest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"
)

// rawTemplate is template.yaml as plain data: maps, lists and scalars, with
// the short-form intrinsics turned into their long form ({"Ref": X},
// {"Fn::GetAtt": [R, A]}, {"Fn::Sub": S}, ...). goformation checks that the
// template is valid; this form keeps every reference as written, so that
// the wiring between resources can be compared exactly.
type rawTemplate struct {
	root      map[string]any
	resources map[string]map[string]any
}

var rawOnce struct {
	sync.Once
	tpl *rawTemplate
	err error
}

func loadRaw(t *testing.T) *rawTemplate {
	t.Helper()
	root := repoRoot(t)
	rawOnce.Do(func() {
		rawOnce.tpl, rawOnce.err = readRaw(filepath.Join(root, "template.yaml"))
	})
	if rawOnce.err != nil {
		t.Fatalf("template.yaml: %v", rawOnce.err)
	}
	return rawOnce.tpl
}

func readRaw(path string) (*rawTemplate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	v, err := plain(&doc)
	if err != nil {
		return nil, err
	}
	root, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a mapping")
	}
	tpl := &rawTemplate{root: root, resources: map[string]map[string]any{}}
	for name, r := range asMap(root["Resources"]) {
		m := asMap(r)
		if m == nil {
			return nil, fmt.Errorf("resource %s is not a mapping", name)
		}
		tpl.resources[name] = m
	}
	return tpl, nil
}

// plain converts a YAML node to plain data, intrinsics in long form.
func plain(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return nil, fmt.Errorf("want one document")
		}
		return plain(n.Content[0])
	case yaml.AliasNode:
		return plain(n.Alias)
	}
	var v any
	custom := strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!")
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %s", n.Content[i].Line, k)
			}
			val, err := plain(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k] = val
		}
		v = m
	case yaml.SequenceNode:
		l := []any{}
		for _, c := range n.Content {
			val, err := plain(c)
			if err != nil {
				return nil, err
			}
			l = append(l, val)
		}
		v = l
	case yaml.ScalarNode:
		if custom {
			v = n.Value
		} else if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %v", n.Line, err)
		}
	}
	if !custom {
		return v, nil
	}
	name := strings.TrimPrefix(n.Tag, "!")
	key := "Fn::" + name
	switch name {
	case "Ref", "Condition":
		key = name
	case "GetAtt":
		if s, ok := v.(string); ok {
			res, attr, _ := strings.Cut(s, ".")
			v = []any{res, attr}
		}
	}
	return map[string]any{key: v}, nil
}

// typeOf is the Type of resource name ("" if there is none).
func (r *rawTemplate) typeOf(name string) string { return asString(r.resources[name]["Type"]) }

// props are the Properties of resource name.
func (r *rawTemplate) props(name string) map[string]any {
	return asMap(r.resources[name]["Properties"])
}

// ofType lists the resources of a type, sorted.
func (r *rawTemplate) ofType(typ string) []string {
	var out []string
	for name := range r.resources {
		if r.typeOf(name) == typ {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// at walks v along string keys and int indices; nil when a step is missing.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = asMap(v)[k]
		case int:
			l, _ := v.([]any)
			if k < 0 || k >= len(l) {
				return nil
			}
			v = l[k]
		}
		if v == nil {
			return nil
		}
	}
	return v
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// asList is v as a list: a list as it is, nil as none, anything else as a
// list of one (IAM's Action and Resource take either form).
func asList(v any) []any {
	switch l := v.(type) {
	case nil:
		return nil
	case []any:
		return l
	}
	return []any{v}
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

func asBool(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case string:
		return b == "true"
	}
	return false
}

func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case float64:
		return int(n), n == float64(int(n))
	}
	return 0, false
}

// canon is a value as one comparable string: literals as written, and
// intrinsics as ref:X, getatt:R.A, sub:S, if(C,A,B), select(I,V),
// split(D,V).
func canon(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = canon(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				l := asList(arg)
				switch k {
				case "Ref":
					return "ref:" + canon(arg)
				case "Fn::GetAtt":
					if len(l) == 2 {
						return "getatt:" + canon(l[0]) + "." + canon(l[1])
					}
				case "Fn::Sub":
					if s, ok := arg.(string); ok {
						return "sub:" + s
					}
					if len(l) == 2 {
						return "sub:" + canon(l[0]) + "|" + canon(l[1])
					}
				case "Fn::If":
					if len(l) == 3 {
						return "if(" + canon(l[0]) + "," + canon(l[1]) + "," + canon(l[2]) + ")"
					}
				case "Fn::Select":
					if len(l) == 2 {
						return "select(" + canon(l[0]) + "," + canon(l[1]) + ")"
					}
				case "Fn::Split":
					if len(l) == 2 {
						return "split(" + canon(l[0]) + "," + canon(l[1]) + ")"
					}
				}
			}
		}
		keys := sortedKeys(x)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ":" + canon(x[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return fmt.Sprint(v)
}

// refTo is the resource or parameter v refers to with Ref ("" if it does
// not).
func refTo(v any) string {
	if s, ok := strings.CutPrefix(canon(v), "ref:"); ok {
		return s
	}
	return ""
}

// getAttOf is the resource of a GetAtt of attribute attr ("" otherwise).
func getAttOf(v any, attr string) string {
	if s, ok := strings.CutPrefix(canon(v), "getatt:"); ok {
		if res, a, _ := strings.Cut(s, "."); a == attr {
			return res
		}
	}
	return ""
}
