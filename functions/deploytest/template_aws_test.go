package deploytest

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lcgo/lcgo/shared/platform/lambda"
	"github.com/lcgo/lcgo/shared/routes"
	"github.com/lcgo/lcgo/shared/store/dynamo"
)

// ---- What each function's environment must hold ----

// envEveryFunction is set on every function, and why. Every area's
// bootstrap loads the whole configuration (shared/setup → config.Load).
var envEveryFunction = map[string]string{
	"STORE":                 "the data lives in DynamoDB (the default, SQLite, would be per instance)",
	"DYNAMODB_TABLE_PREFIX": "prefix + dynamo.TableBaseName names the stack's table",
	"SECRETS_ARN":           "JWT_SECRET, JWT_REFRESH_SECRET, CREDS_KEY and provider keys come from this secret",
	"REDIS_URI":             "chat jobs and rate limits in Redis (empty: in the table, or the secret's REDIS_URI)",
	"DATA_DIR":              "uploads without fileStrategy s3 go under it, and its default ./data is not writable on Lambda",
	"APP_TITLE":             "template parameter",
	"ALLOW_REGISTRATION":    "template parameter",
	"DOMAIN_CLIENT":         "links in mails point to the site (PublicUrl)",
	"DOMAIN_SERVER":         "serverDomain shown to the client (PublicUrl)",
	"CONFIG_PATH":           "librechat.yaml from the optional configuration layer",
}

// envByArea is set on some functions only.
var envByArea = map[string]map[string]string{
	routes.Chat: {
		"LCGO_LAMBDA_MODE": "the bootstrap answers API Gateway buffered and its Function URL streamed",
		"AWS_BUCKET_NAME":  "attachments are read from the files bucket",
		"FILE_STRATEGY":    "attachments live in S3",
	},
	routes.Files: {
		"AWS_BUCKET_NAME": "uploads are kept in the files bucket",
		"FILE_STRATEGY":   "uploads go to S3 without a librechat.yaml",
	},
}

// envFromLambda are set by Lambda for every function (the role's
// credentials and the region); the template may not set them.
var envFromLambda = map[string]string{
	"AWS_REGION":            "the function's region",
	"AWS_DEFAULT_REGION":    "the function's region",
	"AWS_ACCESS_KEY_ID":     "the execution role's credentials",
	"AWS_SECRET_ACCESS_KEY": "the execution role's credentials",
	"AWS_SESSION_TOKEN":     "the execution role's credentials",
}

// lambdaReservedEnv are the keys Lambda refuses in a function's
// environment.
var lambdaReservedEnv = []string{
	"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}

// envInSecret hold secrets: they belong in the secret SECRETS_ARN names,
// never in a function's plain environment. The stack generates the first
// three; operators add the others they use.
var envInSecret = map[string]string{
	"JWT_SECRET":                    "generated",
	"JWT_REFRESH_SECRET":            "generated",
	"CREDS_KEY":                     "generated",
	"OPENAI_API_KEY":                "added by the operator",
	"ANTHROPIC_API_KEY":             "added by the operator",
	"GOOGLE_KEY":                    "added by the operator",
	"BEDROCK_AWS_ACCESS_KEY_ID":     "added by the operator",
	"BEDROCK_AWS_SECRET_ACCESS_KEY": "added by the operator",
	"BEDROCK_AWS_SESSION_TOKEN":     "added by the operator",
	"EMAIL_PASSWORD":                "added by the operator",
}

// envOptional are read but rightly left unset by the template: their
// default fits Lambda, or they switch on something an operator opts into.
var envOptional = byReason(map[string][]string{
	"no listener on Lambda":                        {"HOST", "PORT"},
	"CloudFront serves the client from its bucket": {"CLIENT_DIR"},
	"the default fits": {
		"HELP_AND_FAQ_URL", "SHOW_BIRTHDAY_ICON", "SESSION_EXPIRY", "REFRESH_TOKEN_EXPIRY",
		"REFRESH_GRACE_SECONDS", "ALLOW_EMAIL_LOGIN", "ALLOW_SOCIAL_LOGIN", "ALLOW_PASSWORD_RESET",
		"ALLOW_UNVERIFIED_EMAIL_LOGIN", "ALLOW_ACCOUNT_DELETION", "MIN_PASSWORD_LENGTH", "LOGIN_MAX",
		"LOGIN_WINDOW", "REGISTER_MAX", "REGISTER_WINDOW", "LIMIT_CONCURRENT_MESSAGES", "CONCURRENT_MESSAGE_MAX",
		"STREAM_HEARTBEAT", "STREAM_STALE_AFTER",
	},
	"unset means Secure over https, which CloudFront and API Gateway always are": {"SESSION_COOKIE_SECURE"},
	"mail is opt-in": {
		"EMAIL_SERVICE", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_USERNAME", "EMAIL_FROM", "EMAIL_FROM_NAME",
		"EMAIL_ALLOW_SELFSIGNED",
	},
	"emulators, VPC endpoints and test servers only":      {"DYNAMODB_ENDPOINT", "AWS_ENDPOINT_URL_SECRETS_MANAGER"},
	"DynamoDB has transactions":                           {"DYNAMODB_NO_TRANSACTIONS"},
	"set where the area keeps or reads files (envByArea)": {"AWS_BUCKET_NAME", "FILE_STRATEGY"},
	"S3-compatible stores other than S3 only":             {"AWS_ENDPOINT_URL", "AWS_FORCE_PATH_STYLE"},
	"an optional file":                                    {"MODELS_CONFIG_PATH"},
	"provider options": {
		"OPENAI_MODELS", "OPENAI_REVERSE_PROXY", "ANTHROPIC_MODELS", "ANTHROPIC_REVERSE_PROXY",
		"GOOGLE_MODELS", "GOOGLE_REVERSE_PROXY", "BEDROCK_AWS_DEFAULT_REGION", "BEDROCK_AWS_MODELS",
		"BEDROCK_ENDPOINT_URL", "ENDPOINTS",
	},
	"unset is apigw, right for a function behind the HTTP API only (envByArea sets it for chat)": {"LCGO_LAMBDA_MODE"},
})

// byReason turns reason → names into name → reason.
func byReason(m map[string][]string) map[string]string {
	out := map[string]string{}
	for why, names := range m {
		for _, n := range names {
			out[n] = why
		}
	}
	return out
}

// narrowed are actions an area's packages can call but its code never
// does, left out of its role on purpose; TestTemplateChatReadsAttachmentsOnly
// backs the claim.
var narrowed = map[string]map[string]string{
	routes.Chat: {
		"s3:PutObject":    "chat reaches the files bucket only through chat.Attachments.Parts, which reads",
		"s3:DeleteObject": "chat reaches the files bucket only through chat.Attachments.Parts, which reads",
	},
}

// templateFunctions maps each area to its function's logical name, from
// CodeUri.
func templateFunctions(t *testing.T, raw *rawTemplate) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, name := range raw.ofType("AWS::Serverless::Function") {
		if m := areaOfCodeUri.FindStringSubmatch(canon(raw.props(name)["CodeUri"])); m != nil {
			out[m[1]] = name
		}
	}
	for _, area := range routes.Areas() {
		if out[area] == "" {
			t.Fatalf("no function for area %s", area)
		}
	}
	return out
}

// functionEnv is a function's environment: Globals merged with its own.
func functionEnv(raw *rawTemplate, fn string) map[string]any {
	env := map[string]any{}
	for k, v := range asMap(at(raw.root, "Globals", "Function", "Environment", "Variables")) {
		env[k] = v
	}
	for k, v := range asMap(at(raw.props(fn), "Environment", "Variables")) {
		env[k] = v
	}
	return env
}

// theOne is the single resource of a type.
func theOne(t *testing.T, raw *rawTemplate, typ string) string {
	t.Helper()
	names := raw.ofType(typ)
	if len(names) != 1 {
		t.Fatalf("want exactly one %s, have %v", typ, names)
	}
	return names[0]
}

func TestTemplateParameters(t *testing.T) {
	raw := loadRaw(t)
	for name, p := range asMap(raw.root["Parameters"]) {
		pm := asMap(p)
		if _, ok := pm["Default"]; !ok {
			t.Errorf("parameter %s has no default: secrets are generated in Secrets Manager, everything else has a default", name)
		}
		if asBool(pm["NoEcho"]) && name != "RedisUri" {
			t.Errorf("parameter %s is NoEcho: secrets belong in the generated secret", name)
		}
	}
	if !asBool(at(raw.root, "Parameters", "RedisUri", "NoEcho")) {
		t.Error("parameter RedisUri (it may hold a password) must be NoEcho")
	}
	for _, gone := range []string{"JwtSecret", "JwtRefreshSecret", "CredsKey"} {
		if at(raw.root, "Parameters", gone) != nil {
			t.Errorf("parameter %s: secrets are generated by the stack, not passed in", gone)
		}
	}
}

func TestTemplateEnvironment(t *testing.T) {
	raw := loadRaw(t)
	fns := templateFunctions(t, raw)
	table := theOne(t, raw, "AWS::DynamoDB::Table")
	for _, area := range routes.Areas() {
		fn := fns[area]
		env := functionEnv(raw, fn)
		reads := envReadByArea(t, area)

		want := map[string]string{}
		for k, v := range envEveryFunction {
			want[k] = v
		}
		for k, v := range envByArea[area] {
			want[k] = v
		}
		for _, name := range sortedKeys(want) {
			if _, ok := env[name]; !ok {
				t.Errorf("%s: %s is not set (%s)", fn, name, want[name])
			}
			if _, ok := reads[name]; !ok {
				t.Errorf("%s: the test wants %s set, but the %s bootstrap never reads it", fn, name, area)
			}
		}
		for _, name := range sortedKeys(env) {
			if _, ok := reads[name]; !ok {
				t.Errorf("%s sets %s, which the %s bootstrap never reads", fn, name, area)
			}
			if slices.Contains(lambdaReservedEnv, name) {
				t.Errorf("%s sets %s, which Lambda reserves", fn, name)
			}
			if why, ok := envInSecret[name]; ok {
				t.Errorf("%s sets %s in plain environment; it belongs in the secret (%s)", fn, name, why)
			}
		}
		// Every variable the code reads is accounted for.
		for _, name := range sortedKeys(reads) {
			_, set := want[name]
			_, fromLambda := envFromLambda[name]
			_, inSecret := envInSecret[name]
			_, optional := envOptional[name]
			if !set && !fromLambda && !inSecret && !optional {
				t.Errorf("%s reads %s (%s): set it in the template and in envEveryFunction/envByArea, or say why not (envFromLambda, envInSecret, envOptional)", area, name, reads[name])
			}
		}

		// Values.
		if v := canon(env["STORE"]); v != "dynamodb" {
			t.Errorf("%s: STORE = %q, want dynamodb", fn, v)
		}
		prefix, ok := strings.CutPrefix(canon(env["DYNAMODB_TABLE_PREFIX"]), "sub:")
		if !ok {
			prefix = canon(env["DYNAMODB_TABLE_PREFIX"])
		}
		if got, want := strings.TrimPrefix(canon(raw.props(table)["TableName"]), "sub:"), prefix+dynamo.TableBaseName; got != want {
			t.Errorf("%s: DYNAMODB_TABLE_PREFIX %q names table %q, but %s is %q", fn, prefix, want, table, got)
		}
		if s := refTo(env["SECRETS_ARN"]); raw.typeOf(s) != "AWS::SecretsManager::Secret" {
			t.Errorf("%s: SECRETS_ARN must be !Ref of an AWS::SecretsManager::Secret, is %s", fn, canon(env["SECRETS_ARN"]))
		}
		if p := refTo(env["REDIS_URI"]); p != "RedisUri" {
			t.Errorf("%s: REDIS_URI must be !Ref RedisUri", fn)
		}
		if d := canon(env["DATA_DIR"]); d != "/tmp" && !strings.HasPrefix(d, "/tmp/") {
			t.Errorf("%s: DATA_DIR = %q: Lambda can only write under /tmp", fn, d)
		}
		for _, k := range []string{"DOMAIN_CLIENT", "DOMAIN_SERVER"} {
			if refTo(env[k]) != "PublicUrl" {
				t.Errorf("%s: %s must be !Ref PublicUrl", fn, k)
			}
		}
		checkConfigPath(t, raw, fn, env["CONFIG_PATH"])

		needsBucket := hasPackage(t, area, modulePath+"/shared/blob/s3")
		_, hasBucket := env["AWS_BUCKET_NAME"]
		switch {
		case needsBucket && !hasBucket:
			t.Errorf("%s: the %s bootstrap links the S3 blob store but AWS_BUCKET_NAME is not set", fn, area)
		case !needsBucket && hasBucket:
			t.Errorf("%s: AWS_BUCKET_NAME is set, but the %s bootstrap has no S3 blob store", fn, area)
		case hasBucket:
			if b := refTo(env["AWS_BUCKET_NAME"]); raw.typeOf(b) != "AWS::S3::Bucket" {
				t.Errorf("%s: AWS_BUCKET_NAME must be !Ref of the files bucket, is %s", fn, canon(env["AWS_BUCKET_NAME"]))
			}
		}
		if mode, ok := env[lambda.ModeEnv]; ok {
			m, err := lambda.ParseMode(canon(mode))
			if err != nil {
				t.Errorf("%s: %v", fn, err)
			}
			if m != lambda.ModeAPIGateway && at(raw.props(fn), "FunctionUrlConfig") == nil {
				t.Errorf("%s: %s=%s without a Function URL", fn, lambda.ModeEnv, m)
			}
		}
	}
}

// checkConfigPath: CONFIG_PATH names librechat.yaml in the configuration
// layer when there is one (layers are mounted under /opt), and is empty
// otherwise.
func checkConfigPath(t *testing.T, raw *rawTemplate, fn string, v any) {
	t.Helper()
	cond := at(v, "Fn::If")
	l := asList(cond)
	if len(l) != 3 || !strings.HasPrefix(canon(l[1]), "/opt/") || canon(l[2]) != "" {
		t.Errorf("%s: CONFIG_PATH = %s, want !If [<condition>, /opt/<file>, \"\"]", fn, canon(v))
		return
	}
	layers := at(raw.root, "Globals", "Function", "Layers")
	ll := asList(at(layers, "Fn::If"))
	if len(ll) != 3 || canon(ll[0]) != canon(l[0]) || refTo(ll[2]) != "AWS::NoValue" || len(asList(ll[1])) != 1 {
		t.Errorf("Globals.Function.Layers = %s, want !If [%s, [<layer>], !Ref AWS::NoValue] matching CONFIG_PATH", canon(layers), canon(l[0]))
		return
	}
	layer := refTo(asList(ll[1])[0])
	if at(raw.root, "Parameters", layer) == nil {
		t.Errorf("the configuration layer %s is not a parameter", layer)
	}
	want := fmt.Sprintf("{Fn::Not:[{Fn::Equals:[ref:%s,]}]}", layer)
	if got := canon(at(raw.root, "Conditions", canon(l[0]))); got != want {
		t.Errorf("condition %s = %s, want %s (a layer is given)", canon(l[0]), got, want)
	}
}

// ---- Permissions ----

// grant is one allowed (action, resource) pair of a role.
type grant struct{ action, resource string }

// grantsOf collects what a function's role allows: its inline policies,
// the template's managed policies it has, and role policies attached to it.
func grantsOf(t *testing.T, raw *rawTemplate, fn string) map[grant]string {
	t.Helper()
	props := raw.props(fn)
	if _, ok := props["Policies"]; ok {
		t.Errorf("%s: SAM Policies would give it a role with AWSLambdaBasicExecutionRole (logs on *); use its own Role", fn)
	}
	role := getAttOf(props["Role"], "Arn")
	if raw.typeOf(role) != "AWS::IAM::Role" {
		t.Fatalf("%s: Role must be !GetAtt <role>.Arn of an AWS::IAM::Role in the template", fn)
	}
	rp := raw.props(role)
	if canon(at(rp, "AssumeRolePolicyDocument", "Statement", 0, "Principal", "Service")) != "lambda.amazonaws.com" ||
		len(asList(at(rp, "AssumeRolePolicyDocument", "Statement"))) != 1 {
		t.Errorf("%s: only lambda.amazonaws.com may assume it", role)
	}
	grants := map[grant]string{}
	add := func(where string, doc any) {
		for i, st := range asList(at(doc, "Statement")) {
			sm := asMap(st)
			src := fmt.Sprintf("%s statement %d", where, i)
			if sid := asString(sm["Sid"]); sid != "" {
				src = where + " " + sid
			}
			for _, k := range []string{"NotAction", "NotResource", "NotPrincipal"} {
				if _, ok := sm[k]; ok {
					t.Errorf("%s: %s uses %s", fn, src, k)
				}
			}
			if asString(sm["Effect"]) != "Allow" {
				continue
			}
			for _, a := range asList(sm["Action"]) {
				for _, r := range asList(sm["Resource"]) {
					grants[grant{canon(a), canon(r)}] = src
				}
			}
		}
	}
	for i, p := range asList(rp["Policies"]) {
		add(fmt.Sprintf("%s inline policy %d", role, i), at(p, "PolicyDocument"))
	}
	for _, arn := range asList(rp["ManagedPolicyArns"]) {
		mp := refTo(arn)
		if raw.typeOf(mp) != "AWS::IAM::ManagedPolicy" {
			t.Errorf("%s: managed policy %s is not one of the template's (AWS managed policies are broader)", role, canon(arn))
			continue
		}
		add(mp, raw.props(mp)["PolicyDocument"])
	}
	for _, name := range raw.ofType("AWS::IAM::ManagedPolicy") {
		for _, r := range asList(raw.props(name)["Roles"]) {
			if refTo(r) == role {
				add(name, raw.props(name)["PolicyDocument"])
			}
		}
	}
	for _, name := range raw.ofType("AWS::IAM::RolePolicy") {
		if refTo(raw.props(name)["RoleName"]) == role {
			add(name, raw.props(name)["PolicyDocument"])
		}
	}
	for _, name := range raw.ofType("AWS::IAM::Policy") {
		for _, r := range asList(raw.props(name)["Roles"]) {
			if refTo(r) == role {
				add(name, raw.props(name)["PolicyDocument"])
			}
		}
	}
	return grants
}

// bucketObjects matches the one wildcard the roles may hold: every object
// of a bucket of the template (S3 object keys are per user and file).
var bucketObjects = regexp.MustCompile(`^sub:\$\{(\w+)\.Arn\}/\*$`)

// logGroupOf is the log group named /aws/lambda/<fn>.
func logGroupOf(raw *rawTemplate, fn string) []string {
	var out []string
	for _, name := range raw.ofType("AWS::Logs::LogGroup") {
		if canon(raw.props(name)["LogGroupName"]) == "sub:/aws/lambda/${"+fn+"}" {
			out = append(out, name)
		}
	}
	return out
}

func TestTemplateGrantsWhatTheCodeCalls(t *testing.T) {
	raw := loadRaw(t)
	fns := templateFunctions(t, raw)
	table := theOne(t, raw, "AWS::DynamoDB::Table")
	var indexes []string
	for _, g := range asList(raw.props(table)["GlobalSecondaryIndexes"]) {
		indexes = append(indexes, canon(at(g, "IndexName")))
	}
	dynamoPkg := modulePackages(t)[modulePath+"/shared/store/dynamo"]
	if dynamoPkg == nil {
		t.Fatal("no package shared/store/dynamo")
	}
	localRunnerFlag(t)

	for _, area := range routes.Areas() {
		fn := fns[area]
		env := functionEnv(raw, fn)
		for _, ref := range provisioningReferences(t, area) {
			t.Errorf("%s: %s; the role has no table management actions", area, ref)
		}

		need := neededByArea(t, area)
		if canon(env["STORE"]) == "dynamodb" && !hasPackage(t, area, dynamoPkg.ImportPath) {
			// setup opens the store STORE names: the adapter is used even
			// where the bootstrap's imports do not show it yet.
			for n, where := range neededByPackage(t, dynamoPkg) {
				need[n] = append(need[n], where...)
			}
		}
		if _, ok := env["SECRETS_ARN"]; ok {
			need[iamNeed{"secretsmanager:GetSecretValue", onSecret}] = append(need[iamNeed{"secretsmanager:GetSecretValue", onSecret}], "SECRETS_ARN is read at cold start")
		}
		need[iamNeed{"logs:CreateLogStream", onLogGroup}] = []string{"the runtime's logs"}
		need[iamNeed{"logs:PutLogEvents", onLogGroup}] = []string{"the runtime's logs"}

		logGroups := logGroupOf(raw, fn)
		resources := func(on string) []string {
			switch on {
			case onTable:
				return []string{"getatt:" + table + ".Arn"}
			case onIndexes:
				var out []string
				for _, ix := range indexes {
					out = append(out, "sub:${"+table+".Arn}/index/"+ix)
				}
				return out
			case onBucketObject:
				if b := refTo(env["AWS_BUCKET_NAME"]); b != "" {
					return []string{"sub:${" + b + ".Arn}/*"}
				}
			case onBucket:
				if b := refTo(env["AWS_BUCKET_NAME"]); b != "" {
					return []string{"getatt:" + b + ".Arn"}
				}
			case onSecret:
				if s := refTo(env["SECRETS_ARN"]); s != "" {
					return []string{"ref:" + s}
				}
			case onLogGroup:
				if len(logGroups) == 1 {
					return []string{"getatt:" + logGroups[0] + ".Arn"}
				}
			}
			return nil
		}

		want := map[grant][]string{}
		for n, where := range need {
			if why, ok := narrowed[area][n.action]; ok {
				t.Logf("%s: %s left out: %s", fn, n.action, why)
				continue
			}
			rs := resources(n.on)
			if len(rs) == 0 {
				t.Errorf("%s: the code calls %s on the %s, which the function has none of (%s)", fn, n.action, n.on, strings.Join(where, "; "))
			}
			for _, r := range rs {
				want[grant{n.action, r}] = where
			}
		}
		have := grantsOf(t, raw, fn)
		for _, g := range sortedGrants(want) {
			if _, ok := have[g]; !ok {
				t.Errorf("%s: not granted %s on %s, which the code calls: %s", fn, g.action, g.resource, strings.Join(want[g], "; "))
			}
		}
		for _, g := range sortedGrants(have) {
			if strings.Contains(g.action, "*") {
				t.Errorf("%s: %s grants the wildcard action %s", fn, have[g], g.action)
			}
			if g.resource == "*" || (strings.Contains(g.resource, "*") && !isBucketObjects(raw, g.resource)) {
				t.Errorf("%s: %s grants %s on the wildcard resource %s", fn, have[g], g.action, g.resource)
			}
			if _, ok := want[g]; !ok {
				t.Errorf("%s: %s grants %s on %s, which the code does not call there", fn, have[g], g.action, g.resource)
			}
		}
	}
}

func isBucketObjects(raw *rawTemplate, resource string) bool {
	m := bucketObjects.FindStringSubmatch(resource)
	return m != nil && raw.typeOf(m[1]) == "AWS::S3::Bucket"
}

func sortedGrants[V any](m map[grant]V) []grant {
	out := make([]grant, 0, len(m))
	for g := range m {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b grant) int {
		if c := strings.Compare(a.action, b.action); c != 0 {
			return c
		}
		return strings.Compare(a.resource, b.resource)
	})
	return out
}

// TestTemplateChatReadsAttachmentsOnly backs narrowed[chat]: the chat
// function links the whole files service, but reaches it only through the
// one-method interface chat.Attachments (Parts, which reads).
func TestTemplateChatReadsAttachmentsOnly(t *testing.T) {
	pkgs := modulePackages(t)
	sc := pkgs[modulePath+"/shared/chat"]
	if sc == nil {
		t.Fatal("no package shared/chat")
	}
	var methods []string
	for _, f := range parsePackage(t, sc).files {
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok || ts.Name.Name != "Attachments" {
				return true
			}
			if it, ok := ts.Type.(*ast.InterfaceType); ok {
				for _, m := range it.Methods.List {
					for _, name := range m.Names {
						methods = append(methods, name.Name)
					}
				}
			}
			return false
		})
	}
	if !slices.Equal(methods, []string{"Parts"}) {
		t.Errorf("chat.Attachments has methods %v; narrowed[chat] assumes only Parts (reading)", methods)
	}
	for _, imp := range sc.Imports {
		if strings.HasPrefix(imp, modulePath+"/shared/blob") || imp == modulePath+"/shared/files" || imp == modulePath+"/functions/files" {
			t.Errorf("shared/chat imports %s: it could reach the bucket other than through Attachments", imp)
		}
	}
	fc := pkgs[modulePath+"/functions/chat"]
	if fc == nil {
		t.Fatal("no package functions/chat")
	}
	allowed := map[string]bool{"NewService": true, "Options": true}
	for _, f := range parsePackage(t, fc).files {
		imps := imports(f)
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok {
				switch imps[x.Name] {
				case modulePath + "/functions/files":
					if !allowed[sel.Sel.Name] {
						t.Errorf("functions/chat uses files.%s; narrowed[chat] assumes only NewService and Options", sel.Sel.Name)
					}
				case modulePath + "/shared/files", modulePath + "/shared/blob", modulePath + "/shared/blob/open", modulePath + "/shared/blob/s3":
					t.Errorf("functions/chat uses %s.%s directly; narrowed[chat] assumes it goes through chat.Attachments", x.Name, sel.Sel.Name)
				}
			}
			return true
		})
	}
}

// ---- Data ----

func TestTemplateTableMatchesAdapter(t *testing.T) {
	raw := loadRaw(t)
	table := theOne(t, raw, "AWS::DynamoDB::Table")
	p := raw.props(table)
	schema := dynamo.TableSchema(dynamo.Options{})

	if got := canon(p["BillingMode"]); got != string(schema.BillingMode) {
		t.Errorf("BillingMode = %s, want %s", got, schema.BillingMode)
	}
	var wantAttrs, haveAttrs []string
	for _, a := range schema.AttributeDefinitions {
		wantAttrs = append(wantAttrs, *a.AttributeName+" "+string(a.AttributeType))
	}
	for _, a := range asList(p["AttributeDefinitions"]) {
		haveAttrs = append(haveAttrs, canon(at(a, "AttributeName"))+" "+canon(at(a, "AttributeType")))
	}
	slices.Sort(wantAttrs)
	slices.Sort(haveAttrs)
	if !slices.Equal(haveAttrs, wantAttrs) {
		t.Errorf("AttributeDefinitions = %v, want %v", haveAttrs, wantAttrs)
	}
	keys := func(v any) string {
		var parts []string
		for _, k := range asList(v) {
			parts = append(parts, canon(at(k, "AttributeName"))+" "+canon(at(k, "KeyType")))
		}
		return strings.Join(parts, ", ")
	}
	wantKeys := func(schemaKeys []string) string { return strings.Join(schemaKeys, ", ") }
	var sk []string
	for _, k := range schema.KeySchema {
		sk = append(sk, *k.AttributeName+" "+string(k.KeyType))
	}
	if got := keys(p["KeySchema"]); got != wantKeys(sk) {
		t.Errorf("KeySchema = %s, want %s", got, wantKeys(sk))
	}
	have := map[string]any{}
	for _, g := range asList(p["GlobalSecondaryIndexes"]) {
		have[canon(at(g, "IndexName"))] = g
	}
	if len(have) != len(schema.GlobalSecondaryIndexes) {
		t.Errorf("%d indexes, want %d", len(have), len(schema.GlobalSecondaryIndexes))
	}
	for _, g := range schema.GlobalSecondaryIndexes {
		tg := have[*g.IndexName]
		if tg == nil {
			t.Errorf("index %s missing", *g.IndexName)
			continue
		}
		var gk []string
		for _, k := range g.KeySchema {
			gk = append(gk, *k.AttributeName+" "+string(k.KeyType))
		}
		if got := keys(at(tg, "KeySchema")); got != wantKeys(gk) {
			t.Errorf("index %s keys = %s, want %s", *g.IndexName, got, wantKeys(gk))
		}
		if got := canon(at(tg, "Projection", "ProjectionType")); got != string(g.Projection.ProjectionType) {
			t.Errorf("index %s projection = %s, want %s", *g.IndexName, got, g.Projection.ProjectionType)
		}
	}
	if canon(at(p, "TimeToLiveSpecification", "AttributeName")) != dynamo.AttrTTL || !asBool(at(p, "TimeToLiveSpecification", "Enabled")) {
		t.Errorf("TTL must be enabled on %q (the adapter's expiry attribute)", dynamo.AttrTTL)
	}
	if !asBool(at(p, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled")) {
		t.Error("point-in-time recovery must be enabled")
	}
	if !asBool(at(p, "SSESpecification", "SSEEnabled")) {
		t.Error("SSESpecification.SSEEnabled must be true")
	}
	for _, k := range []string{"DeletionPolicy", "UpdateReplacePolicy"} {
		if canon(raw.resources[table][k]) != "Retain" {
			t.Errorf("table %s must be Retain", k)
		}
	}
}

// secretGenerator is how a secret's value is generated.
type secretGenerator struct {
	secret string
	spec   map[string]any
}

// passwordChars is the alphabet GenerateSecretString draws from under spec.
func passwordChars(spec map[string]any) string {
	lower, upper, digits := "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789"
	punct := "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
	var b strings.Builder
	for _, set := range []struct {
		chars, exclude string
	}{{lower, "ExcludeLowercase"}, {upper, "ExcludeUppercase"}, {digits, "ExcludeNumbers"}, {punct, "ExcludePunctuation"}} {
		if !asBool(spec[set.exclude]) {
			b.WriteString(set.chars)
		}
	}
	if asBool(spec["IncludeSpace"]) {
		b.WriteString(" ")
	}
	excluded := canon(spec["ExcludeCharacters"])
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(excluded, r) {
			return -1
		}
		return r
	}, b.String())
}

var dynamicSecretRef = regexp.MustCompile(`\{\{resolve:secretsmanager:\$\{(\w+)\}:SecretString:::\}\}`)

func TestTemplateSecrets(t *testing.T) {
	raw := loadRaw(t)
	fns := templateFunctions(t, raw)
	app := refTo(functionEnv(raw, fns[routes.Auth])["SECRETS_ARN"])
	for _, area := range routes.Areas() {
		if got := refTo(functionEnv(raw, fns[area])["SECRETS_ARN"]); got != app {
			t.Errorf("%s reads secret %s, %s reads %s: want one secret", fns[area], got, fns[routes.Auth], app)
		}
	}
	for _, s := range raw.ofType("AWS::SecretsManager::Secret") {
		if _, ok := raw.props(s)["SecretString"]; ok {
			t.Errorf("%s has a SecretString written in the template; generate it", s)
		}
		for _, k := range []string{"DeletionPolicy", "UpdateReplacePolicy"} {
			if canon(raw.resources[s][k]) != "Retain" {
				t.Errorf("%s: %s must be Retain (CREDS_KEY decrypts data the retained table keeps)", s, k)
			}
		}
	}
	gen := asMap(raw.props(app)["GenerateSecretString"])
	if gen == nil {
		t.Fatalf("%s must be generated (GenerateSecretString)", app)
	}
	// Which generator fills which key of the secret's JSON.
	from := map[string]secretGenerator{canon(gen["GenerateStringKey"]): {app, gen}}
	tmpl := canon(gen["SecretStringTemplate"])
	tmpl, isSub := strings.CutPrefix(tmpl, "sub:")
	refs := map[string]string{}
	if isSub {
		tmpl = dynamicSecretRef.ReplaceAllStringFunc(tmpl, func(m string) string {
			name := dynamicSecretRef.FindStringSubmatch(m)[1]
			refs["<"+name+">"] = name
			return "<" + name + ">"
		})
	}
	var keys map[string]string
	if err := json.Unmarshal([]byte(tmpl), &keys); err != nil {
		t.Fatalf("%s SecretStringTemplate is not a JSON object of strings: %v", app, err)
	}
	for k, v := range keys {
		name, ok := refs[v]
		if !ok {
			t.Errorf("%s: key %s is written in the template; generate it", app, k)
			continue
		}
		spec := asMap(raw.props(name)["GenerateSecretString"])
		if raw.typeOf(name) != "AWS::SecretsManager::Secret" || spec == nil || spec["SecretStringTemplate"] != nil {
			t.Errorf("%s: key %s must come from a secret generated as a plain string, not %s", app, k, name)
			continue
		}
		from[k] = secretGenerator{name, spec}
	}
	for _, k := range []string{"JWT_SECRET", "JWT_REFRESH_SECRET", "CREDS_KEY"} {
		g, ok := from[k]
		if !ok {
			t.Errorf("%s does not generate %s", app, k)
			continue
		}
		n, _ := asInt(g.spec["PasswordLength"])
		chars := passwordChars(g.spec)
		if strings.ContainsAny(chars, "\"\\ ") {
			t.Errorf("%s (from %s) may contain a quote, backslash or space, which would break the JSON", k, g.secret)
		}
		if k == "CREDS_KEY" {
			if n != 64 || strings.Trim(chars, "0123456789abcdef") != "" {
				t.Errorf("CREDS_KEY (from %s) must be 64 hexadecimal characters; %d characters of %q", g.secret, n, chars)
			}
		} else if n < 32 {
			t.Errorf("%s (from %s) must be at least 32 characters, is %d", k, g.secret, n)
		}
	}
	if from["JWT_SECRET"].secret == from["JWT_REFRESH_SECRET"].secret && from["JWT_SECRET"].secret != "" {
		t.Error("JWT_SECRET and JWT_REFRESH_SECRET come from the same generator; they must differ")
	}
}

func TestTemplateBuckets(t *testing.T) {
	raw := loadRaw(t)
	buckets := raw.ofType("AWS::S3::Bucket")
	if len(buckets) != 2 {
		t.Errorf("want two buckets (files and client), have %v", buckets)
	}
	for _, b := range buckets {
		p := raw.props(b)
		algo := canon(at(p, "BucketEncryption", "ServerSideEncryptionConfiguration", 0, "ServerSideEncryptionByDefault", "SSEAlgorithm"))
		if algo != "AES256" && algo != "aws:kms" {
			t.Errorf("%s: default encryption is %q", b, algo)
		}
		for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
			if !asBool(at(p, "PublicAccessBlockConfiguration", k)) {
				t.Errorf("%s: PublicAccessBlockConfiguration.%s must be true", b, k)
			}
		}
		if canon(at(p, "OwnershipControls", "Rules", 0, "ObjectOwnership")) != "BucketOwnerEnforced" {
			t.Errorf("%s: ACLs must be off (BucketOwnerEnforced)", b)
		}
		denies := false
		for _, pol := range raw.ofType("AWS::S3::BucketPolicy") {
			if refTo(raw.props(pol)["Bucket"]) != b {
				continue
			}
			for _, st := range asList(at(raw.props(pol), "PolicyDocument", "Statement")) {
				var res []string
				for _, r := range asList(at(st, "Resource")) {
					res = append(res, canon(r))
				}
				slices.Sort(res)
				if canon(at(st, "Effect")) == "Deny" && canon(at(st, "Principal")) == "*" && canon(at(st, "Action")) == "s3:*" &&
					canon(at(st, "Condition", "Bool", "aws:SecureTransport")) == "false" &&
					slices.Equal(res, []string{"getatt:" + b + ".Arn", "sub:${" + b + ".Arn}/*"}) {
					denies = true
				}
				if canon(at(st, "Effect")) == "Allow" && canon(at(st, "Principal")) == "*" {
					t.Errorf("%s: %s allows everyone", b, pol)
				}
			}
		}
		if !denies {
			t.Errorf("%s: no bucket policy denies requests without TLS (Deny s3:* on the bucket and its objects when aws:SecureTransport is false)", b)
		}
	}
}

func TestTemplateLogGroups(t *testing.T) {
	raw := loadRaw(t)
	for _, area := range routes.Areas() {
		fn := templateFunctions(t, raw)[area]
		lgs := logGroupOf(raw, fn)
		if len(lgs) != 1 {
			t.Errorf("%s: want one AWS::Logs::LogGroup named !Sub /aws/lambda/${%s}, have %v", fn, fn, lgs)
			continue
		}
		days := raw.props(lgs[0])["RetentionInDays"]
		if p := refTo(days); p != "" {
			param := asMap(at(raw.root, "Parameters", p))
			if canon(param["Type"]) != "Number" || param["Default"] == nil {
				t.Errorf("%s: RetentionInDays parameter %s must be a Number with a default", lgs[0], p)
			}
		} else if _, ok := asInt(days); !ok {
			t.Errorf("%s: RetentionInDays must be set", lgs[0])
		}
	}
}

// ---- Front ----

// Managed CloudFront policies.
const (
	cachingDisabled           = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
	allViewerExceptHostHeader = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
)

// chatStreamPrefix is the path under which the chat area serves its
// stream, read from its route pattern.
func chatStreamPrefix(t *testing.T) string {
	t.Helper()
	p := modulePackages(t)[modulePath+"/functions/chat"]
	re := regexp.MustCompile(`^GET (/api/\S+/stream/)\{\w+\}$`)
	var found []string
	for _, f := range parsePackage(t, p).files {
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok {
				if s, ok := stringLit(lit); ok {
					if m := re.FindStringSubmatch(s); m != nil {
						found = append(found, m[1])
					}
				}
			}
			return true
		})
	}
	if len(found) != 1 {
		t.Fatalf("want one GET .../stream/{id} route in functions/chat, found %v", found)
	}
	return found[0]
}

func TestTemplateFront(t *testing.T) {
	raw := loadRaw(t)
	fns := templateFunctions(t, raw)
	chat := fns[routes.Chat]
	dist := theOne(t, raw, "AWS::CloudFront::Distribution")
	cfg := asMap(raw.props(dist)["DistributionConfig"])

	// The chat function streams through its URL.
	if canon(at(raw.props(chat), "FunctionUrlConfig", "InvokeMode")) != "RESPONSE_STREAM" {
		t.Errorf("%s: FunctionUrlConfig.InvokeMode must be RESPONSE_STREAM", chat)
	}
	if m, _ := lambda.ParseMode(canon(functionEnv(raw, chat)[lambda.ModeEnv])); m != lambda.ModeAuto {
		t.Errorf("%s: %s must be %s (HTTP API buffered, Function URL streamed)", chat, lambda.ModeEnv, lambda.ModeAuto)
	}

	origins := map[string]map[string]any{}
	for _, o := range asList(cfg["Origins"]) {
		origins[canon(at(o, "Id"))] = asMap(o)
	}
	originFor := func(domain string) string {
		for id, o := range origins {
			if canon(o["DomainName"]) == domain {
				return id
			}
		}
		return ""
	}
	api := theOne(t, raw, "AWS::Serverless::HttpApi")
	apiOrigin := originFor("sub:${" + api + "}.execute-api.${AWS::Region}.${AWS::URLSuffix}")
	streamOrigin := originFor("select(2,split(/,getatt:" + chat + "Url.FunctionUrl))")
	if apiOrigin == "" {
		t.Errorf("no origin for the HTTP API %s", api)
	}
	if streamOrigin == "" {
		t.Errorf("no origin for %sUrl (the chat stream)", chat)
	}
	for _, id := range []string{apiOrigin, streamOrigin} {
		if id != "" && canon(at(origins[id], "CustomOriginConfig", "OriginProtocolPolicy")) != "https-only" {
			t.Errorf("origin %s must be https-only", id)
		}
	}

	// The client's files: S3 through origin access control.
	var clientBucket, clientOrigin string
	for id, o := range origins {
		if b := getAttOf(o["DomainName"], "RegionalDomainName"); raw.typeOf(b) == "AWS::S3::Bucket" {
			clientBucket, clientOrigin = b, id
			oac := getAttOf(o["OriginAccessControlId"], "Id")
			c := asMap(at(raw.props(oac), "OriginAccessControlConfig"))
			if raw.typeOf(oac) != "AWS::CloudFront::OriginAccessControl" || canon(c["OriginAccessControlOriginType"]) != "s3" ||
				canon(c["SigningBehavior"]) != "always" || canon(c["SigningProtocol"]) != "sigv4" {
				t.Errorf("origin %s must use an s3 origin access control signing always with sigv4", id)
			}
		}
	}
	if clientBucket == "" {
		t.Fatal("no S3 origin for the client's files")
	}
	for _, area := range routes.Areas() {
		if refTo(functionEnv(raw, fns[area])["AWS_BUCKET_NAME"]) == clientBucket {
			t.Errorf("%s keeps files in the client's bucket %s", fns[area], clientBucket)
		}
	}
	readable := false
	for _, pol := range raw.ofType("AWS::S3::BucketPolicy") {
		if refTo(raw.props(pol)["Bucket"]) != clientBucket {
			continue
		}
		for _, st := range asList(at(raw.props(pol), "PolicyDocument", "Statement")) {
			if canon(at(st, "Effect")) == "Allow" && canon(at(st, "Principal", "Service")) == "cloudfront.amazonaws.com" &&
				canon(at(st, "Action")) == "s3:GetObject" && canon(at(st, "Resource")) == "sub:${"+clientBucket+".Arn}/*" &&
				strings.HasSuffix(canon(at(st, "Condition", "StringEquals", "AWS:SourceArn")), ":distribution/${"+dist+"}") {
				readable = true
			}
		}
	}
	if !readable {
		t.Errorf("%s: no bucket policy lets %s (and only it, by AWS:SourceArn) read the client's files", clientBucket, dist)
	}

	// Behaviours: the stream before /api/*, both uncached with every
	// viewer header but Host; everything else the client, with the SPA
	// fallback.
	prefix := chatStreamPrefix(t)
	if routes.Lookup(prefix+"x") != routes.Chat {
		t.Errorf("%sx is not routed to the chat area", prefix)
	}
	streamPattern := prefix + "*"
	var patterns []string
	behaviour := map[string]map[string]any{}
	for _, b := range asList(cfg["CacheBehaviors"]) {
		pat := canon(at(b, "PathPattern"))
		patterns = append(patterns, pat)
		behaviour[pat] = asMap(b)
	}
	si, ai := slices.Index(patterns, streamPattern), slices.Index(patterns, "/api/*")
	switch {
	case si < 0:
		t.Errorf("no cache behaviour for %s", streamPattern)
	case ai < 0:
		t.Error("no cache behaviour for /api/*")
	case si > ai:
		t.Errorf("%s must come before /api/* (CloudFront takes the first match)", streamPattern)
	}
	check := func(pat, origin string, methods []string) {
		b := behaviour[pat]
		if b == nil {
			return
		}
		if canon(b["TargetOriginId"]) != origin {
			t.Errorf("%s goes to origin %s, want %s", pat, canon(b["TargetOriginId"]), origin)
		}
		if canon(b["CachePolicyId"]) != cachingDisabled {
			t.Errorf("%s must use the managed CachingDisabled policy", pat)
		}
		if canon(b["OriginRequestPolicyId"]) != allViewerExceptHostHeader {
			t.Errorf("%s must use the managed AllViewerExceptHostHeader origin request policy", pat)
		}
		var have []string
		for _, m := range asList(b["AllowedMethods"]) {
			have = append(have, canon(m))
		}
		for _, m := range methods {
			if !slices.Contains(have, m) {
				t.Errorf("%s does not allow %s", pat, m)
			}
		}
		if v := canon(b["ViewerProtocolPolicy"]); v != "https-only" && v != "redirect-to-https" {
			t.Errorf("%s: ViewerProtocolPolicy %s", pat, v)
		}
	}
	check(streamPattern, streamOrigin, []string{"GET"})
	check("/api/*", apiOrigin, []string{"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"})

	def := asMap(cfg["DefaultCacheBehavior"])
	if canon(def["TargetOriginId"]) != clientOrigin {
		t.Errorf("the default behaviour must serve the client (origin %s)", clientOrigin)
	}
	if _, ok := cfg["CustomErrorResponses"]; ok {
		t.Error("CustomErrorResponses apply to every behaviour and would turn API errors into index.html; use the viewer-request function")
	}
	fa := asList(def["FunctionAssociations"])
	fnRes := getAttOf(at(fa, 0, "FunctionARN"), "FunctionARN")
	if len(fa) != 1 || canon(at(fa, 0, "EventType")) != "viewer-request" || raw.typeOf(fnRes) != "AWS::CloudFront::Function" {
		t.Fatal("the default behaviour needs one viewer-request CloudFront Function (the SPA fallback)")
	}
	for _, pat := range patterns {
		if len(asList(behaviour[pat]["FunctionAssociations"])) > 0 {
			t.Errorf("%s runs a CloudFront Function; only the client's behaviour may", pat)
		}
	}
	checkSpaFallback(t, canon(raw.props(fnRes)["FunctionCode"]))
}

// checkSpaFallback runs the viewer-request function under node, when there
// is one, on the client's routes and files.
func checkSpaFallback(t *testing.T, code string) {
	t.Helper()
	if !strings.Contains(code, "/index.html") {
		t.Error("the SPA fallback function never rewrites to /index.html")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Log("node not found; the SPA fallback function was not run")
		return
	}
	cases := map[string]string{
		"/": "/index.html", "/c/new": "/index.html", "/login": "/index.html", "/share/abc": "/index.html",
		"/index.html": "/index.html", "/assets/index-1a2b.js": "/assets/index-1a2b.js", "/manifest.webmanifest": "/manifest.webmanifest",
	}
	in, _ := json.Marshal(sortedKeys(cases))
	script := code + "\nconst uris = " + string(in) + ";\n" +
		"console.log(JSON.stringify(uris.map(u => handler({request: {uri: u, headers: {}}}).uri)));\n"
	cmd := exec.CommandContext(t.Context(), node, "-e", script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var got []string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node printed %q: %v", out, err)
	}
	for i, uri := range sortedKeys(cases) {
		if i < len(got) && got[i] != cases[uri] {
			t.Errorf("SPA fallback: %s → %s, want %s", uri, got[i], cases[uri])
		}
	}
}

func TestTemplateOutputs(t *testing.T) {
	raw := loadRaw(t)
	fns := templateFunctions(t, raw)
	env := functionEnv(raw, fns[routes.Files])
	dist := theOne(t, raw, "AWS::CloudFront::Distribution")
	api := theOne(t, raw, "AWS::Serverless::HttpApi")
	table := theOne(t, raw, "AWS::DynamoDB::Table")
	var client string
	for _, b := range raw.ofType("AWS::S3::Bucket") {
		if b != refTo(env["AWS_BUCKET_NAME"]) {
			client = b
		}
	}
	want := map[string]string{
		"SiteUrl":          "sub:https://${" + dist + ".DomainName}",
		"ApiUrl":           "sub:https://${" + api + "}.execute-api.${AWS::Region}.${AWS::URLSuffix}",
		"ChatStreamUrl":    "getatt:" + fns[routes.Chat] + "Url.FunctionUrl",
		"TableName":        "ref:" + table,
		"FilesBucketName":  canon(env["AWS_BUCKET_NAME"]),
		"ClientBucketName": "ref:" + client,
		"SecretArn":        canon(env["SECRETS_ARN"]),
		"DistributionId":   "ref:" + dist,
	}
	for name, v := range want {
		if got := canon(at(raw.root, "Outputs", name, "Value")); got != v {
			t.Errorf("output %s = %q, want %q", name, got, v)
		}
	}
}
