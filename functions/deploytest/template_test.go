package deploytest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/global"
	"github.com/awslabs/goformation/v7/intrinsics"

	"github.com/lcgo/lcgo/shared/routes"
)

// openTemplate parses template.yaml. A Ref to a parameter without a default
// or to a resource resolves to "ref:<Name>" so that wiring can be checked.
func openTemplate(t *testing.T) *cloudformation.Template {
	t.Helper()
	path := filepath.Join(repoRoot(t), "template.yaml")
	// Plain parsing is the strict check: unknown properties are errors.
	if _, err := goformation.Open(path); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	tpl, err := goformation.OpenWithOptions(path, &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref": func(name string, input, template any) any {
				if v := intrinsics.Ref(name, input, template); v != nil {
					return v
				}
				if s, ok := input.(string); ok {
					return "ref:" + s
				}
				return nil
			},
		},
	})
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return tpl
}

// areaOfCodeUri maps functions/<area>/lambda to <area>.
var areaOfCodeUri = regexp.MustCompile(`^functions/([a-z0-9]+)/lambda/?$`)

// eventName is the event name the template uses for a route path.
func eventName(path string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == '-' || r == '_' }) {
		if part == "{proxy+}" {
			b.WriteString("Proxy")
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func TestTemplateRoutesMatchTable(t *testing.T) {
	tpl := openTemplate(t)
	if tpl.Transform == nil || tpl.Transform.String == nil || *tpl.Transform.String != "AWS::Serverless-2016-10-31" {
		t.Errorf("Transform must be AWS::Serverless-2016-10-31")
	}
	apis := tpl.GetAllServerlessHttpApiResources()
	if len(apis) != 1 {
		t.Fatalf("want exactly one AWS::Serverless::HttpApi, have %d", len(apis))
	}
	var apiName string
	for name := range apis {
		apiName = name
	}

	// Which function serves which area, from CodeUri.
	fnOfArea := map[string]string{}
	fns := tpl.GetAllServerlessFunctionResources()
	for name, fn := range fns {
		if fn.CodeUri == nil || fn.CodeUri.String == nil {
			t.Errorf("%s: CodeUri must be a directory", name)
			continue
		}
		m := areaOfCodeUri.FindStringSubmatch(*fn.CodeUri.String)
		if m == nil {
			t.Errorf("%s: CodeUri %q is not functions/<area>/lambda", name, *fn.CodeUri.String)
			continue
		}
		if other, dup := fnOfArea[m[1]]; dup {
			t.Errorf("area %s is served by both %s and %s", m[1], other, name)
		}
		fnOfArea[m[1]] = name
	}
	for _, area := range routes.Areas() {
		if fnOfArea[area] == "" {
			t.Errorf("no function for area %q (want CodeUri: functions/%s/lambda)", area, area)
		}
	}

	// Every event: HttpApi on the one API, any method, path -> area.
	type route struct{ area, fn, event string }
	have := map[string]route{}
	for area, fnName := range fnOfArea {
		for evName, ev := range fns[fnName].Events {
			if ev.Type != "HttpApi" || ev.Properties == nil || ev.Properties.HttpApiEvent == nil {
				t.Errorf("%s.%s: want an HttpApi event, have %s", fnName, evName, ev.Type)
				continue
			}
			p := ev.Properties.HttpApiEvent
			if p.ApiId == nil || *p.ApiId != "ref:"+apiName {
				t.Errorf("%s.%s: ApiId must be !Ref %s", fnName, evName, apiName)
			}
			if p.Method == nil || !strings.EqualFold(*p.Method, "ANY") {
				t.Errorf("%s.%s: Method must be ANY", fnName, evName)
			}
			if p.PayloadFormatVersion != nil && *p.PayloadFormatVersion != "2.0" {
				t.Errorf("%s.%s: PayloadFormatVersion must be 2.0", fnName, evName)
			}
			if p.Path == nil {
				t.Errorf("%s.%s: no Path", fnName, evName)
				continue
			}
			if prev, dup := have[*p.Path]; dup {
				t.Errorf("path %s is routed twice (%s.%s and %s.%s)", *p.Path, prev.fn, prev.event, fnName, evName)
			}
			have[*p.Path] = route{area, fnName, evName}
		}
	}

	want := map[string]string{}
	for _, r := range routes.Table {
		want[r.Prefix] = r.Area
		want[r.Prefix+"/{proxy+}"] = r.Area
	}
	var missing []string
	for _, path := range sortedKeys(want) {
		area := want[path]
		got, ok := have[path]
		switch {
		case !ok:
			missing = append(missing, fmt.Sprintf("%s (%s): %s: {Type: HttpApi, Properties: {ApiId: !Ref %s, Method: ANY, Path: %q}}",
				fnOfArea[area], area, eventName(path), apiName, path))
		case got.area != area:
			t.Errorf("path %s goes to %s (%s), routes.Table says %s", path, got.fn, got.area, area)
		}
	}
	if len(missing) > 0 {
		t.Errorf("template.yaml lacks these events (function: event):\n  %s", strings.Join(missing, "\n  "))
	}
	for _, path := range sortedKeys(have) {
		if _, ok := want[path]; !ok {
			t.Errorf("%s.%s routes %s, which is not in routes.Table", have[path].fn, have[path].event, path)
		}
	}
}

func TestTemplateFunctionsBuildFromTheirArea(t *testing.T) {
	tpl := openTemplate(t)
	root := repoRoot(t)
	g, ok := tpl.Globals["Function"].(*global.Function)
	if !ok {
		t.Fatal("template has no Globals.Function")
	}
	for name, fn := range tpl.GetAllServerlessFunctionResources() {
		runtime, handler, arch := pick(fn.Runtime, g.Runtime), pick(fn.Handler, g.Handler), fn.Architectures
		if arch == nil && g.Architectures != nil {
			arch = *g.Architectures
		}
		if runtime != "provided.al2023" || handler != "bootstrap" || !slices.Equal(arch, []string{"arm64"}) {
			t.Errorf("%s: runtime %q handler %q architectures %v, want provided.al2023, bootstrap, [arm64]", name, runtime, handler, arch)
		}
		md := fn.AWSCloudFormationMetadata
		if md["BuildMethod"] != "go1.x" {
			t.Errorf("%s: Metadata.BuildMethod is %v, want go1.x", name, md["BuildMethod"])
		}
		if fn.CodeUri == nil || fn.CodeUri.String == nil {
			continue // reported by TestTemplateRoutesMatchTable
		}
		dir := filepath.Join(root, filepath.FromSlash(*fn.CodeUri.String))
		if !isMainPackage(t, dir) {
			t.Errorf("%s: CodeUri %s is not a main package with func main", name, *fn.CodeUri.String)
		}
	}
}

// isMainPackage says whether dir holds Go files of package main with a
// func main.
func isMainPackage(t *testing.T, dir string) bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	hasMain := false
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, e.Name()), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Errorf("%s: %v", e.Name(), err)
			return false
		}
		if f.Name.Name != "main" {
			return false
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == "main" {
				hasMain = true
			}
		}
	}
	return hasMain
}

func pick(own, global *string) string {
	if own != nil {
		return *own
	}
	if global != nil {
		return *global
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
