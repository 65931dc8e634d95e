package terraform

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// The module is checked without terraform: its files are parsed with HCL
// and evaluated with the variables' defaults (or given values). Resource
// attributes that only exist once applied evaluate to placeholders such
// as "<aws_dynamodb_table.main.arn>" or
// "<aws_lambda_function.area["chat"].invoke_arn>", so that wiring can be
// compared as strings.

// tfModule is the parsed module.
type tfModule struct {
	dir       string
	files     map[string][]byte
	bodies    map[string]*hclsyntax.Body
	variables map[string]*hclsyntax.Block
	locals    map[string]*hclsyntax.Attribute
	outputs   map[string]*hclsyntax.Block
	resources map[string]map[string]*hclsyntax.Block // type, name
	data      map[string]map[string]*hclsyntax.Block
	other     []*hclsyntax.Block // terraform, provider, module…
	// attrNames are all attribute names the module reads from anything:
	// every placeholder object offers them.
	attrNames []string
}

func parseModule(t *testing.T, dir string) *tfModule {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no .tf files in %s (%v)", dir, err)
	}
	m := &tfModule{
		dir: dir, files: map[string][]byte{}, bodies: map[string]*hclsyntax.Body{},
		variables: map[string]*hclsyntax.Block{}, locals: map[string]*hclsyntax.Attribute{},
		outputs:   map[string]*hclsyntax.Block{},
		resources: map[string]map[string]*hclsyntax.Block{}, data: map[string]map[string]*hclsyntax.Block{},
	}
	parser := hclparse.NewParser()
	names := map[string]bool{}
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, diags := parser.ParseHCL(src, filepath.Base(p))
		if diags.HasErrors() {
			t.Fatalf("%s: %s", p, diags.Error())
		}
		body := f.Body.(*hclsyntax.Body)
		m.files[filepath.Base(p)], m.bodies[filepath.Base(p)] = src, body
		if len(body.Attributes) > 0 {
			for name := range body.Attributes {
				t.Errorf("%s: top-level attribute %s", p, name)
			}
		}
		for _, b := range body.Blocks {
			switch b.Type {
			case "variable", "output":
				dst := m.variables
				if b.Type == "output" {
					dst = m.outputs
				}
				if len(b.Labels) != 1 {
					t.Fatalf("%s: %s block with labels %v", p, b.Type, b.Labels)
				}
				if dst[b.Labels[0]] != nil {
					t.Errorf("%s %q declared twice", b.Type, b.Labels[0])
				}
				dst[b.Labels[0]] = b
			case "locals":
				for name, a := range b.Body.Attributes {
					if m.locals[name] != nil {
						t.Errorf("local %q declared twice", name)
					}
					m.locals[name] = a
				}
			case "resource", "data":
				dst := m.resources
				if b.Type == "data" {
					dst = m.data
				}
				if len(b.Labels) != 2 {
					t.Fatalf("%s: %s block with labels %v", p, b.Type, b.Labels)
				}
				if dst[b.Labels[0]] == nil {
					dst[b.Labels[0]] = map[string]*hclsyntax.Block{}
				}
				if dst[b.Labels[0]][b.Labels[1]] != nil {
					t.Errorf("%s %s.%s declared twice", b.Type, b.Labels[0], b.Labels[1])
				}
				dst[b.Labels[0]][b.Labels[1]] = b
			default:
				m.other = append(m.other, b)
			}
		}
		_ = hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
			var tr hcl.Traversal
			switch e := n.(type) {
			case *hclsyntax.ScopeTraversalExpr:
				tr = e.Traversal[1:]
			case *hclsyntax.RelativeTraversalExpr:
				tr = e.Traversal
			}
			for _, s := range tr {
				if a, ok := s.(hcl.TraverseAttr); ok {
					names[a.Name] = true
				}
			}
			return nil
		})
	}
	for n := range names {
		m.attrNames = append(m.attrNames, n)
	}
	sort.Strings(m.attrNames)
	return m
}

// instance is one instance of a resource or data block.
type instance struct {
	typ, name string
	key       cty.Value // string (for_each), number (count) or NilVal
	block     *hclsyntax.Block
	ctx       *hcl.EvalContext // with each or count
}

// keyString is the instance key as the test names it: the for_each key,
// the count index, or "".
func (in *instance) keyString() string {
	switch {
	case in.key == cty.NilVal:
		return ""
	case in.key.Type() == cty.String:
		return in.key.AsString()
	default:
		return in.key.AsBigFloat().String()
	}
}

func (in *instance) String() string {
	return in.typ + "." + in.name + keySuffix(in.key)
}

func keySuffix(key cty.Value) string {
	switch {
	case key == cty.NilVal:
		return ""
	case key.Type() == cty.String:
		return fmt.Sprintf("[%q]", key.AsString())
	default:
		return "[" + key.AsBigFloat().String() + "]"
	}
}

// ref is the placeholder of an attribute of a resource instance, or of a
// data instance when typ starts with "data.".
func ref(typ, name string, key cty.Value, attr string) string {
	return "<" + typ + "." + name + keySuffix(key) + "." + attr + ">"
}

// tfEval is the module evaluated with one set of variable values.
type tfEval struct {
	m       *tfModule
	vars    map[string]cty.Value
	locals  map[string]cty.Value
	insts   map[string][]*instance // "type.name" or "data.type.name"
	funcs   map[string]function.Function
	baseCtx *hcl.EvalContext
}

// evaluate evaluates the module with the variables' defaults, replaced by
// overrides where given.
func evaluate(t *testing.T, m *tfModule, overrides map[string]cty.Value) *tfEval {
	t.Helper()
	e := &tfEval{m: m, vars: map[string]cty.Value{}, locals: map[string]cty.Value{}, insts: map[string][]*instance{}}
	e.funcs = tfFunctions()
	for name, b := range m.variables {
		ty := cty.DynamicPseudoType
		if a := b.Body.Attributes["type"]; a != nil {
			var diags hcl.Diagnostics
			if ty, diags = typeexpr.TypeConstraint(a.Expr); diags.HasErrors() {
				t.Fatalf("variable %s: %s", name, diags.Error())
			}
		}
		v := cty.NullVal(ty)
		if a := b.Body.Attributes["default"]; a != nil {
			d, diags := a.Expr.Value(nil)
			if diags.HasErrors() {
				t.Fatalf("variable %s: default: %s", name, diags.Error())
			}
			v = d
		} else {
			v = cty.UnknownVal(ty)
		}
		if o, ok := overrides[name]; ok {
			v = o
		}
		cv, err := convert.Convert(v, ty)
		if err != nil {
			t.Fatalf("variable %s: %v", name, err)
		}
		e.vars[name] = cv
	}
	for name := range overrides {
		if _, ok := m.variables[name]; !ok {
			t.Fatalf("test sets undeclared variable %s", name)
		}
	}

	// Locals and resource instances depend on each other; resolve them in
	// rounds until nothing changes. Whatever is not resolved yet is
	// unknown, so that what depends on it stays unknown too.
	pendingLocals := map[string]bool{}
	for name := range m.locals {
		pendingLocals[name] = true
	}
	type blockRef struct {
		key   string
		typ   string
		name  string
		block *hclsyntax.Block
	}
	var pendingBlocks []blockRef
	for typ, byName := range m.resources {
		for name, b := range byName {
			pendingBlocks = append(pendingBlocks, blockRef{typ + "." + name, typ, name, b})
		}
	}
	for typ, byName := range m.data {
		for name, b := range byName {
			pendingBlocks = append(pendingBlocks, blockRef{"data." + typ + "." + name, "data." + typ, name, b})
		}
	}
	lastDiags := map[string]hcl.Diagnostics{}
	for progress := true; progress; {
		progress = false
		ctx := e.context()
		for name := range pendingLocals {
			v, diags := m.locals[name].Expr.Value(ctx)
			if !diags.HasErrors() && v.IsWhollyKnown() {
				e.locals[name] = v
				delete(pendingLocals, name)
				progress = true
				continue
			}
			lastDiags["local."+name] = diags
		}
		var still []blockRef
		for _, br := range pendingBlocks {
			insts, diags, ok := e.expand(ctx, br.typ, br.name, br.block)
			if !ok {
				lastDiags[br.key] = diags
				still = append(still, br)
				continue
			}
			e.insts[br.key] = insts
			progress = true
		}
		pendingBlocks = still
	}
	for name := range pendingLocals {
		t.Errorf("local.%s cannot be evaluated: %s", name, lastDiags["local."+name].Error())
	}
	for _, br := range pendingBlocks {
		t.Errorf("%s: count or for_each cannot be evaluated: %s", br.key, lastDiags[br.key].Error())
	}
	if t.Failed() {
		t.FailNow()
	}
	e.baseCtx = e.context()
	for _, insts := range e.insts {
		for _, in := range insts {
			in.ctx = e.instanceContext(in.key, in.block)
		}
	}
	return e
}

// expand returns the instances of a block once its count or for_each is
// known.
func (e *tfEval) expand(ctx *hcl.EvalContext, typ, name string, b *hclsyntax.Block) ([]*instance, hcl.Diagnostics, bool) {
	if a := b.Body.Attributes["for_each"]; a != nil {
		v, diags := a.Expr.Value(ctx)
		if diags.HasErrors() || !v.IsWhollyKnown() {
			return nil, diags, false
		}
		if v.IsNull() || !(v.Type().IsMapType() || v.Type().IsObjectType() || v.Type().IsSetType()) {
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "for_each must be a map, an object or a set"}}, false
		}
		var out []*instance
		for it := v.ElementIterator(); it.Next(); {
			k, _ := it.Element()
			out = append(out, &instance{typ: typ, name: name, key: k, block: b})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].key.AsString() < out[j].key.AsString() })
		return out, nil, true
	}
	if a := b.Body.Attributes["count"]; a != nil {
		v, diags := a.Expr.Value(ctx)
		if diags.HasErrors() || !v.IsWhollyKnown() {
			return nil, diags, false
		}
		n, err := convert.Convert(v, cty.Number)
		if err != nil || n.IsNull() {
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "count must be a number"}}, false
		}
		c, _ := n.AsBigFloat().Int64()
		var out []*instance
		for i := range c {
			out = append(out, &instance{typ: typ, name: name, key: cty.NumberIntVal(i), block: b})
		}
		return out, nil, true
	}
	return []*instance{{typ: typ, name: name, key: cty.NilVal, block: b}}, nil, true
}

// placeholder is the value of one resource instance.
func (e *tfEval) placeholder(typ, name string, key cty.Value) cty.Value {
	attrs := make(map[string]cty.Value, len(e.m.attrNames))
	for _, a := range e.m.attrNames {
		attrs[a] = cty.StringVal(ref(typ, name, key, a))
	}
	return cty.ObjectVal(attrs)
}

// blockValue is the value a reference to a whole resource or data block
// has: one instance, a tuple (count) or an object (for_each).
func (e *tfEval) blockValue(typ, name string, b *hclsyntax.Block, key string) cty.Value {
	insts, ok := e.insts[key]
	if !ok {
		return cty.DynamicVal
	}
	switch {
	case b.Body.Attributes["for_each"] != nil:
		m := map[string]cty.Value{}
		for _, in := range insts {
			m[in.key.AsString()] = e.placeholder(typ, name, in.key)
		}
		return cty.ObjectVal(m)
	case b.Body.Attributes["count"] != nil:
		if len(insts) == 0 {
			return cty.EmptyTupleVal
		}
		vals := make([]cty.Value, len(insts))
		for i, in := range insts {
			vals[i] = e.placeholder(typ, name, in.key)
		}
		return cty.TupleVal(vals)
	}
	return e.placeholder(typ, name, cty.NilVal)
}

func (e *tfEval) context() *hcl.EvalContext {
	vars := map[string]cty.Value{}
	v := map[string]cty.Value{}
	for name, val := range e.vars {
		v[name] = val
	}
	vars["var"] = cty.ObjectVal(v)
	l := map[string]cty.Value{}
	for name := range e.m.locals {
		if val, ok := e.locals[name]; ok {
			l[name] = val
		} else {
			l[name] = cty.DynamicVal
		}
	}
	vars["local"] = cty.ObjectVal(l)
	vars["path"] = cty.ObjectVal(map[string]cty.Value{
		"module": cty.StringVal(e.m.dir), "root": cty.StringVal(e.m.dir), "cwd": cty.StringVal(e.m.dir),
	})
	vars["terraform"] = cty.ObjectVal(map[string]cty.Value{"workspace": cty.StringVal("default")})
	for typ, byName := range e.m.resources {
		obj := map[string]cty.Value{}
		for name, b := range byName {
			obj[name] = e.blockValue(typ, name, b, typ+"."+name)
		}
		vars[typ] = cty.ObjectVal(obj)
	}
	data := map[string]cty.Value{}
	for typ, byName := range e.m.data {
		obj := map[string]cty.Value{}
		for name, b := range byName {
			obj[name] = e.blockValue("data."+typ, name, b, "data."+typ+"."+name)
		}
		data[typ] = cty.ObjectVal(obj)
	}
	vars["data"] = cty.ObjectVal(data)
	return &hcl.EvalContext{Variables: vars, Functions: e.funcs}
}

// instanceContext adds each or count to the module's context.
func (e *tfEval) instanceContext(key cty.Value, b *hclsyntax.Block) *hcl.EvalContext {
	ctx := e.baseCtx.NewChild()
	ctx.Variables = map[string]cty.Value{}
	switch {
	case b.Body.Attributes["for_each"] != nil:
		fe, _ := b.Body.Attributes["for_each"].Expr.Value(e.baseCtx)
		var val cty.Value
		switch {
		case fe.Type().IsSetType():
			val = key
		case fe.Type().IsObjectType():
			val = fe.GetAttr(key.AsString())
		default:
			val = fe.Index(key)
		}
		ctx.Variables["each"] = cty.ObjectVal(map[string]cty.Value{"key": key, "value": val})
	case b.Body.Attributes["count"] != nil:
		ctx.Variables["count"] = cty.ObjectVal(map[string]cty.Value{"index": key})
	}
	return ctx
}

// instances returns the instances of resource typ.name (or of the data
// block when typ starts with "data.").
func (e *tfEval) instances(typ, name string) []*instance {
	return e.insts[typ+"."+name]
}

// all returns every instance of every resource of type typ.
func (e *tfEval) all(typ string) []*instance {
	var out []*instance
	for name := range e.m.resources[typ] {
		out = append(out, e.insts[typ+"."+name]...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// value evaluates an attribute of a body within an instance; absent is
// NilVal.
func value(t *testing.T, ctx *hcl.EvalContext, body *hclsyntax.Body, name string) cty.Value {
	t.Helper()
	a := body.Attributes[name]
	if a == nil {
		return cty.NilVal
	}
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() {
		t.Errorf("%s: %s", a.SrcRange, diags.Error())
		return cty.NilVal
	}
	return v
}

// str is an attribute as a string ("" when absent, null or not a string).
func (in *instance) str(t *testing.T, name string) string {
	t.Helper()
	return asString(value(t, in.ctx, in.block.Body, name))
}

func (in *instance) val(t *testing.T, name string) cty.Value {
	t.Helper()
	return value(t, in.ctx, in.block.Body, name)
}

// nested returns the nested blocks of a type.
func nested(body *hclsyntax.Body, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range body.Blocks {
		if b.Type == typ {
			out = append(out, b)
		}
	}
	return out
}

func asString(v cty.Value) string {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return ""
	}
	s, err := convert.Convert(v, cty.String)
	if err != nil {
		return ""
	}
	return s.AsString()
}

func asStrings(v cty.Value) []string {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.CanIterateElements() {
		return nil
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, el := it.Element()
		out = append(out, asString(el))
	}
	return out
}

func asStringMap(v cty.Value) map[string]string {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.CanIterateElements() {
		return nil
	}
	out := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, el := it.Element()
		out[k.AsString()] = asString(el)
	}
	return out
}

func asBool(v cty.Value) (bool, bool) {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return false, false
	}
	b, err := convert.Convert(v, cty.Bool)
	if err != nil {
		return false, false
	}
	return b.True(), true
}

// tfFunctions are the Terraform functions the module may use.
func tfFunctions() map[string]function.Function {
	alltrue := function.New(&function.Spec{
		Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			for it := args[0].ElementIterator(); it.Next(); {
				_, v := it.Element()
				if v.IsNull() || v.False() {
					return cty.False, nil
				}
			}
			return cty.True, nil
		},
	})
	file := function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			b, err := os.ReadFile(args[0].AsString())
			if err != nil {
				return cty.NilVal, err
			}
			return cty.StringVal(string(b)), nil
		},
	})
	// The zips may not be built: the hash stands for itself.
	filehash := function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			sum := sha256.Sum256([]byte(args[0].AsString()))
			return cty.StringVal("<filebase64sha256 " + hex.EncodeToString(sum[:8]) + ">"), nil
		},
	})
	return map[string]function.Function{
		"alltrue":          alltrue,
		"can":              tryfunc.CanFunc,
		"coalesce":         stdlib.CoalesceFunc,
		"concat":           stdlib.ConcatFunc,
		"contains":         stdlib.ContainsFunc,
		"distinct":         stdlib.DistinctFunc,
		"file":             file,
		"filebase64sha256": filehash,
		"flatten":          stdlib.FlattenFunc,
		"format":           stdlib.FormatFunc,
		"join":             stdlib.JoinFunc,
		"jsondecode":       stdlib.JSONDecodeFunc,
		"jsonencode":       stdlib.JSONEncodeFunc,
		"keys":             stdlib.KeysFunc,
		"length":           stdlib.LengthFunc,
		"lookup":           stdlib.LookupFunc,
		"lower":            stdlib.LowerFunc,
		"merge":            stdlib.MergeFunc,
		"regex":            stdlib.RegexFunc,
		"replace":          stdlib.ReplaceFunc,
		"sort":             stdlib.SortFunc,
		"split":            stdlib.SplitFunc,
		"tobool":           stdlib.MakeToFunc(cty.Bool),
		"tolist":           stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":            stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"tonumber":         stdlib.MakeToFunc(cty.Number),
		"toset":            stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tostring":         stdlib.MakeToFunc(cty.String),
		"try":              tryfunc.TryFunc,
		"upper":            stdlib.UpperFunc,
		"values":           stdlib.ValuesFunc,
	}
}

// sortedSet returns the keys of a set, sorted.
func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// describe is for messages: a value as HCL would print it, roughly.
func describe(v cty.Value) string {
	if v == cty.NilVal {
		return "(absent)"
	}
	if v.IsNull() {
		return "null"
	}
	if !v.IsWhollyKnown() {
		return "(unknown)"
	}
	if v.Type() == cty.String {
		return fmt.Sprintf("%q", v.AsString())
	}
	return strings.TrimSpace(fmt.Sprintf("%#v", v))
}
