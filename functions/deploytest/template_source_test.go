package deploytest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// This file reads the functions' Go source: which packages each Lambda
// binary contains (go list, for the target it is built for), which AWS API
// operations those packages call (go/ast), and which environment variables
// they read.

const modulePath = "github.com/lcgo/lcgo"

// goPackage is what go list says about a package of the module.
type goPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
	Deps       []string
	Error      *struct{ Err string }
}

var modOnce struct {
	sync.Once
	pkgs map[string]*goPackage
	err  error
}

// modulePackages lists the module's packages as built for Lambda
// (linux/arm64, no cgo, the bootstrap's build tags).
func modulePackages(t *testing.T) map[string]*goPackage {
	t.Helper()
	root := repoRoot(t)
	modOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "list", "-e", "-tags", "lambda.norpc",
			"-json=ImportPath,Dir,GoFiles,Imports,Deps,Error", modulePath+"/...")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			modOnce.err = fmt.Errorf("go list: %v\n%s", err, stderr.Bytes())
			return
		}
		modOnce.pkgs = map[string]*goPackage{}
		dec := json.NewDecoder(bytes.NewReader(out))
		for {
			var p goPackage
			if err := dec.Decode(&p); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				modOnce.err = err
				return
			}
			modOnce.pkgs[p.ImportPath] = &p
		}
	})
	if modOnce.err != nil {
		t.Fatal(modOnce.err)
	}
	return modOnce.pkgs
}

// lambdaMain is the import path of an area's Lambda bootstrap.
func lambdaMain(area string) string { return modulePath + "/functions/" + area + "/lambda" }

// areaPackages are the module's packages linked into an area's bootstrap,
// the bootstrap included, sorted by import path.
func areaPackages(t *testing.T, area string) []*goPackage {
	t.Helper()
	pkgs := modulePackages(t)
	main := pkgs[lambdaMain(area)]
	if main == nil {
		t.Fatalf("no package %s", lambdaMain(area))
	}
	out := []*goPackage{main}
	for _, d := range main.Deps {
		if p := pkgs[d]; p != nil {
			out = append(out, p)
		}
	}
	for _, p := range out {
		if p.Error != nil {
			t.Fatalf("%s: %s", p.ImportPath, p.Error.Err)
		}
	}
	slices.SortFunc(out, func(a, b *goPackage) int { return strings.Compare(a.ImportPath, b.ImportPath) })
	return out
}

// hasPackage says whether an area's bootstrap links the package.
func hasPackage(t *testing.T, area, path string) bool {
	return slices.ContainsFunc(areaPackages(t, area), func(p *goPackage) bool { return p.ImportPath == path })
}

// parsedPackage is a package's non-test files, parsed.
type parsedPackage struct {
	fset   *token.FileSet
	files  []*ast.File
	consts map[string]string // package-level string constants
}

var parsed struct {
	sync.Mutex
	m map[string]*parsedPackage
}

func parsePackage(t *testing.T, p *goPackage) *parsedPackage {
	t.Helper()
	parsed.Lock()
	defer parsed.Unlock()
	if pp := parsed.m[p.ImportPath]; pp != nil {
		return pp
	}
	pp := &parsedPackage{fset: token.NewFileSet(), consts: map[string]string{}}
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(pp.fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("%s: %v", p.ImportPath, err)
		}
		pp.files = append(pp.files, f)
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if v, ok := stringLit(vs.Values[i]); ok {
							pp.consts[n.Name] = v
						}
					}
				}
			}
		}
	}
	if parsed.m == nil {
		parsed.m = map[string]*parsedPackage{}
	}
	parsed.m[p.ImportPath] = pp
	return pp
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// imports maps a file's import names to paths.
func imports(f *ast.File) map[string]string {
	m := map[string]string{}
	for _, is := range f.Imports {
		path, _ := strconv.Unquote(is.Path.Value)
		name := path[strings.LastIndex(path, "/")+1:]
		if is.Name != nil {
			name = is.Name.Name
		}
		m[name] = path
	}
	return m
}

// eachCall visits every call in a file with the name of the top-level
// function or method it is in ("" outside of any).
func eachCall(f *ast.File, visit func(fn string, call *ast.CallExpr)) {
	for _, d := range f.Decls {
		fn := ""
		if fd, ok := d.(*ast.FuncDecl); ok {
			fn = fd.Name.Name
		}
		ast.Inspect(d, func(n ast.Node) bool {
			if c, ok := n.(*ast.CallExpr); ok {
				visit(fn, c)
			}
			return true
		})
	}
}

// ---- AWS API calls ----

const sdkServicePrefix = "github.com/aws/aws-sdk-go-v2/service/"

// awsService describes an SDK service package whose calls are mapped to
// IAM actions.
type awsService struct {
	name    string
	client  reflect.Type
	presign reflect.Type // the presign client, if the service has one
}

var awsServices = map[string]awsService{
	sdkServicePrefix + "dynamodb":       {"dynamodb", reflect.TypeFor[*dynamodb.Client](), nil},
	sdkServicePrefix + "s3":             {"s3", reflect.TypeFor[*s3.Client](), reflect.TypeFor[*s3.PresignClient]()},
	sdkServicePrefix + "secretsmanager": {"secretsmanager", reflect.TypeFor[*secretsmanager.Client](), nil},
}

// awsWithoutRole are service packages the code calls with credentials of
// its own, never the function's role, so they need no IAM grant.
var awsWithoutRole = map[string]string{
	sdkServicePrefix + "bedrockruntime": "shared/provider/bedrock signs with BEDROCK_AWS_ACCESS_KEY_ID/SECRET (static credentials) and refuses to run without them",
}

// provisioningOnly are functions whose AWS calls create or delete
// infrastructure for tests and local runs; deployments get that
// infrastructure from the template, so the functions' roles lack it. The
// test checks that no package of a bootstrap other than their own refers to
// them.
var provisioningOnly = map[string]map[string]string{
	modulePath + "/shared/store/dynamo": {
		"CreateTables": "creates the table and turns on TTL for tests and local runs",
		"DeleteTables": "deletes a test's table",
	},
}

var methodCache sync.Map // reflect.Type → map[string]bool

// methodNames is the method set of t by name.
func methodNames(t reflect.Type) map[string]bool {
	if t == nil {
		return nil
	}
	if m, ok := methodCache.Load(t); ok {
		return m.(map[string]bool)
	}
	m := map[string]bool{}
	for i := range t.NumMethod() {
		m[t.Method(i).Name] = true
	}
	methodCache.Store(t, m)
	return m
}

// awsCall is one call of an AWS API operation in the source.
type awsCall struct {
	Service string // dynamodb, s3, secretsmanager
	Op      string // the SDK operation, e.g. PutItem
	Pkg     string
	Func    string
	Pos     string
}

// awsScan is what one package calls.
type awsScan struct {
	calls []awsCall
	// txKinds are the dynamodb/types transaction parts the package builds
	// (Put, Update, Delete, ConditionCheck, Get).
	txKinds map[string]bool
	// others are SDK service packages it imports that awsServices does not
	// map.
	others []string
}

// scanAWS finds a package's AWS API calls: method calls of two or more
// arguments whose name is an operation of an imported service's client
// (or presign client), and New<Op>Paginator calls.
func scanAWS(t *testing.T, p *goPackage) awsScan {
	t.Helper()
	pp := parsePackage(t, p)
	scan := awsScan{txKinds: map[string]bool{}}
	for _, imp := range p.Imports {
		rest, ok := strings.CutPrefix(imp, sdkServicePrefix)
		if !ok || strings.Contains(rest, "/") {
			continue
		}
		if _, ok := awsServices[imp]; !ok {
			scan.others = append(scan.others, imp)
		}
	}
	for _, f := range pp.files {
		imps := imports(f)
		var services []awsService
		svcByName := map[string]awsService{}
		typesName := ""
		for name, path := range imps {
			if s, ok := awsServices[path]; ok {
				services = append(services, s)
				svcByName[name] = s
			}
			if path == sdkServicePrefix+"dynamodb/types" {
				typesName = name
			}
		}
		if len(services) == 0 {
			continue
		}
		if typesName != "" {
			ast.Inspect(f, func(n ast.Node) bool {
				if cl, ok := n.(*ast.CompositeLit); ok {
					typ := cl.Type
					if sel, ok := typ.(*ast.SelectorExpr); ok {
						if x, ok := sel.X.(*ast.Ident); ok && x.Name == typesName {
							switch sel.Sel.Name {
							case "Put", "Update", "Delete", "ConditionCheck", "Get":
								scan.txKinds[sel.Sel.Name] = true
							}
						}
					}
				}
				return true
			})
		}
		eachCall(f, func(fn string, c *ast.CallExpr) {
			sel, ok := c.Fun.(*ast.SelectorExpr)
			if !ok {
				return
			}
			name := sel.Sel.Name
			pos := pp.fset.Position(c.Pos())
			where := fmt.Sprintf("%s:%d", filepath.Base(pos.Filename), pos.Line)
			if x, ok := sel.X.(*ast.Ident); ok {
				if s, ok := svcByName[x.Name]; ok {
					if op, ok := strings.CutPrefix(name, "New"); ok {
						if op, ok = strings.CutSuffix(op, "Paginator"); ok && methodNames(s.client)[op] {
							scan.calls = append(scan.calls, awsCall{s.name, op, p.ImportPath, fn, where})
						}
					}
					return
				}
			}
			if len(c.Args) < 2 {
				return
			}
			var hits []awsCall
			for _, s := range services {
				if methodNames(s.client)[name] {
					hits = append(hits, awsCall{s.name, name, p.ImportPath, fn, where})
				} else if op, ok := strings.CutPrefix(name, "Presign"); ok && methodNames(s.presign)[name] {
					hits = append(hits, awsCall{s.name, op, p.ImportPath, fn, where})
				}
			}
			switch len(hits) {
			case 0:
			case 1:
				scan.calls = append(scan.calls, hits[0])
			default:
				t.Errorf("%s %s: %s is an operation of several imported services; cannot tell which", p.ImportPath, where, name)
			}
		})
	}
	return scan
}

// Resource kinds a grant applies to.
const (
	onTable        = "table"
	onIndexes      = "table indexes"
	onBucketObject = "bucket objects"
	onBucket       = "bucket"
	onSecret       = "secret"
	onLogGroup     = "log group"
)

// iamNeed is an IAM action on a kind of resource.
type iamNeed struct{ action, on string }

// iamFor maps an SDK operation to the IAM actions it needs. txKinds are the
// transaction parts the calling package builds.
func iamFor(service, op string, txKinds map[string]bool) ([]iamNeed, error) {
	switch service {
	case "dynamodb":
		switch op {
		case "TransactWriteItems":
			// Authorized item by item as the operation each part is.
			var out []iamNeed
			for kind, action := range map[string]string{"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"} {
				if txKinds[kind] {
					out = append(out, iamNeed{"dynamodb:" + action, onTable})
				}
			}
			if len(out) == 0 {
				return nil, fmt.Errorf("TransactWriteItems, but no types.Put/Update/Delete/ConditionCheck in the package")
			}
			return out, nil
		case "TransactGetItems":
			return []iamNeed{{"dynamodb:GetItem", onTable}}, nil
		case "Query", "Scan":
			return []iamNeed{{"dynamodb:" + op, onTable}, {"dynamodb:" + op, onIndexes}}, nil
		case "GetItem", "PutItem", "UpdateItem", "DeleteItem", "BatchGetItem", "BatchWriteItem", "DescribeTable":
			return []iamNeed{{"dynamodb:" + op, onTable}}, nil
		}
	case "s3":
		switch op {
		case "GetObject", "HeadObject":
			return []iamNeed{{"s3:GetObject", onBucketObject}}, nil
		case "PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "CopyObject":
			return []iamNeed{{"s3:PutObject", onBucketObject}}, nil
		case "DeleteObject", "DeleteObjects":
			return []iamNeed{{"s3:DeleteObject", onBucketObject}}, nil
		case "AbortMultipartUpload":
			return []iamNeed{{"s3:AbortMultipartUpload", onBucketObject}}, nil
		case "ListObjectsV2", "ListObjects":
			return []iamNeed{{"s3:ListBucket", onBucket}}, nil
		}
	case "secretsmanager":
		switch op {
		case "GetSecretValue", "DescribeSecret":
			return []iamNeed{{"secretsmanager:" + op, onSecret}}, nil
		case "BatchGetSecretValue":
			return []iamNeed{{"secretsmanager:BatchGetSecretValue", onSecret}, {"secretsmanager:GetSecretValue", onSecret}}, nil
		}
	}
	return nil, fmt.Errorf("no IAM mapping for %s %s: add it to iamFor", service, op)
}

// neededByArea is what an area's bootstrap calls, by IAM need, with where
// each call is. Calls inside provisioningOnly functions are left out.
func neededByArea(t *testing.T, area string) map[iamNeed][]string {
	t.Helper()
	need := map[iamNeed][]string{}
	for _, p := range areaPackages(t, area) {
		for n, where := range neededByPackage(t, p) {
			need[n] = append(need[n], where...)
		}
	}
	return need
}

func neededByPackage(t *testing.T, p *goPackage) map[iamNeed][]string {
	t.Helper()
	scan := scanAWS(t, p)
	for _, other := range scan.others {
		if _, ok := awsWithoutRole[other]; !ok {
			t.Errorf("%s imports %s, which this test cannot map to IAM actions: add it to awsServices (and iamFor) or to awsWithoutRole", p.ImportPath, other)
		}
	}
	need := map[iamNeed][]string{}
	for _, c := range scan.calls {
		if _, skip := provisioningOnly[c.Pkg][c.Func]; skip {
			continue
		}
		ns, err := iamFor(c.Service, c.Op, scan.txKinds)
		if err != nil {
			t.Errorf("%s %s: %v", c.Pkg, c.Pos, err)
			continue
		}
		for _, n := range ns {
			need[n] = append(need[n], fmt.Sprintf("%s %s (%s)", strings.TrimPrefix(c.Pkg, modulePath+"/"), c.Pos, c.Op))
		}
	}
	return need
}

// provisioningReferences lists places in an area's packages, other than the
// provisioning functions' own package, that refer to one of them outside
// of a branch only the local runner takes: the body of an if whose
// condition tests the identifier local (setup.Options.Local, which the
// Lambda entry point sets to false; localRunnerFlag checks that).
func provisioningReferences(t *testing.T, area string) []string {
	t.Helper()
	var out []string
	for _, p := range areaPackages(t, area) {
		pp := parsePackage(t, p)
		for _, f := range pp.files {
			imps := imports(f)
			var visit func(n ast.Node, localOnly bool)
			visit = func(n ast.Node, localOnly bool) {
				ast.Inspect(n, func(n ast.Node) bool {
					switch x := n.(type) {
					case *ast.IfStmt:
						if x.Init != nil {
							visit(x.Init, localOnly)
						}
						visit(x.Cond, localOnly)
						visit(x.Body, localOnly || mentionsLocal(x.Cond))
						if x.Else != nil {
							visit(x.Else, localOnly)
						}
						return false
					case *ast.SelectorExpr:
						id, ok := x.X.(*ast.Ident)
						if !ok || localOnly {
							return true
						}
						if fns := provisioningOnly[imps[id.Name]]; fns != nil {
							if _, ok := fns[x.Sel.Name]; ok {
								pos := pp.fset.Position(x.Pos())
								out = append(out, fmt.Sprintf("%s %s:%d uses %s.%s", p.ImportPath, filepath.Base(pos.Filename), pos.Line, id.Name, x.Sel.Name))
							}
						}
					}
					return true
				})
			}
			visit(f, false)
		}
	}
	return out
}

// mentionsLocal says whether an if condition tests an identifier or field
// named local or Local.
func mentionsLocal(cond ast.Expr) bool {
	found := false
	ast.Inspect(cond, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && strings.EqualFold(id.Name, "local") {
			found = true
		}
		return !found
	})
	return found
}

// localRunnerFlag checks that the Lambda entry point opens the App with
// setup.Options{Local: false}, so that branches on local never run there.
func localRunnerFlag(t *testing.T) {
	t.Helper()
	p := modulePackages(t)[modulePath+"/shared/platform/lambda"]
	if p == nil {
		t.Fatal("no package shared/platform/lambda")
	}
	opened := false
	for _, f := range parsePackage(t, p).files {
		imps := imports(f)
		ast.Inspect(f, func(n ast.Node) bool {
			cl, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			sel, ok := cl.Type.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Options" {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); !ok || imps[id.Name] != modulePath+"/shared/setup" {
				return true
			}
			opened = true
			for _, e := range cl.Elts {
				kv, ok := e.(*ast.KeyValueExpr)
				if !ok {
					t.Error("shared/platform/lambda: setup.Options without field names")
					continue
				}
				if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Local" {
					if v, ok := kv.Value.(*ast.Ident); !ok || v.Name != "false" {
						t.Error("shared/platform/lambda: setup.Options.Local must be false on Lambda")
					}
				}
			}
			return true
		})
	}
	if !opened {
		t.Error("shared/platform/lambda builds no setup.Options; update localRunnerFlag")
	}
}

// ---- Environment variables ----

// configEnvNames are the variables shared/config's loader reads: the
// string arguments of calls to the methods of its environment reader.
func configEnvNames(t *testing.T) map[string]string {
	t.Helper()
	p := modulePackages(t)[modulePath+"/shared/config"]
	if p == nil {
		t.Fatal("no package shared/config")
	}
	pp := parsePackage(t, p)
	readers := map[string]bool{}
	for _, f := range pp.files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || len(fd.Recv.List) != 1 {
				continue
			}
			typ := fd.Recv.List[0].Type
			if st, ok := typ.(*ast.StarExpr); ok {
				typ = st.X
			}
			if id, ok := typ.(*ast.Ident); ok && id.Name == "envReader" {
				readers[fd.Name.Name] = true
			}
		}
	}
	if len(readers) == 0 {
		t.Fatal("shared/config has no envReader methods; update configEnvNames")
	}
	names := map[string]string{}
	for _, f := range pp.files {
		eachCall(f, func(fn string, c *ast.CallExpr) {
			sel, ok := c.Fun.(*ast.SelectorExpr)
			if !ok || !readers[sel.Sel.Name] || len(c.Args) == 0 {
				return
			}
			if name, ok := stringLit(c.Args[0]); ok {
				pos := pp.fset.Position(c.Pos())
				names[name] = fmt.Sprintf("shared/config %s:%d", filepath.Base(pos.Filename), pos.Line)
			}
		})
	}
	return names
}

// envGetters are the names of functions (lower case) that getenvNames
// takes for environment lookups: os.Getenv and os.LookupEnv, the getenv
// function values shared/setup passes around, and the small get closures
// built on them.
var envGetters = map[string]bool{"getenv": true, "lookupenv": true, "get": true}

// envName is what an environment variable's name looks like.
var envName = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)

// getenvNames are the variables a package reads by name: calls of
// os.Getenv, os.LookupEnv or an envGetters function with one argument, a
// literal or package constant that looks like a variable's name.
func getenvNames(t *testing.T, p *goPackage) map[string]string {
	t.Helper()
	pp := parsePackage(t, p)
	names := map[string]string{}
	for _, f := range pp.files {
		imps := imports(f)
		eachCall(f, func(fn string, c *ast.CallExpr) {
			var name string
			switch x := c.Fun.(type) {
			case *ast.SelectorExpr:
				if id, ok := x.X.(*ast.Ident); ok && imps[id.Name] == "os" {
					if x.Sel.Name != "Getenv" && x.Sel.Name != "LookupEnv" {
						return
					}
				} else if !envGetters[strings.ToLower(x.Sel.Name)] {
					return
				}
			case *ast.Ident:
				if !envGetters[strings.ToLower(x.Name)] {
					return
				}
			default:
				return
			}
			if len(c.Args) != 1 {
				return
			}
			switch a := c.Args[0].(type) {
			case *ast.BasicLit:
				name, _ = stringLit(a)
			case *ast.Ident:
				name = pp.consts[a.Name]
			}
			if envName.MatchString(name) {
				pos := pp.fset.Position(c.Pos())
				names[name] = fmt.Sprintf("%s %s:%d", strings.TrimPrefix(p.ImportPath, modulePath+"/"), filepath.Base(pos.Filename), pos.Line)
			}
		})
	}
	return names
}

// envReadByArea is every variable an area's bootstrap reads by name, with
// where. All of them read the configuration (shared/setup → config.Load).
func envReadByArea(t *testing.T, area string) map[string]string {
	t.Helper()
	names := map[string]string{}
	if hasPackage(t, area, modulePath+"/shared/config") {
		for k, v := range configEnvNames(t) {
			names[k] = v
		}
	}
	for _, p := range areaPackages(t, area) {
		for k, v := range getenvNames(t, p) {
			if _, ok := names[k]; !ok {
				names[k] = v
			}
		}
	}
	return names
}
