package terraform

import (
	"context"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/lcgo/lcgo/shared/librechat"
)

// What the functions may do on AWS is derived from their source: which
// AWS SDK requests the code each bootstrap links can reach makes, directly
// or through the storage adapters. The result is compared with the IAM
// policies of the module in TestLeastPrivilege.

// modulePath is the Go module of the repository.
const modulePath = "github.com/lcgo/lcgo"

// sdkPrefix is the import path prefix of the AWS SDK's service packages;
// the package name is the IAM service prefix for the services used here.
const sdkPrefix = "github.com/aws/aws-sdk-go-v2/service/"

// tableAdminCalls manage the DynamoDB table itself (dynamo.CreateTables,
// DeleteTables). Only tests and the local runner against an emulator
// make them: deployed tables come from the templates, so no function is
// granted them.
var tableAdminCalls = []string{"dynamodb:CreateTable", "dynamodb:DeleteTable", "dynamodb:DescribeTable", "dynamodb:UpdateTimeToLive"}

// txMembers maps the members of a DynamoDB types.TransactWriteItem to the
// IAM action that governs them: TransactWriteItems is no IAM action of its
// own.
var txMembers = map[string]string{
	"Put":            "dynamodb:PutItem",
	"Update":         "dynamodb:UpdateItem",
	"Delete":         "dynamodb:DeleteItem",
	"ConditionCheck": "dynamodb:ConditionCheckItem",
}

// requestMethods are the request methods of the SDK clients the code
// uses, by service: those whose parameters are (ctx, *<Name>Input, …).
// Presigned requests count as the request they sign.
var requestMethods = func() map[string]map[string]string {
	out := map[string]map[string]string{}
	add := func(svc string, client any, trim string) {
		if out[svc] == nil {
			out[svc] = map[string]string{}
		}
		t := reflect.TypeOf(client)
		ctxType := reflect.TypeOf((*context.Context)(nil)).Elem()
		for i := range t.NumMethod() {
			m := t.Method(i)
			ft := m.Type
			if ft.NumIn() < 3 || ft.In(1) != ctxType || ft.In(2).Kind() != reflect.Pointer {
				continue
			}
			op := strings.TrimPrefix(m.Name, trim)
			if ft.In(2).Elem().Name() == op+"Input" {
				out[svc][m.Name] = svc + ":" + op
			}
		}
	}
	add("dynamodb", &dynamodb.Client{}, "")
	add("s3", &s3.Client{}, "")
	add("s3", &s3.PresignClient{}, "Presign")
	add("secretsmanager", &secretsmanager.Client{}, "")
	return out
}()

// storeAccess is what some code needs on AWS.
type storeAccess struct {
	Actions map[string]bool // IAM actions, e.g. dynamodb:GetItem
	Index   bool            // a DynamoDB Query reads a secondary index
}

func (a *storeAccess) add(b storeAccess) {
	if a.Actions == nil {
		a.Actions = map[string]bool{}
	}
	for k := range b.Actions {
		a.Actions[k] = true
	}
	a.Index = a.Index || b.Index
}

// with returns the actions of one service, without the table management
// calls.
func (a storeAccess) with(svc string) []string {
	var out []string
	for k := range a.Actions {
		if strings.HasPrefix(k, svc+":") && !slices.Contains(tableAdminCalls, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// sdkCalls finds the AWS requests made in node, a declaration of a file
// with the given imports: calls x.M(ctx, in, …) where M is a request
// method of a client of a service the file imports and in is a
// *<M>Input (or a variable, whose type is not known here); DynamoDB
// transactions count as their members' actions, and a request that sets
// IndexName reads an index.
func sdkCalls(imports map[string]string, node ast.Node) storeAccess {
	acc := storeAccess{Actions: map[string]bool{}}
	services := map[string]string{} // import name -> service
	for name, path := range imports {
		if svc, ok := strings.CutPrefix(path, sdkPrefix); ok && !strings.Contains(svc, "/") {
			services[name] = svc
		}
	}
	if len(services) == 0 {
		return acc
	}
	ast.Inspect(node, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok || len(n.Args) < 2 {
				return true
			}
			if pkg, input, ok := inputLiteral(n.Args[1]); ok {
				// &svc.OpInput{…}: the service is the literal's package.
				if svc := services[pkg]; svc != "" {
					if action := requestMethods[svc][sel.Sel.Name]; action != "" && strings.HasSuffix(action, ":"+strings.TrimSuffix(input, "Input")) {
						acc.Actions[action] = true
					}
				}
				return true
			}
			for _, svc := range services {
				if action := requestMethods[svc][sel.Sel.Name]; action != "" {
					acc.Actions[action] = true
				}
			}
		case *ast.CompositeLit:
			if typeName(n.Type) == "TransactWriteItem" {
				for _, el := range n.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						if id, ok := kv.Key.(*ast.Ident); ok && txMembers[id.Name] != "" {
							acc.Actions[txMembers[id.Name]] = true
						}
					}
				}
			}
		case *ast.KeyValueExpr:
			if id, ok := n.Key.(*ast.Ident); ok && id.Name == "IndexName" {
				acc.Index = true
			}
		}
		return true
	})
	delete(acc.Actions, "dynamodb:TransactWriteItems")
	return acc
}

// inputLiteral recognizes &pkg.Name{…} and returns pkg and Name.
func inputLiteral(e ast.Expr) (pkg, name string, ok bool) {
	u, ok := e.(*ast.UnaryExpr)
	if !ok || u.Op != token.AND {
		return "", "", false
	}
	cl, ok := u.X.(*ast.CompositeLit)
	if !ok {
		return "", "", false
	}
	sel, ok := cl.Type.(*ast.SelectorExpr)
	if !ok {
		return "", "", false
	}
	id, ok := sel.X.(*ast.Ident)
	if !ok {
		return "", "", false
	}
	return id.Name, sel.Sel.Name, true
}

func typeName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return e.Sel.Name
	case *ast.StarExpr:
		return typeName(e.X)
	}
	return ""
}

// storeMethodNames are the methods of librechat.Store.
func storeMethodNames() map[string]bool {
	out := map[string]bool{}
	t := reflect.TypeOf((*librechat.Store)(nil)).Elem()
	for i := range t.NumMethod() {
		out[t.Method(i).Name] = true
	}
	return out
}

// parseDir parses the non-test Go files of a package directory that the
// Lambda build (linux/arm64, tag lambda.norpc, no cgo) compiles.
func parseDir(t *testing.T, dir string) (*build.Package, []*ast.File) {
	t.Helper()
	ctx := build.Default
	ctx.GOOS, ctx.GOARCH, ctx.CgoEnabled = "linux", "arm64", false
	ctx.BuildTags = []string{"lambda.norpc"}
	pkg, err := ctx.ImportDir(dir, 0)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range pkg.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		files = append(files, f)
	}
	return pkg, files
}

// fileImports maps the names a file gives its imports to their paths.
func fileImports(f *ast.File) map[string]string {
	out := map[string]string{}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		name := path[strings.LastIndex(path, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		out[name] = path
	}
	return out
}

// dynamoStore maps each method of the DynamoDB store to what it does on
// AWS. Inside the package every name a function mentions is followed
// (methods of different types with one name are merged), which can only
// add actions.
func dynamoStore(t *testing.T, root string) map[string]storeAccess {
	t.Helper()
	type fn struct {
		names map[string]bool
		acc   storeAccess
	}
	funcs := map[string]*fn{}
	_, files := parseDir(t, filepath.Join(root, "shared", "store", "dynamo"))
	for _, f := range files {
		imports := fileImports(f)
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			g := funcs[fd.Name.Name]
			if g == nil {
				g = &fn{names: map[string]bool{}}
				funcs[fd.Name.Name] = g
			}
			g.acc.add(sdkCalls(imports, fd.Body))
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.Ident:
					g.names[n.Name] = true
				case *ast.SelectorExpr:
					g.names[n.Sel.Name] = true
				}
				return true
			})
		}
	}
	out := map[string]storeAccess{}
	for m := range storeMethodNames() {
		if funcs[m] == nil {
			continue
		}
		var acc storeAccess
		seen := map[string]bool{}
		stack := []string{m}
		for len(stack) > 0 {
			name := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			g := funcs[name]
			if g == nil || seen[name] {
				continue
			}
			seen[name] = true
			acc.add(g.acc)
			for c := range g.names {
				stack = append(stack, c)
			}
		}
		out[m] = acc
	}
	return out
}

// goPkg is one package of the repository as the call graph sees it.
type goPkg struct {
	path    string
	files   []*ast.File
	funcs   map[string]*ast.FuncDecl   // plain functions by name
	methods map[string][]*ast.FuncDecl // methods by receiver type name
	types   map[string]*ast.TypeSpec
	fileOf  map[ast.Node]*ast.File
}

// storePackages hold the storage adapters: the call graph does not enter
// them (interface calls would reach every method of a store); what a
// Store method does comes from dynamoStore.
const storePackages = modulePath + "/shared/store/"

// loadClosure parses the packages of the repository that the package at
// path imports, directly or not, itself included.
func loadClosure(t *testing.T, root, path string) map[string]*goPkg {
	t.Helper()
	pkgs := map[string]*goPkg{}
	queue := []string{path}
	for len(queue) > 0 {
		path := queue[0]
		queue = queue[1:]
		if pkgs[path] != nil || strings.HasPrefix(path, storePackages) {
			continue
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(path, modulePath), "/")
		bp, files := parseDir(t, filepath.Join(root, filepath.FromSlash(rel)))
		p := &goPkg{path: path, files: files, funcs: map[string]*ast.FuncDecl{}, methods: map[string][]*ast.FuncDecl{},
			types: map[string]*ast.TypeSpec{}, fileOf: map[ast.Node]*ast.File{}}
		pkgs[path] = p
		for _, imp := range bp.Imports {
			if strings.HasPrefix(imp, modulePath+"/") {
				queue = append(queue, imp)
			}
		}
		for _, f := range files {
			for _, d := range f.Decls {
				p.fileOf[d] = f
				switch d := d.(type) {
				case *ast.FuncDecl:
					if d.Recv == nil {
						p.funcs[d.Name.Name] = d
					} else if len(d.Recv.List) == 1 {
						recv := recvName(d.Recv.List[0].Type)
						p.methods[recv] = append(p.methods[recv], d)
					}
				case *ast.GenDecl:
					for _, s := range d.Specs {
						if ts, ok := s.(*ast.TypeSpec); ok {
							p.types[ts.Name.Name] = ts
							p.fileOf[ts] = f
						}
					}
				}
			}
		}
	}
	return pkgs
}

func recvName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return recvName(e.X)
	case *ast.IndexExpr:
		return recvName(e.X)
	case *ast.IndexListExpr:
		return recvName(e.X)
	case *ast.Ident:
		return e.Name
	}
	return ""
}

// areaCode is what the bootstrap of an area can do on AWS.
type areaCode struct {
	// StoreCalls are the librechat.Store methods it can call.
	StoreCalls []string
	// Direct is what its own code (outside the storage adapters) asks
	// of AWS.
	Direct storeAccess
	// Reached holds the plain functions it can reach, as
	// "<import path>.<name>".
	Reached map[string]bool
}

// analyzeArea finds what the bootstrap of an area can do, following a
// call graph built without types from func main of
// functions/<area>/lambda, the init functions and the package-level
// variables of the packages of the repository it imports. A plain name
// reaches the function or type of that name in its package, pkg.Name the
// one of an imported package. A type that is reached makes all its
// methods reachable (whoever holds a value may call them, code outside
// the repository too, through interfaces), except those named like a
// Store method, which only the repository's code calls: they are reached
// once reachable code calls that name. The types a reached declaration
// names are reached too (a field's value exists without being named).
// Store methods are found by name wherever a reachable function calls
// x.Name(…). Every other approximation can only add.
func analyzeArea(t *testing.T, root, area string) areaCode {
	t.Helper()
	store := storeMethodNames()
	pkgs := loadClosure(t, root, modulePath+"/functions/"+area+"/lambda")
	type work struct {
		pkg  *goPkg
		node ast.Node
	}
	var queue []work
	seen := map[ast.Node]bool{}
	push := func(p *goPkg, n ast.Node) {
		if n != nil && !reflect.ValueOf(n).IsNil() && !seen[n] {
			queue = append(queue, work{p, n})
		}
	}
	for _, p := range pkgs {
		for _, f := range p.files {
			for _, d := range f.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					if d.Recv == nil && (d.Name.Name == "init" || d.Name.Name == "main") {
						push(p, d)
					}
				case *ast.GenDecl:
					if d.Tok == token.VAR {
						push(p, d)
					}
				}
			}
		}
	}
	found := map[string]bool{}    // Store methods called in reached code
	parked := map[string][]work{} // methods of reached types waiting for a call by their name
	out := areaCode{Reached: map[string]bool{}}
	for len(queue) > 0 {
		w := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if seen[w.node] {
			continue
		}
		seen[w.node] = true
		if fd, ok := w.node.(*ast.FuncDecl); ok && fd.Recv == nil {
			out.Reached[w.pkg.path+"."+fd.Name.Name] = true
		}
		if ts, ok := w.node.(*ast.TypeSpec); ok {
			for _, m := range w.pkg.methods[ts.Name.Name] {
				// A method named like a Store method is reached only once
				// reached code calls that name: store wrappers (a cache
				// over the store, say) are built for every area, but an
				// area reaches only the methods it calls.
				if n := m.Name.Name; store[n] && !found[n] {
					parked[n] = append(parked[n], work{w.pkg, m})
					continue
				}
				push(w.pkg, m)
			}
		}
		imports := fileImports(w.pkg.fileOf[w.node])
		out.Direct.add(sdkCalls(imports, w.node))
		name := func(p *goPkg, n string) {
			if f := p.funcs[n]; f != nil {
				push(p, f)
			}
			if ts := p.types[n]; ts != nil {
				push(p, ts)
			}
		}
		calls := map[*ast.SelectorExpr]bool{}
		ast.Inspect(w.node, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if sel, ok := ast.Unparen(n.Fun).(*ast.SelectorExpr); ok {
					calls[sel] = true
				}
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok {
					if path, ok := imports[id.Name]; ok {
						if p := pkgs[path]; p != nil {
							name(p, n.Sel.Name)
						}
						return false
					}
				}
				if calls[n] && store[n.Sel.Name] && !found[n.Sel.Name] {
					found[n.Sel.Name] = true
					for _, m := range parked[n.Sel.Name] {
						push(m.pkg, m.node)
					}
					delete(parked, n.Sel.Name)
				}
			case *ast.Ident:
				name(w.pkg, n.Name)
			}
			return true
		})
	}
	out.StoreCalls = sortedSet(found)
	return out
}

// awsAccess is what an area needs on AWS: its own requests and those of
// the DynamoDB store methods it calls. Store methods the adapter does not
// implement are returned in unimplemented.
func awsAccess(c areaCode, store map[string]storeAccess) (need storeAccess, unimplemented []string) {
	need.add(c.Direct)
	for _, m := range c.StoreCalls {
		acc, ok := store[m]
		if !ok {
			if m != "Close" {
				unimplemented = append(unimplemented, m)
			}
			continue
		}
		need.add(acc)
	}
	return need, unimplemented
}
