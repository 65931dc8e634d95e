package config

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// FileError is a problem in librechat.yaml: the file, the line and the key
// path it concerns.
type FileError struct {
	File string
	Line int    // 0 when unknown
	Path string // e.g. endpoints.custom[0].models.fetch; "" for the document
	Msg  string
}

func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
	}
	if e.Path != "" {
		b.WriteString(": ")
		b.WriteString(e.Path)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// unknownKey is a key this server does not read.
type unknownKey struct {
	Path string
	Line int
}

// nodeDecoder walks a yaml.Node tree into Go values guided by `yaml` struct
// tags, so that every type error can name the line and the key path. Keys
// with no matching field are collected, not rejected. A struct field tagged
// `raw:"true"` of type Object receives the whole mapping as written; unknown
// keys of such a struct (and below it) are expected and not collected.
type nodeDecoder struct {
	file    string
	unknown []unknownKey
	lines   map[string]int
	quiet   int
}

// nodeHook lets a type decode itself.
type nodeHook interface {
	decodeNode(d *nodeDecoder, n *yaml.Node, path string) error
}

var objectType = reflect.TypeOf(Object{})

func (d *nodeDecoder) errAt(line int, path, format string, args ...any) error {
	return &FileError{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)}
}

func (d *nodeDecoder) typeErr(n *yaml.Node, path, want string) error {
	val := ""
	if n.Kind == yaml.ScalarNode {
		v := n.Value
		if len(v) > 40 {
			v = v[:37] + "..."
		}
		val = " " + strconv.Quote(v)
	}
	return d.errAt(n.Line, path, "cannot unmarshal %s%s into %s", n.ShortTag(), val, want)
}

func joinPath(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return resolve(n.Content[0])
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

type pair struct{ key, val *yaml.Node }

// pairs lists a mapping's entries with merge keys (<<) expanded: explicit
// keys win over merged ones, earlier merges over later ones.
func (d *nodeDecoder) pairs(n *yaml.Node, path string) ([]pair, error) {
	explicit := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if isMerge(k) {
			continue
		}
		if prev, ok := explicit[k.Value]; ok {
			return nil, d.errAt(k.Line, joinPath(path, k.Value), "mapping key %q already defined at line %d", k.Value, prev)
		}
		explicit[k.Value] = k.Line
	}
	var out []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !isMerge(k) {
			out = append(out, pair{k, v})
			seen[k.Value] = true
			continue
		}
		v = resolve(v)
		var sources []*yaml.Node
		switch v.Kind {
		case yaml.MappingNode:
			sources = []*yaml.Node{v}
		case yaml.SequenceNode:
			for _, s := range v.Content {
				s = resolve(s)
				if s.Kind != yaml.MappingNode {
					return nil, d.typeErr(s, path, "mapping")
				}
				sources = append(sources, s)
			}
		default:
			return nil, d.typeErr(v, path, "mapping")
		}
		for _, src := range sources {
			merged, err := d.pairs(src, path)
			if err != nil {
				return nil, err
			}
			for _, p := range merged {
				if _, isExplicit := explicit[p.key.Value]; isExplicit || seen[p.key.Value] {
					continue
				}
				seen[p.key.Value] = true
				out = append(out, p)
			}
		}
	}
	return out, nil
}

func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "" || k.Tag == "!" || k.ShortTag() == "!!merge")
}

// decode fills v from n. A null node leaves v unchanged.
func (d *nodeDecoder) decode(n *yaml.Node, v reflect.Value, path string) error {
	n = resolve(n)
	if n == nil {
		return nil
	}
	if d.lines != nil {
		d.lines[path] = n.Line
	}
	if isNull(n) {
		return nil
	}
	if v.CanAddr() {
		if h, ok := v.Addr().Interface().(nodeHook); ok {
			return h.decodeNode(d, n, path)
		}
	}
	if v.Type() == objectType {
		if n.Kind != yaml.MappingNode {
			return d.typeErr(n, path, "mapping")
		}
		o, err := d.object(n, path)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(o))
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return d.decode(n, v.Elem(), path)
	case reflect.Struct:
		return d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return d.typeErr(n, path, "list")
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			if err := d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return d.typeErr(n, path, "mapping")
		}
		ps, err := d.pairs(n, path)
		if err != nil {
			return err
		}
		m := reflect.MakeMapWithSize(v.Type(), len(ps))
		for _, p := range ps {
			e := reflect.New(v.Type().Elem()).Elem()
			if err := d.decode(p.val, e, joinPath(path, p.key.Value)); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(p.key.Value).Convert(v.Type().Key()), e)
		}
		v.Set(m)
		return nil
	case reflect.Interface:
		val, err := d.value(n, path)
		if err != nil {
			return err
		}
		if val != nil {
			v.Set(reflect.ValueOf(val))
		}
		return nil
	}
	return d.scalar(n, v, path)
}

func (d *nodeDecoder) scalar(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.ScalarNode {
		return d.typeErr(n, path, v.Kind().String())
	}
	tag := n.ShortTag()
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
		return nil
	case reflect.Bool:
		var b bool
		if tag != "!!bool" || n.Decode(&b) != nil {
			return d.typeErr(n, path, "bool")
		}
		v.SetBool(b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		switch tag {
		case "!!int":
			if n.Decode(&i) != nil {
				return d.typeErr(n, path, v.Type().String())
			}
		case "!!float":
			var f float64
			if n.Decode(&f) != nil || f != math.Trunc(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<53 {
				return d.typeErr(n, path, v.Type().String())
			}
			i = int64(f)
		default:
			return d.typeErr(n, path, v.Type().String())
		}
		if v.OverflowInt(i) {
			return d.typeErr(n, path, v.Type().String())
		}
		v.SetInt(i)
		return nil
	case reflect.Float32, reflect.Float64:
		var f float64
		if (tag != "!!int" && tag != "!!float") || n.Decode(&f) != nil {
			return d.typeErr(n, path, "number")
		}
		v.SetFloat(f)
		return nil
	}
	return d.typeErr(n, path, v.Type().String())
}

type fieldInfo struct {
	index []int
}

func (d *nodeDecoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.MappingNode {
		return d.typeErr(n, path, "mapping")
	}
	t := v.Type()
	fields := map[string]fieldInfo{}
	rawIndex := -1
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Tag.Get("raw") == "true" && f.Type == objectType {
			rawIndex = i
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = fieldInfo{index: f.Index}
	}
	if rawIndex >= 0 {
		o, err := d.object(n, path)
		if err != nil {
			return err
		}
		v.Field(rawIndex).Set(reflect.ValueOf(o))
		d.quiet++
		defer func() { d.quiet-- }()
	}
	ps, err := d.pairs(n, path)
	if err != nil {
		return err
	}
	for _, p := range ps {
		key := p.key.Value
		fi, ok := fields[key]
		if !ok {
			if d.quiet == 0 {
				d.unknown = append(d.unknown, unknownKey{Path: joinPath(path, key), Line: p.key.Line})
			}
			continue
		}
		if err := d.decode(p.val, v.FieldByIndex(fi.index), joinPath(path, key)); err != nil {
			return err
		}
	}
	return nil
}

// object converts a mapping to an Object as written.
func (d *nodeDecoder) object(n *yaml.Node, path string) (Object, error) {
	ps, err := d.pairs(n, path)
	if err != nil {
		return Object{}, err
	}
	o := NewObject()
	for _, p := range ps {
		val, err := d.value(p.val, joinPath(path, p.key.Value))
		if err != nil {
			return Object{}, err
		}
		o.Set(p.key.Value, val)
	}
	return o, nil
}

// value converts any node to plain values (Object for mappings).
func (d *nodeDecoder) value(n *yaml.Node, path string) (any, error) {
	n = resolve(n)
	if n == nil {
		return nil, nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		return d.object(n, path)
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, item := range n.Content {
			v, err := d.value(item, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b, nil
		}
	case "!!int":
		var i int64
		if n.Decode(&i) == nil {
			return i, nil
		}
		var f float64
		if n.Decode(&f) == nil {
			return f, nil
		}
	case "!!float":
		var f float64
		if n.Decode(&f) == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f, nil
		}
	}
	return n.Value, nil
}

var syntaxLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 parse error into a FileError.
func syntaxError(file string, err error) error {
	msg := err.Error()
	if m := syntaxLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &FileError{File: file, Line: line, Msg: m[2]}
	}
	return &FileError{File: file, Msg: strings.TrimPrefix(msg, "yaml: ")}
}
