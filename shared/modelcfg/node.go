package modelcfg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/lcgo/lcgo/shared/config"
	"gopkg.in/yaml.v3"
)

// node is a decoded JSON or YAML value that remembers where it came from:
// its key path in the document and, for YAML, its line. The spec parser
// reads nodes so that every problem can name the field it concerns,
// whichever format the configuration was written in.
type node struct {
	kind  nodeKind
	path  string
	line  int
	b     bool
	num   json.Number
	s     string
	items []*node
	keys  []string
	obj   map[string]*node
	kline map[string]int // line of each key (YAML)
}

type nodeKind uint8

const (
	kindNull nodeKind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

func (k nodeKind) String() string {
	switch k {
	case kindBool:
		return "a boolean"
	case kindNumber:
		return "a number"
	case kindString:
		return "a string"
	case kindArray:
		return "a list"
	case kindObject:
		return "an object"
	}
	return "null"
}

// fieldError is a problem with one field of a configuration.
type fieldError struct {
	path string
	line int
	msg  string
}

func (e *fieldError) Error() string {
	if e.path == "" {
		return e.msg
	}
	return e.path + ": " + e.msg
}

func errAt(n *node, format string, args ...any) *fieldError {
	return &fieldError{path: n.path, line: n.line, msg: fmt.Sprintf(format, args...)}
}

func joinPath(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

func indexPath(base string, i int) string { return fmt.Sprintf("%s[%d]", base, i) }

// get returns the member key of an object node.
func (n *node) get(key string) (*node, bool) {
	if n == nil || n.kind != kindObject {
		return nil, false
	}
	v, ok := n.obj[key]
	return v, ok
}

// keyErr is an error about a member key itself (an unknown field).
func (n *node) keyErr(key, format string, args ...any) *fieldError {
	line := n.kline[key]
	if line == 0 {
		line = n.line
	}
	return &fieldError{path: joinPath(n.path, key), line: line, msg: fmt.Sprintf(format, args...)}
}

func newObject(path string, line int) *node {
	return &node{kind: kindObject, path: path, line: line, obj: map[string]*node{}, kline: map[string]int{}}
}

// set adds or replaces a member (for nodes built by this package).
func (n *node) set(key string, v *node) {
	if _, ok := n.obj[key]; !ok {
		n.keys = append(n.keys, key)
	}
	n.obj[key] = v
}

func (n *node) typeErr(want string) *fieldError {
	return errAt(n, "must be %s, not %s", want, n.kind)
}

// decodeJSON reads one JSON value. Duplicate object keys are refused (the
// last would silently win otherwise), and so is anything after the value.
func decodeJSON(data []byte, base string) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := readJSON(dec, base)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &fieldError{path: base, msg: "malformed JSON: unexpected data after the value"}
	}
	return n, nil
}

func jsonSyntax(base string, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &fieldError{path: base, msg: fmt.Sprintf("malformed JSON at offset %d: %s", se.Offset, se.Error())}
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return &fieldError{path: base, msg: "malformed JSON: unexpected end of input"}
	}
	return &fieldError{path: base, msg: "malformed JSON: " + err.Error()}
}

func readJSON(dec *json.Decoder, path string) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonSyntax(path, err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := newObject(path, 0)
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, jsonSyntax(path, err)
				}
				key, _ := kt.(string)
				if _, dup := n.obj[key]; dup {
					return nil, n.keyErr(key, "duplicate field")
				}
				v, err := readJSON(dec, joinPath(path, key))
				if err != nil {
					return nil, err
				}
				n.set(key, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, jsonSyntax(path, err)
			}
			return n, nil
		case '[':
			n := &node{kind: kindArray, path: path}
			for dec.More() {
				v, err := readJSON(dec, indexPath(path, len(n.items)))
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, jsonSyntax(path, err)
			}
			return n, nil
		}
	case string:
		return &node{kind: kindString, path: path, s: t}, nil
	case json.Number:
		return &node{kind: kindNumber, path: path, num: t}, nil
	case bool:
		return &node{kind: kindBool, path: path, b: t}, nil
	case nil:
		return &node{kind: kindNull, path: path}, nil
	}
	return nil, &fieldError{path: path, msg: "malformed JSON"}
}

// fromYAML converts a YAML node. Aliases are followed; merge keys (<<) and
// duplicate keys are refused, so that what is read is what is written.
func fromYAML(y *yaml.Node, path string) (*node, error) {
	for y != nil && y.Kind == yaml.AliasNode {
		y = y.Alias
	}
	if y == nil {
		return &node{kind: kindNull, path: path}, nil
	}
	switch y.Kind {
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			return &node{kind: kindNull, path: path}, nil
		}
		return fromYAML(y.Content[0], path)
	case yaml.MappingNode:
		n := newObject(path, y.Line)
		for i := 0; i+1 < len(y.Content); i += 2 {
			k, v := y.Content[i], y.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return nil, &fieldError{path: path, line: k.Line, msg: "mapping keys must be strings"}
			}
			key := k.Value
			if key == "<<" && (k.Tag == "" || k.Tag == "!" || k.ShortTag() == "!!merge") {
				return nil, &fieldError{path: joinPath(path, key), line: k.Line, msg: "merge keys are not supported here"}
			}
			if _, dup := n.obj[key]; dup {
				return nil, &fieldError{path: joinPath(path, key), line: k.Line, msg: fmt.Sprintf("mapping key %q already defined at line %d", key, n.kline[key])}
			}
			val, err := fromYAML(v, joinPath(path, key))
			if err != nil {
				return nil, err
			}
			n.set(key, val)
			n.kline[key] = k.Line
		}
		return n, nil
	case yaml.SequenceNode:
		n := &node{kind: kindArray, path: path, line: y.Line}
		for i, item := range y.Content {
			v, err := fromYAML(item, indexPath(path, i))
			if err != nil {
				return nil, err
			}
			n.items = append(n.items, v)
		}
		return n, nil
	}
	n := &node{path: path, line: y.Line}
	switch y.ShortTag() {
	case "!!null":
		n.kind = kindNull
	case "!!bool":
		var b bool
		if err := y.Decode(&b); err != nil {
			return nil, errAt(n, "cannot read %q as a boolean", y.Value)
		}
		n.kind, n.b = kindBool, b
	case "!!int":
		var i int64
		if err := y.Decode(&i); err == nil {
			n.kind, n.num = kindNumber, json.Number(strconv.FormatInt(i, 10))
			break
		}
		var f float64
		if err := y.Decode(&f); err != nil {
			return nil, errAt(n, "cannot read %q as a number", y.Value)
		}
		n.kind, n.num = kindNumber, json.Number(strconv.FormatFloat(f, 'g', -1, 64))
	case "!!float":
		var f float64
		if err := y.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, errAt(n, "cannot read %q as a finite number", y.Value)
		}
		n.kind, n.num = kindNumber, json.Number(strconv.FormatFloat(f, 'g', -1, 64))
	default:
		n.kind, n.s = kindString, y.Value
	}
	return n, nil
}

// fromValue converts a value of a config.Object (librechat.yaml as kept by
// package config) into a node.
func fromValue(v any, path string) *node {
	switch t := v.(type) {
	case nil:
		return &node{kind: kindNull, path: path}
	case bool:
		return &node{kind: kindBool, path: path, b: t}
	case int:
		return &node{kind: kindNumber, path: path, num: json.Number(strconv.Itoa(t))}
	case int64:
		return &node{kind: kindNumber, path: path, num: json.Number(strconv.FormatInt(t, 10))}
	case float64:
		return &node{kind: kindNumber, path: path, num: json.Number(strconv.FormatFloat(t, 'g', -1, 64))}
	case string:
		return &node{kind: kindString, path: path, s: t}
	case []any:
		n := &node{kind: kindArray, path: path}
		for i, item := range t {
			n.items = append(n.items, fromValue(item, indexPath(path, i)))
		}
		return n
	case config.Object:
		n := newObject(path, 0)
		for _, k := range t.Keys() {
			val, _ := t.Get(k)
			n.set(k, fromValue(val, joinPath(path, k)))
		}
		return n
	}
	return &node{kind: kindString, path: path, s: fmt.Sprint(v)}
}

// str reads a string node.
func (n *node) str() (string, *fieldError) {
	if n.kind != kindString {
		return "", n.typeErr("a string")
	}
	return n.s, nil
}

// float reads a number node.
func (n *node) float() (float64, *fieldError) {
	if n.kind != kindNumber {
		return 0, n.typeErr("a number")
	}
	f, err := strconv.ParseFloat(string(n.num), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, errAt(n, "must be a finite number")
	}
	return f, nil
}

// integer reads a number node that holds a whole number.
func (n *node) integer() (int64, *fieldError) {
	f, ferr := n.float()
	if ferr != nil {
		return 0, n.typeErr("an integer")
	}
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, errAt(n, "must be an integer, not %s", n.num)
	}
	return int64(f), nil
}

// boolean reads a boolean node.
func (n *node) boolean() (bool, *fieldError) {
	if n.kind != kindBool {
		return false, n.typeErr("a boolean")
	}
	return n.b, nil
}

// strings reads a list of strings.
func (n *node) strings() ([]string, *fieldError) {
	if n.kind != kindArray {
		return nil, n.typeErr("a list of strings")
	}
	out := make([]string, 0, len(n.items))
	for _, it := range n.items {
		s, err := it.str()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// hasControl reports whether s holds control characters; allowNewlines
// lets tabs and line breaks through (descriptions, system messages).
func hasControl(s string, allowNewlines bool) bool {
	for _, r := range s {
		if allowNewlines && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return true
		}
	}
	return false
}

// text reads a bounded string without control characters.
func (n *node) text(maxLen int, allowNewlines bool) (string, *fieldError) {
	s, err := n.str()
	if err != nil {
		return "", err
	}
	if len(s) > maxLen {
		return "", errAt(n, "is longer than %d bytes", maxLen)
	}
	if hasControl(s, allowNewlines) {
		return "", errAt(n, "must not contain control characters")
	}
	return s, nil
}

// quote shortens a value for a message.
func quote(s string) string {
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return strconv.Quote(s)
}

// lineOf finds the line of a key path (as this package writes paths) in a
// YAML document; 0 when it cannot.
func lineOf(doc *yaml.Node, path string) int {
	n := doc
	for n != nil && (n.Kind == yaml.DocumentNode || n.Kind == yaml.AliasNode) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else if len(n.Content) > 0 {
			n = n.Content[0]
		} else {
			return 0
		}
	}
	line := 0
	for _, seg := range splitPath(path) {
		if n == nil {
			break
		}
		for n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if seg.index >= 0 {
			if n.Kind != yaml.SequenceNode || seg.index >= len(n.Content) {
				return line
			}
			n = n.Content[seg.index]
			line = n.Line
			continue
		}
		if n.Kind != yaml.MappingNode {
			return line
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == seg.key {
				line, next = n.Content[i].Line, n.Content[i+1]
				break
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

type pathSeg struct {
	key   string
	index int // -1 for a key
}

func splitPath(path string) []pathSeg {
	var out []pathSeg
	for _, part := range strings.Split(path, ".") {
		for part != "" {
			i := strings.IndexByte(part, '[')
			if i < 0 {
				out = append(out, pathSeg{key: part, index: -1})
				break
			}
			if i > 0 {
				out = append(out, pathSeg{key: part[:i], index: -1})
			}
			j := strings.IndexByte(part[i:], ']')
			if j < 0 {
				break
			}
			idx, err := strconv.Atoi(part[i+1 : i+j])
			if err != nil {
				break
			}
			out = append(out, pathSeg{index: idx})
			part = part[i+j+1:]
		}
	}
	return out
}
