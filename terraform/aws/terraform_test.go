// Package terraform checks the Terraform module in this directory against
// the code it deploys: the routing table, the function list, the
// environment the functions read, the DynamoDB and S3 calls their code
// makes and the table layout of the DynamoDB store. No terraform binary is
// needed: the module is parsed and evaluated with HCL (see eval_test.go).
package terraform

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/platform/lambda"
	"github.com/lcgo/lcgo/shared/routes"
	"github.com/lcgo/lcgo/shared/store/dynamo"
)

// Resource names the checks rely on.
const (
	fnType     = "aws_lambda_function"
	fnName     = "area"
	tableType  = "aws_dynamodb_table"
	tableName  = "main"
	bucketType = "aws_s3_bucket"
	bucketName = "files"
)

// variableSets are the variable values every wiring check runs with: the
// defaults, and an operator's own secret, Redis, configuration file and
// extra settings.
func variableSets(t *testing.T) map[string]map[string]cty.Value {
	t.Helper()
	yaml := filepath.Join(t.TempDir(), "librechat.yaml")
	if err := os.WriteFile(yaml, []byte("version: 1.2.1\nfileStrategy: \"s3\" # uploads\ninterface:\n  presets: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]map[string]cty.Value{
		"defaults": {},
		"own secret": {
			"name_prefix":        cty.StringVal("chat-prod"),
			"secret_arn":         cty.StringVal("arn:aws:secretsmanager:eu-west-1:123456789012:secret:librechat-AbCdEf"),
			"secret_kms_key_arn": cty.StringVal("arn:aws:kms:eu-west-1:123456789012:key/0b7c9d6e-1111-2222-3333-444455556666"),
			"redis_uri":          cty.StringVal("rediss://default:pw@redis.example:6379/0"),
			"librechat_yaml":     cty.StringVal(yaml),
			"public_url":         cty.StringVal("https://chat.example.com"),
			"environment":        cty.MapVal(map[string]cty.Value{"OPENAI_MODELS": cty.StringVal("gpt-4o"), "STORE": cty.StringVal("sqlite")}),
			"zip_paths":          cty.MapVal(map[string]cty.Value{routes.Auth: cty.StringVal("/build/auth.zip")}),
			"log_retention_days": cty.NumberIntVal(14),
		},
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// module parses the module in the test's directory.
func module(t *testing.T) *tfModule {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return parseModule(t, dir)
}

// forEachSet runs check with the module evaluated for every variable set.
func forEachSet(t *testing.T, check func(t *testing.T, e *tfEval, vars map[string]cty.Value)) {
	t.Helper()
	m := module(t)
	for name, vars := range variableSets(t) {
		t.Run(name, func(t *testing.T) {
			check(t, evaluate(t, m, vars), vars)
		})
	}
}

// functions returns the Lambda function instances by area.
func functions(t *testing.T, e *tfEval) map[string]*instance {
	t.Helper()
	out := map[string]*instance{}
	for _, in := range e.all(fnType) {
		if in.name != fnName {
			t.Errorf("%s: every function should be an instance of %s.%s (for_each over the areas)", in, fnType, fnName)
			continue
		}
		out[in.keyString()] = in
	}
	return out
}

func TestFunctionPerArea(t *testing.T) {
	root := repoRoot(t)
	forEachSet(t, func(t *testing.T, e *tfEval, vars map[string]cty.Value) {
		fns := functions(t, e)
		for _, area := range routes.Areas() {
			if fns[area] == nil {
				t.Errorf("no function for area %s: add it to local.areas", area)
			}
		}
		for area := range fns {
			if !slices.Contains(routes.Areas(), area) {
				t.Errorf("function %s serves no area of routes.Table", area)
			}
		}
		overrides := asStringMap(vars["zip_paths"])
		for _, area := range sortedKeys(fns) {
			fn := fns[area]
			if got := fn.str(t, "runtime"); got != "provided.al2023" {
				t.Errorf("%s: runtime %q, want provided.al2023", fn, got)
			}
			if got := asStrings(fn.val(t, "architectures")); !slices.Equal(got, []string{"arm64"}) {
				t.Errorf("%s: architectures %v, want [arm64]", fn, got)
			}
			if got := fn.str(t, "handler"); got != "bootstrap" {
				t.Errorf("%s: handler %q, want bootstrap", fn, got)
			}
			// The zip is what `make lambda` (infra/lambda/build.sh) builds
			// from functions/<area>/lambda, unless the operator names one.
			zip := fn.str(t, "filename")
			want := filepath.Join(root, "dist", area+".zip")
			if o, ok := overrides[area]; ok {
				want = o
			}
			if filepath.Clean(zip) != want {
				t.Errorf("%s: filename %q, want %s", fn, zip, want)
			}
			if fn.str(t, "source_code_hash") == "" {
				t.Errorf("%s: no source_code_hash: a rebuilt zip would not be deployed", fn)
			}
			if _, err := os.Stat(filepath.Join(root, "functions", area, "lambda", "main.go")); err != nil {
				t.Errorf("%s: build.sh builds functions/%s/lambda, which has no main.go", fn, area)
			}
		}
	})
	build, err := os.ReadFile(filepath.Join(root, "infra", "lambda", "build.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(build), `"$dist/$area.zip"`) {
		t.Error(`infra/lambda/build.sh no longer writes "$dist/$area.zip": update the zip paths`)
	}
}

func TestRoutingTableCopy(t *testing.T) {
	e := evaluate(t, module(t), nil)
	got := asStringMap(e.locals["routes"])
	want := map[string]string{}
	for _, r := range routes.Table {
		want[r.Prefix] = r.Area
	}
	for _, p := range sortedKeys(want) {
		if got[p] != want[p] {
			t.Errorf("local.routes[%q] = %q, routes.Table says %q", p, got[p], want[p])
		}
	}
	for _, p := range sortedKeys(got) {
		if _, ok := want[p]; !ok {
			t.Errorf("local.routes has %q, which is not in routes.Table", p)
		}
	}
}

func TestRoutes(t *testing.T) {
	forEachSet(t, func(t *testing.T, e *tfEval, _ map[string]cty.Value) {
		apis := e.all("aws_apigatewayv2_api")
		if len(apis) != 1 {
			t.Fatalf("want one aws_apigatewayv2_api, have %d", len(apis))
		}
		api := apis[0]
		if got := api.str(t, "protocol_type"); got != "HTTP" {
			t.Errorf("%s: protocol_type %q, want HTTP", api, got)
		}
		apiID := ref(api.typ, api.name, api.key, "id")

		stages := e.all("aws_apigatewayv2_stage")
		if len(stages) != 1 || stages[0].str(t, "api_id") != apiID || stages[0].str(t, "name") != "$default" {
			t.Errorf("want one $default stage of %s", api)
		} else if auto, _ := asBool(stages[0].val(t, "auto_deploy")); !auto {
			t.Errorf("%s: auto_deploy must be true, or route changes are not deployed", stages[0])
		}

		// Integration of each area: its function, payload format 2.0.
		integrationOf := map[string]string{} // placeholder of the id -> area
		for _, in := range e.all("aws_apigatewayv2_integration") {
			area := ""
			uri := in.str(t, "integration_uri")
			for a := range functions(t, e) {
				if uri == ref(fnType, fnName, cty.StringVal(a), "invoke_arn") {
					area = a
				}
			}
			if area == "" {
				t.Errorf("%s: integration_uri %q is not the invoke_arn of an area's function", in, uri)
				continue
			}
			if in.str(t, "api_id") != apiID {
				t.Errorf("%s: api_id is not %s", in, apiID)
			}
			if got := in.str(t, "integration_type"); got != "AWS_PROXY" {
				t.Errorf("%s: integration_type %q, want AWS_PROXY", in, got)
			}
			if got := in.str(t, "payload_format_version"); got != "2.0" {
				t.Errorf("%s: payload_format_version %q, want 2.0 (the bootstraps read API Gateway v2 events)", in, got)
			}
			integrationOf[ref(in.typ, in.name, in.key, "id")] = area
		}

		want := map[string]string{}
		for _, r := range routes.Table {
			want["ANY "+r.Prefix] = r.Area
			want["ANY "+r.Prefix+"/{proxy+}"] = r.Area
		}
		have := map[string]string{}
		for _, in := range e.all("aws_apigatewayv2_route") {
			key := in.str(t, "route_key")
			if in.str(t, "api_id") != apiID {
				t.Errorf("%s: api_id is not %s", in, apiID)
			}
			target := in.str(t, "target")
			id, ok := strings.CutPrefix(target, "integrations/")
			area := integrationOf[id]
			if !ok || area == "" {
				t.Errorf("%s (%s): target %q is not integrations/<id of an area's integration>", in, key, target)
				continue
			}
			if _, dup := have[key]; dup {
				t.Errorf("route %q is defined twice", key)
			}
			have[key] = area
		}
		for _, key := range sortedKeys(want) {
			switch got, ok := have[key]; {
			case !ok:
				t.Errorf("no route %q (to %s)", key, want[key])
			case got != want[key]:
				t.Errorf("route %q goes to %s, routes.Table says %s", key, got, want[key])
			}
		}
		for _, key := range sortedKeys(have) {
			if _, ok := want[key]; !ok {
				t.Errorf("route %q is not in routes.Table", key)
			}
		}

		// API Gateway may invoke every function, from this API only.
		invokable := map[string]bool{}
		for _, in := range e.all("aws_lambda_permission") {
			if in.str(t, "principal") != "apigateway.amazonaws.com" {
				continue
			}
			if in.str(t, "action") != "lambda:InvokeFunction" {
				t.Errorf("%s: action %q", in, in.str(t, "action"))
			}
			if src := in.str(t, "source_arn"); !strings.HasPrefix(src, ref(api.typ, api.name, api.key, "execution_arn")+"/") {
				t.Errorf("%s: source_arn %q does not limit the permission to the API", in, src)
			}
			invokable[in.str(t, "function_name")] = true
		}
		for _, area := range sortedKeys(functions(t, e)) {
			if !invokable[ref(fnType, fnName, cty.StringVal(area), "function_name")] {
				t.Errorf("API Gateway has no permission to invoke the %s function", area)
			}
		}
	})
}

func TestChatStreamsThroughFunctionURL(t *testing.T) {
	forEachSet(t, func(t *testing.T, e *tfEval, _ map[string]cty.Value) {
		urls := e.all("aws_lambda_function_url")
		if len(urls) != 1 {
			t.Fatalf("want one aws_lambda_function_url (the chat stream), have %d", len(urls))
		}
		u := urls[0]
		chatFn := ref(fnType, fnName, cty.StringVal(routes.Chat), "function_name")
		if got := u.str(t, "function_name"); got != chatFn {
			t.Errorf("%s: function_name %q, want the chat function %s", u, got, chatFn)
		}
		if got := u.str(t, "invoke_mode"); got != "RESPONSE_STREAM" {
			t.Errorf("%s: invoke_mode %q, want RESPONSE_STREAM", u, got)
		}
		if got := u.str(t, "authorization_type"); got != "NONE" {
			t.Errorf("%s: authorization_type %q, want NONE (the area checks the bearer token)", u, got)
		}
		// A public Function URL needs both permissions.
		var urlPerm, invokePerm bool
		for _, in := range e.all("aws_lambda_permission") {
			if in.str(t, "function_name") != chatFn || in.str(t, "principal") != "*" {
				continue
			}
			switch in.str(t, "action") {
			case "lambda:InvokeFunctionUrl":
				urlPerm = in.str(t, "function_url_auth_type") == "NONE"
			case "lambda:InvokeFunction":
				invokePerm, _ = asBool(in.val(t, "invoked_via_function_url"))
			}
		}
		if !urlPerm {
			t.Error("no lambda:InvokeFunctionUrl permission for principal * with function_url_auth_type NONE")
		}
		if !invokePerm {
			t.Error("no lambda:InvokeFunction permission for principal * with invoked_via_function_url = true")
		}
		for _, in := range e.all("aws_lambda_permission") {
			if in.str(t, "principal") == "*" && in.str(t, "function_name") != chatFn {
				t.Errorf("%s: a public permission on a function without a Function URL", in)
			}
		}

		for area, fn := range functions(t, e) {
			env := environment(t, fn)
			mode, err := lambda.ParseMode(env[lambda.ModeEnv])
			if err != nil {
				t.Errorf("%s: %v", fn, err)
				continue
			}
			switch {
			case area == routes.Chat && mode != lambda.ModeAuto:
				t.Errorf("%s: %s=%q; behind both the HTTP API and the Function URL it must be %s", fn, lambda.ModeEnv, env[lambda.ModeEnv], lambda.ModeAuto)
			case area != routes.Chat && mode != lambda.ModeAPIGateway:
				t.Errorf("%s: %s=%q; it is only behind the HTTP API", fn, lambda.ModeEnv, env[lambda.ModeEnv])
			}
			tv := fn.val(t, "timeout")
			if tv == cty.NilVal || tv.IsNull() || tv.Type() != cty.Number {
				t.Errorf("%s: no timeout", fn)
				continue
			}
			timeout, _ := tv.AsBigFloat().Int64()
			if area == routes.Chat && timeout <= 30 {
				t.Errorf("%s: timeout %d: a reply is generated inside the stream request", fn, timeout)
			}
			if area != routes.Chat && timeout > 30 {
				t.Errorf("%s: timeout %d exceeds API Gateway's 30 seconds", fn, timeout)
			}
		}

		out := e.m.outputs["chat_stream_url"]
		if out == nil {
			t.Fatal("no output chat_stream_url")
		}
		if got := asString(value(t, e.baseCtx, out.Body, "value")); got != ref(u.typ, u.name, u.key, "function_url") {
			t.Errorf("output chat_stream_url = %q, want the Function URL", got)
		}
	})
}

// environment is a function's environment.variables.
func environment(t *testing.T, fn *instance) map[string]string {
	t.Helper()
	envs := nested(fn.block.Body, "environment")
	if len(envs) != 1 {
		t.Errorf("%s: want one environment block, have %d", fn, len(envs))
		return nil
	}
	return asStringMap(value(t, fn.ctx, envs[0].Body, "variables"))
}

// reservedEnv are the variables Lambda sets and refuses in a function's
// configuration.
var reservedEnv = regexp.MustCompile(`^(AWS_REGION|AWS_DEFAULT_REGION|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|AWS_LAMBDA_.*|AWS_EXECUTION_ENV|AWS_XRAY_.*|LAMBDA_TASK_ROOT|LAMBDA_RUNTIME_DIR|_HANDLER|_X_AMZN_TRACE_ID)$`)

// secretEnv belong in the secret, never in a function's configuration.
var secretEnv = []string{"JWT_SECRET", "JWT_REFRESH_SECRET", "CREDS_KEY"}

// envNamesRead are the environment variables the functions read: every
// name shared/config.Load passes to its reader, and the Lambda mode.
func envNamesRead(t *testing.T, root string) map[string]bool {
	t.Helper()
	path := filepath.Join(root, "shared", "config", "load.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{lambda.ModeEnv: true}
	ast.Inspect(f, func(n ast.Node) bool {
		c, ok := n.(*ast.CallExpr)
		if !ok || len(c.Args) == 0 {
			return true
		}
		sel, ok := c.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); !ok || id.Name != "e" {
			return true
		}
		if lit, ok := c.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if s, err := strconv.Unquote(lit.Value); err == nil {
				names[s] = true
			}
		}
		return true
	})
	for _, n := range []string{"STORE", "DYNAMODB_TABLE_PREFIX", "SECRETS_ARN", "DATA_DIR", "CONFIG_PATH", "AWS_BUCKET_NAME", "REDIS_URI"} {
		if !names[n] {
			t.Errorf("shared/config/load.go no longer reads %s: update the module and this test", n)
		}
	}
	return names
}

func TestEnvironment(t *testing.T) {
	root := repoRoot(t)
	read := envNamesRead(t, root)
	needs := areaNeeds(t, root)
	forEachSet(t, func(t *testing.T, e *tfEval, vars map[string]cty.Value) {
		table := single(t, e, tableType, tableName)
		tableName := table.str(t, "name")
		secret := asString(e.locals["secret_arn"])
		if arn := asString(vars["secret_arn"]); arn != "" && secret != arn {
			t.Errorf("local.secret_arn = %q, want var.secret_arn %q", secret, arn)
		}
		if arn := asString(vars["secret_arn"]); arn == "" && secret != "<aws_secretsmanager_secret.app[0].arn>" {
			t.Errorf("local.secret_arn = %q, want the secret the module creates", secret)
		}
		layerArn := ""
		for _, l := range e.all("aws_lambda_layer_version") {
			layerArn = ref(l.typ, l.name, l.key, "arn")
		}
		yaml := configFileContent(t, e)
		yamlPath := filepath.Join(t.TempDir(), "librechat.yaml")
		if err := os.WriteFile(yamlPath, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		redis := asString(vars["redis_uri"])
		fns := functions(t, e)
		for _, area := range sortedKeys(fns) {
			fn := fns[area]
			env := environment(t, fn)
			for _, k := range sortedKeys(env) {
				if reservedEnv.MatchString(k) {
					t.Errorf("%s: sets %s, which Lambda reserves", fn, k)
				}
				if slices.Contains(secretEnv, k) {
					t.Errorf("%s: sets %s in the configuration; it belongs in the secret", fn, k)
				}
				if !read[k] && asStringMap(vars["environment"])[k] == "" {
					t.Errorf("%s: sets %s, which the code does not read", fn, k)
				}
			}
			if env["CONFIG_PATH"] != "/opt/librechat.yaml" {
				t.Errorf("%s: CONFIG_PATH = %q, want /opt/librechat.yaml (the config layer)", fn, env["CONFIG_PATH"])
			}
			if got := asStrings(fn.val(t, "layers")); layerArn == "" || !slices.Equal(got, []string{layerArn}) {
				t.Errorf("%s: layers %v, want the librechat.yaml layer %s", fn, got, layerArn)
			}
			if got := env["REDIS_URI"]; got != redis {
				t.Errorf("%s: REDIS_URI = %q, want %q", fn, got, redis)
			}

			// What the code makes of it.
			env["CONFIG_PATH"] = yamlPath
			cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if err != nil {
				t.Errorf("%s: the configuration does not load: %v", fn, err)
				continue
			}
			if cfg.Store != "dynamodb" {
				t.Errorf("%s: STORE is %q, want dynamodb", fn, cfg.Store)
			}
			opts := dynamo.Options{TablePrefix: cfg.DynamoDB.TablePrefix, NoTransactions: cfg.DynamoDB.NoTransactions}
			if opts.TableName() != tableName {
				t.Errorf("%s: the store would open table %q (DYNAMODB_TABLE_PREFIX %q), the module creates %q", fn, opts.TableName(), cfg.DynamoDB.TablePrefix, tableName)
			}
			if opts.NoTransactions {
				t.Errorf("%s: DynamoDB has transactions; DYNAMODB_NO_TRANSACTIONS is for emulators", fn)
			}
			if cfg.DynamoDB.Endpoint != "" {
				t.Errorf("%s: DYNAMODB_ENDPOINT set to %q", fn, cfg.DynamoDB.Endpoint)
			}
			if cfg.SecretsARN != secret {
				t.Errorf("%s: SECRETS_ARN = %q, want %q", fn, cfg.SecretsARN, secret)
			}
			if cfg.DataDir != "/tmp" && !strings.HasPrefix(cfg.DataDir, "/tmp/") {
				t.Errorf("%s: DATA_DIR = %q: Lambda can only write under /tmp", fn, cfg.DataDir)
			}
			if cfg.File.FileStrategy != "s3" {
				t.Errorf("%s: fileStrategy %q: uploads must go to S3 on Lambda", fn, cfg.File.FileStrategy)
			}
			if len(needs[area].with("s3")) > 0 {
				if want := ref(bucketType, bucketName, cty.NilVal, "bucket"); cfg.S3.Bucket != want {
					t.Errorf("%s: AWS_BUCKET_NAME = %q, want %s", fn, cfg.S3.Bucket, want)
				}
			} else if cfg.S3.Bucket != "" {
				t.Errorf("%s: AWS_BUCKET_NAME set, but the area's code never opens the S3 store", fn)
			}
			if url := asString(vars["public_url"]); url != "" && (cfg.DomainClient != url || cfg.DomainServer != url) {
				t.Errorf("%s: DOMAIN_CLIENT %q, DOMAIN_SERVER %q, want %q", fn, cfg.DomainClient, cfg.DomainServer, url)
			}
		}

		// The secret the module creates holds the three secrets the
		// functions refuse to start without.
		if asString(vars["secret_arn"]) == "" {
			v := single(t, e, "aws_secretsmanager_secret_version", "app")
			var doc map[string]any
			if err := json.Unmarshal([]byte(v.str(t, "secret_string")), &doc); err != nil {
				t.Fatalf("%s: secret_string: %v", v, err)
			}
			for _, k := range secretEnv {
				if doc[k] == nil || doc[k] == "" {
					t.Errorf("%s: the secret has no %s", v, k)
				}
			}
		} else if n := len(e.all("aws_secretsmanager_secret")); n != 0 {
			t.Errorf("with secret_arn set the module still creates %d secrets", n)
		}
	})
}

// configFileContent is the librechat.yaml the config layer holds.
func configFileContent(t *testing.T, e *tfEval) string {
	t.Helper()
	a := single(t, e, "data.archive_file", "config")
	srcs := nested(a.block.Body, "source")
	if len(srcs) != 1 {
		t.Fatalf("%s: want one source block", a)
	}
	if got := asString(value(t, a.ctx, srcs[0].Body, "filename")); got != "librechat.yaml" {
		t.Errorf("%s: source filename %q, want librechat.yaml", a, got)
	}
	layer := single(t, e, "aws_lambda_layer_version", "config")
	if layer.str(t, "filename") != ref(a.typ, a.name, a.key, "output_path") {
		t.Errorf("%s: filename is not the archive's output_path", layer)
	}
	if got := asStrings(layer.val(t, "compatible_architectures")); !slices.Equal(got, []string{"arm64"}) {
		t.Errorf("%s: compatible_architectures %v", layer, got)
	}
	return asString(value(t, a.ctx, srcs[0].Body, "content"))
}

// single returns the only instance of typ.name.
func single(t *testing.T, e *tfEval, typ, name string) *instance {
	t.Helper()
	insts := e.instances(typ, name)
	if len(insts) != 1 {
		t.Fatalf("want one instance of %s.%s, have %d", typ, name, len(insts))
	}
	return insts[0]
}

var (
	needsOnce sync.Once
	needsMap  map[string]storeAccess
	unimpl    map[string][]string
)

// areaNeeds derives once what every area's code needs on AWS.
func areaNeeds(t *testing.T, root string) map[string]storeAccess {
	t.Helper()
	needsOnce.Do(func() {
		store := dynamoStore(t, root)
		needsMap, unimpl = map[string]storeAccess{}, map[string][]string{}
		for _, area := range routes.Areas() {
			needsMap[area], unimpl[area] = awsAccess(analyzeArea(t, root, area), store)
		}
	})
	return needsMap
}

// statement is one statement of an IAM policy document.
type statement struct {
	Sid       string
	Effect    string
	Action    []string
	Resource  []string
	Principal any
	Condition map[string]map[string]any
}

func (s *statement) UnmarshalJSON(b []byte) error {
	var raw struct {
		Sid       string
		Effect    string
		Action    any
		Resource  any
		Principal any
		Condition map[string]map[string]any
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	s.Sid, s.Effect, s.Principal, s.Condition = raw.Sid, raw.Effect, raw.Principal, raw.Condition
	s.Action, s.Resource = stringOrList(raw.Action), stringOrList(raw.Resource)
	return nil
}

func stringOrList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return nil
}

func policyStatements(t *testing.T, where, doc string) []statement {
	t.Helper()
	var p struct {
		Version   string
		Statement []statement
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Errorf("%s: policy is not JSON: %v", where, err)
		return nil
	}
	if p.Version != "2012-10-17" {
		t.Errorf("%s: policy Version %q", where, p.Version)
	}
	return p.Statement
}

func TestLeastPrivilege(t *testing.T) {
	root := repoRoot(t)
	needs := areaNeeds(t, root)
	for _, area := range routes.Areas() {
		if len(unimpl[area]) > 0 {
			t.Logf("%s calls Store methods the DynamoDB store does not implement: %s", area, strings.Join(unimpl[area], ", "))
		}
	}
	schema := dynamo.TableSchema(dynamo.Options{})

	forEachSet(t, func(t *testing.T, e *tfEval, vars map[string]cty.Value) {
		if len(e.m.resources["aws_iam_role_policy_attachment"]) > 0 || len(e.m.resources["aws_iam_policy"]) > 0 {
			t.Error("managed policies are not checked here: keep every grant in aws_iam_role_policy")
		}
		tableArn := ref(tableType, tableName, cty.NilVal, "arn")
		bucketArn := ref(bucketType, bucketName, cty.NilVal, "arn")
		secret := asString(e.locals["secret_arn"])
		kms := asString(vars["secret_kms_key_arn"])
		var indexArns []string
		for _, g := range schema.GlobalSecondaryIndexes {
			indexArns = append(indexArns, tableArn+"/index/"+*g.IndexName)
		}

		roles := map[string]*instance{}
		for _, r := range e.all("aws_iam_role") {
			roles[ref(r.typ, r.name, r.key, "arn")] = r
		}
		fns := functions(t, e)
		for _, area := range sortedKeys(fns) {
			fn, need := fns[area], needs[area]
			role := roles[fn.str(t, "role")]
			if role == nil {
				t.Errorf("%s: role %q is not a role of the module", fn, fn.str(t, "role"))
				continue
			}
			for other, ofn := range fns {
				if other != area && ofn.str(t, "role") == fn.str(t, "role") {
					t.Errorf("%s and %s share a role", fn, ofn)
				}
			}
			for _, s := range policyStatements(t, role.String()+".assume_role_policy", role.str(t, "assume_role_policy")) {
				p, _ := s.Principal.(map[string]any)
				if s.Effect != "Allow" || !slices.Equal(s.Action, []string{"sts:AssumeRole"}) || len(p) != 1 || p["Service"] != "lambda.amazonaws.com" {
					t.Errorf("%s: the role must be assumable by lambda.amazonaws.com only, not %+v", role, s)
				}
			}

			// Every grant of the role: action -> resources.
			granted := map[string][]string{}
			conditions := map[string]map[string]map[string]any{}
			var policies int
			for _, p := range e.all("aws_iam_role_policy") {
				r := p.str(t, "role")
				if r != ref(role.typ, role.name, role.key, "id") && r != ref(role.typ, role.name, role.key, "name") {
					continue
				}
				policies++
				for _, s := range policyStatements(t, p.String(), p.str(t, "policy")) {
					if s.Effect != "Allow" {
						t.Errorf("%s: statement %q: Effect %q", p, s.Sid, s.Effect)
					}
					for _, a := range s.Action {
						if strings.Contains(a, "*") {
							t.Errorf("%s: statement %q grants %s", p, s.Sid, a)
						}
						for _, r := range s.Resource {
							if r == "*" || strings.HasSuffix(r, ":*:*") {
								t.Errorf("%s: statement %q grants %s on %q", p, s.Sid, a, r)
							}
						}
						granted[a] = append(granted[a], s.Resource...)
						if s.Condition != nil {
							conditions[a] = s.Condition
						}
					}
				}
			}
			if policies == 0 {
				t.Errorf("%s: no policy for role %s", fn, role)
				continue
			}

			// What the area's code needs, on the module's resources only.
			logs := ref("aws_cloudwatch_log_group", "area", cty.StringVal(area), "arn") + ":*"
			want := map[string][]string{
				"logs:CreateLogStream": {logs},
				"logs:PutLogEvents":    {logs},
			}
			for _, a := range need.with("secretsmanager") {
				want[a] = []string{secret}
			}
			if want["secretsmanager:GetSecretValue"] == nil {
				t.Errorf("%s: the code no longer reads the secret (SECRETS_ARN)", fn)
			}
			if kms != "" {
				want["kms:Decrypt"] = []string{kms}
				if c := conditions["kms:Decrypt"]["StringEquals"]["kms:ViaService"]; !strings.HasPrefix(fmt.Sprint(c), "secretsmanager.") {
					t.Errorf("%s: kms:Decrypt must be limited to Secrets Manager (kms:ViaService), have %v", fn, c)
				}
			}
			for _, a := range need.with("dynamodb") {
				want[a] = []string{tableArn}
			}
			if need.Index {
				want["dynamodb:Query"] = append(want["dynamodb:Query"], indexArns...)
			}
			for _, a := range tableAdminCalls {
				if granted[a] != nil {
					t.Errorf("%s: grants %s: the table comes from Terraform", fn, a)
				}
			}
			for a, res := range granted {
				if strings.HasPrefix(a, "s3:") {
					continue
				}
				if _, ok := want[a]; !ok {
					t.Errorf("%s: grants %s on %v, which its code does not need", fn, a, res)
				}
			}
			wrong := false
			for _, a := range sortedKeys(want) {
				got := slices.Sorted(slices.Values(granted[a]))
				exp := slices.Sorted(slices.Values(want[a]))
				if !slices.Equal(got, exp) {
					t.Errorf("%s: %s granted on %v, needs exactly %v", fn, a, got, exp)
					wrong = wrong || strings.HasPrefix(a, "dynamodb:")
				}
			}
			if wrong {
				var q []string
				for _, a := range need.with("dynamodb") {
					q = append(q, strconv.Quote(strings.TrimPrefix(a, "dynamodb:")))
				}
				t.Logf("%s: in local.areas.%s: dynamodb = [%s], dynamodb_indexes = %v", fn, area, strings.Join(q, ", "), need.Index)
			}

			// S3: only the areas whose code opens the S3 store, on the
			// bucket, and no request their code cannot make. The files
			// area owns uploads and needs every one; the others (chat
			// reads attachments) at least GetObject.
			s3Need := need.with("s3")
			var objects []string
			for a, res := range granted {
				if !strings.HasPrefix(a, "s3:") {
					continue
				}
				switch {
				case len(s3Need) == 0:
					t.Errorf("%s: grants %s, but the area's code never opens the S3 store", fn, a)
				case a == "s3:ListBucket":
					// Lets a missing key answer 404 instead of 403.
					if !slices.Equal(res, []string{bucketArn}) {
						t.Errorf("%s: s3:ListBucket on %v, want only %s", fn, res, bucketArn)
					}
				case slices.Contains(s3Need, a):
					objects = append(objects, a)
					if !slices.Equal(res, []string{bucketArn + "/*"}) {
						t.Errorf("%s: %s on %v, want only %s/*", fn, a, res, bucketArn)
					}
				default:
					t.Errorf("%s: grants %s, which its code never requests (it may request %v)", fn, a, s3Need)
				}
			}
			slices.Sort(objects)
			if len(s3Need) > 0 && !slices.Contains(objects, "s3:GetObject") {
				t.Errorf("%s: the area's code opens the S3 store but may not s3:GetObject", fn)
			}
			if area == routes.Files && !slices.Equal(objects, s3Need) {
				t.Errorf("%s: object actions %v, the files area needs %v", fn, objects, s3Need)
			}
		}
	})
}

func TestTableMatchesStore(t *testing.T) {
	schema := dynamo.TableSchema(dynamo.Options{})
	forEachSet(t, func(t *testing.T, e *tfEval, _ map[string]cty.Value) {
		if n := len(e.all(tableType)); n != 1 {
			t.Errorf("want one DynamoDB table, have %d", n)
		}
		tbl := single(t, e, tableType, tableName)
		if !strings.HasSuffix(tbl.str(t, "name"), dynamo.TableBaseName) {
			t.Errorf("%s: name %q does not end in %q", tbl, tbl.str(t, "name"), dynamo.TableBaseName)
		}
		if got := tbl.str(t, "billing_mode"); got != string(schema.BillingMode) {
			t.Errorf("%s: billing_mode %q, want %s", tbl, got, schema.BillingMode)
		}
		var hash, rng string
		for _, k := range schema.KeySchema {
			if k.KeyType == "HASH" {
				hash = *k.AttributeName
			} else {
				rng = *k.AttributeName
			}
		}
		if tbl.str(t, "hash_key") != hash || tbl.str(t, "range_key") != rng {
			t.Errorf("%s: keys (%q, %q), want (%s, %s)", tbl, tbl.str(t, "hash_key"), tbl.str(t, "range_key"), hash, rng)
		}
		want := map[string]string{}
		for _, a := range schema.AttributeDefinitions {
			want[*a.AttributeName] = string(a.AttributeType)
		}
		have := map[string]string{}
		for _, b := range nested(tbl.block.Body, "attribute") {
			have[asString(value(t, tbl.ctx, b.Body, "name"))] = asString(value(t, tbl.ctx, b.Body, "type"))
		}
		if fmt.Sprint(have) != fmt.Sprint(want) {
			t.Errorf("%s: attributes %v, want %v", tbl, have, want)
		}
		wantIdx := map[string]string{}
		for _, g := range schema.GlobalSecondaryIndexes {
			var h, r string
			for _, k := range g.KeySchema {
				if k.KeyType == "HASH" {
					h = *k.AttributeName
				} else {
					r = *k.AttributeName
				}
			}
			wantIdx[*g.IndexName] = h + "," + r + "," + string(g.Projection.ProjectionType)
		}
		haveIdx := map[string]string{}
		for _, b := range nested(tbl.block.Body, "global_secondary_index") {
			v := func(n string) string { return asString(value(t, tbl.ctx, b.Body, n)) }
			haveIdx[v("name")] = v("hash_key") + "," + v("range_key") + "," + v("projection_type")
		}
		if fmt.Sprint(haveIdx) != fmt.Sprint(wantIdx) {
			t.Errorf("%s: indexes %v, want %v", tbl, haveIdx, wantIdx)
		}
		ttl := nested(tbl.block.Body, "ttl")
		if len(ttl) != 1 {
			t.Fatalf("%s: no ttl block", tbl)
		}
		enabled, _ := asBool(value(t, tbl.ctx, ttl[0].Body, "enabled"))
		if got := asString(value(t, tbl.ctx, ttl[0].Body, "attribute_name")); got != dynamo.AttrTTL || !enabled {
			t.Errorf("%s: ttl on %q enabled=%v, want %q enabled", tbl, got, enabled, dynamo.AttrTTL)
		}
		if got := asStrings(e.locals["indexes"]); fmt.Sprint(got) != fmt.Sprint(sortedKeys(wantIdx)) {
			t.Errorf("local.indexes = %v, want %v", got, sortedKeys(wantIdx))
		}
	})
}

func TestBucket(t *testing.T) {
	forEachSet(t, func(t *testing.T, e *tfEval, _ map[string]cty.Value) {
		if n := len(e.all(bucketType)); n != 1 {
			t.Errorf("want one bucket, have %d", n)
		}
		bucketID := ref(bucketType, bucketName, cty.NilVal, "id")
		pab := e.all("aws_s3_bucket_public_access_block")
		if len(pab) != 1 || pab[0].str(t, "bucket") != bucketID {
			t.Fatalf("want one public access block on %s", bucketID)
		}
		for _, a := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
			if on, _ := asBool(pab[0].val(t, a)); !on {
				t.Errorf("%s: %s must be true", pab[0], a)
			}
		}
		sse := e.all("aws_s3_bucket_server_side_encryption_configuration")
		if len(sse) != 1 || sse[0].str(t, "bucket") != bucketID {
			t.Fatalf("want one default encryption configuration on %s", bucketID)
		}
		// The S3 store asks for AES256 on every put and is granted no KMS
		// key: the bucket default must agree.
		var algos []string
		for _, r := range nested(sse[0].block.Body, "rule") {
			for _, d := range nested(r.Body, "apply_server_side_encryption_by_default") {
				algos = append(algos, asString(value(t, sse[0].ctx, d.Body, "sse_algorithm")))
			}
		}
		if !slices.Equal(algos, []string{"AES256"}) {
			t.Errorf("%s: sse_algorithm %v, want [AES256]", sse[0], algos)
		}
		pol := e.all("aws_s3_bucket_policy")
		if len(pol) != 1 {
			t.Fatalf("want one bucket policy (TLS only)")
		}
		for _, s := range policyStatements(t, pol[0].String(), pol[0].str(t, "policy")) {
			if s.Effect != "Deny" {
				t.Errorf("%s: statement %q allows; access is granted through the functions' roles", pol[0], s.Sid)
			}
		}
	})
}

func TestLogRetention(t *testing.T) {
	forEachSet(t, func(t *testing.T, e *tfEval, vars map[string]cty.Value) {
		days := e.vars["log_retention_days"]
		groups := map[string]*instance{}
		for _, g := range e.all("aws_cloudwatch_log_group") {
			groups[g.str(t, "name")] = g
			if got := g.val(t, "retention_in_days"); got == cty.NilVal || !got.Equals(days).True() {
				t.Errorf("%s: retention_in_days %s, want var.log_retention_days (%s)", g, describe(got), describe(days))
			}
		}
		for area, fn := range functions(t, e) {
			name := "/aws/lambda/" + fn.str(t, "function_name")
			g := groups[name]
			if g == nil {
				t.Errorf("%s: no log group %s: Lambda would create one that never expires", fn, name)
				continue
			}
			if g.keyString() != area {
				t.Errorf("%s: log group %s is %s", fn, name, g)
			}
		}
	})
}

func TestOutputs(t *testing.T) {
	e := evaluate(t, module(t), nil)
	want := map[string]string{
		"api_url":         "<aws_apigatewayv2_api.http.api_endpoint>",
		"chat_stream_url": "<aws_lambda_function_url.stream.function_url>",
		"table_name":      ref(tableType, tableName, cty.NilVal, "name"),
		"bucket_name":     ref(bucketType, bucketName, cty.NilVal, "bucket"),
	}
	for _, name := range sortedKeys(want) {
		o := e.m.outputs[name]
		if o == nil {
			t.Errorf("no output %s", name)
			continue
		}
		if got := asString(value(t, e.baseCtx, o.Body, "value")); got != want[name] {
			t.Errorf("output %s = %q, want %q", name, got, want[name])
		}
	}
	for name, o := range e.m.outputs {
		if asString(value(t, e.baseCtx, o.Body, "description")) == "" {
			t.Errorf("output %s has no description", name)
		}
	}
}

// TestReferences checks that every var., local. and resource reference
// names something declared, that every variable is used and documented,
// and that the defaults pass the validations.
func TestReferences(t *testing.T) {
	m := module(t)
	used := map[string]bool{}
	check := func(where string, tr hcl.Traversal) {
		root := tr.RootName()
		attr := func(i int) string {
			if len(tr) > i {
				if a, ok := tr[i].(hcl.TraverseAttr); ok {
					return a.Name
				}
			}
			return ""
		}
		switch root {
		case "var":
			used[attr(1)] = true
			if m.variables[attr(1)] == nil {
				t.Errorf("%s: var.%s is not declared", where, attr(1))
			}
		case "local":
			if m.locals[attr(1)] == nil {
				t.Errorf("%s: local.%s is not declared", where, attr(1))
			}
		case "data":
			if m.data[attr(1)][attr(2)] == nil {
				t.Errorf("%s: data.%s.%s is not declared", where, attr(1), attr(2))
			}
		case "each", "count", "path", "terraform", "self":
		default:
			if m.resources[root][attr(1)] == nil {
				t.Errorf("%s: %s.%s is not declared", where, root, attr(1))
			}
		}
	}
	types := map[*hclsyntax.Attribute]bool{}
	for _, b := range m.variables {
		types[b.Body.Attributes["type"]] = true
	}
	for file, body := range m.bodies {
		_ = hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
			if a, ok := n.(*hclsyntax.Attribute); ok && !types[a] {
				for _, tr := range a.Expr.Variables() {
					check(fmt.Sprintf("%s:%d", file, a.SrcRange.Start.Line), tr)
				}
			}
			return nil
		})
	}
	for name, b := range m.variables {
		if !used[name] {
			t.Errorf("variable %s is never used", name)
		}
		for _, a := range []string{"description", "type"} {
			if b.Body.Attributes[a] == nil {
				t.Errorf("variable %s has no %s", name, a)
			}
		}
	}

	// Validations and preconditions hold for every variable set, and the
	// configuration precondition refuses a librechat.yaml without S3.
	noS3 := filepath.Join(t.TempDir(), "librechat.yaml")
	if err := os.WriteFile(noS3, []byte("version: 1.2.1\nfileStrategy: local\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sets := variableSets(t)
	sets["no s3"] = map[string]cty.Value{"librechat_yaml": cty.StringVal(noS3)}
	for name, vars := range sets {
		e := evaluate(t, m, vars)
		failed := conditions(t, e)
		if name == "no s3" {
			if !slices.ContainsFunc(failed, func(s string) bool { return strings.Contains(s, "fileStrategy") }) {
				t.Errorf("%s: a librechat.yaml with fileStrategy: local is accepted", name)
			}
			continue
		}
		for _, f := range failed {
			t.Errorf("%s: %s", name, f)
		}
	}
}

// conditions evaluates every variable validation and resource
// precondition and returns the error messages of those that fail.
func conditions(t *testing.T, e *tfEval) []string {
	t.Helper()
	var failed []string
	eval := func(ctx *hcl.EvalContext, b *hclsyntax.Block) {
		ok := value(t, ctx, b.Body, "condition")
		if pass, known := asBool(ok); known && !pass {
			failed = append(failed, asString(value(t, ctx, b.Body, "error_message")))
		}
	}
	for _, v := range e.m.variables {
		for _, b := range nested(v.Body, "validation") {
			eval(e.baseCtx, b)
		}
	}
	for _, insts := range e.insts {
		for _, in := range insts {
			for _, lc := range nested(in.block.Body, "lifecycle") {
				for _, b := range nested(lc.Body, "precondition") {
					eval(in.ctx, b)
				}
			}
		}
	}
	return failed
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestReadmeVariables checks the variables table of terraform/README.md
// against the module: every variable once, with its default as written.
func TestReadmeVariables(t *testing.T) {
	m := module(t)
	src, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(src), "\n## Variables\n")
	if !ok {
		t.Fatal("terraform/README.md has no Variables section")
	}
	table, _, _ = strings.Cut(table, "\n## ")
	row := regexp.MustCompile("^\\| `([a-z_]+)` \\| `([^`]*)`")
	seen := map[string]bool{}
	for _, l := range strings.Split(table, "\n") {
		r := row.FindStringSubmatch(l)
		if r == nil {
			continue
		}
		name, def := r[1], r[2]
		if seen[name] {
			t.Errorf("README lists %s twice", name)
		}
		seen[name] = true
		v := m.variables[name]
		if v == nil {
			t.Errorf("README lists %s, which the module does not declare", name)
			continue
		}
		if a := v.Body.Attributes["default"]; a != nil {
			rng := a.Expr.Range()
			written := string(m.files[rng.Filename][rng.Start.Byte:rng.End.Byte])
			if written != def {
				t.Errorf("README gives %s the default %s, the module %s", name, def, written)
			}
		}
	}
	for name := range m.variables {
		if !seen[name] {
			t.Errorf("README does not list variable %s", name)
		}
	}
}
