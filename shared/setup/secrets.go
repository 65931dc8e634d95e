package setup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/lcgo/lcgo/shared/platform/awsutil"
)

// SecretsEndpointEnv overrides the Secrets Manager endpoint (a VPC
// endpoint, or a test server); its name is the AWS SDKs' own.
const SecretsEndpointEnv = "AWS_ENDPOINT_URL_SECRETS_MANAGER"

// secretsTimeout bounds the one GetSecretValue of a cold start.
const secretsTimeout = 15 * time.Second

// withSecrets reads the secret that SECRETS_ARN names, once, and returns
// getenv with its variables added: a variable that is set to a non-empty
// value keeps it; an unset or empty one takes the secret's. The secret is a
// JSON object of NAME: value pairs (strings; numbers and booleans are taken
// as written). Credentials are AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN (Lambda sets them from the function's role); the
// region is the ARN's, else AWS_REGION.
func withSecrets(ctx context.Context, arn string, getenv func(string) (string, bool)) (func(string) (string, bool), map[string]string, error) {
	env := awsutil.FromEnv(getenv)
	endpoint, _ := getenv(SecretsEndpointEnv)
	endpoint = strings.TrimSpace(endpoint)
	region := arnRegion(arn)
	if region == "" {
		region = env.Region
	}
	if region == "" {
		return nil, nil, errors.New("SECRETS_ARN: AWS_REGION must be set when SECRETS_ARN is not a full ARN")
	}
	creds, err := env.Credentials(endpoint != "")
	if err != nil {
		return nil, nil, fmt.Errorf("SECRETS_ARN: %w", err)
	}
	o := secretsmanager.Options{Region: region, Credentials: creds}
	if endpoint != "" {
		o.BaseEndpoint = aws.String(endpoint)
	}
	client := secretsmanager.New(o)
	ctx, cancel := context.WithTimeout(ctx, secretsTimeout)
	defer cancel()
	out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		var nf *smtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return nil, nil, fmt.Errorf("SECRETS_ARN: the secret %s does not exist (or has no current value)", arn)
		}
		return nil, nil, fmt.Errorf("SECRETS_ARN: reading the secret %s: %w", arn, err)
	}
	data := []byte(aws.ToString(out.SecretString))
	if out.SecretString == nil {
		data = out.SecretBinary
	}
	vars, err := parseSecret(data)
	if err != nil {
		return nil, nil, fmt.Errorf("SECRETS_ARN: the secret %s %w", arn, err)
	}
	return overlay(getenv, vars), vars, nil
}

// arnRegion is the region field of a Secrets Manager ARN, "" for a name.
func arnRegion(arn string) string {
	f := strings.Split(arn, ":")
	if len(f) >= 7 && f[0] == "arn" && f[2] == "secretsmanager" {
		return f[3]
	}
	return ""
}

// parseSecret reads a JSON object of NAME: value pairs. Its errors name
// the problem but never a value.
func parseSecret(data []byte) (map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil || raw == nil {
		return nil, errors.New("is not a JSON object of NAME: value pairs")
	}
	vars := make(map[string]string, len(raw))
	for name, v := range raw {
		if name == "" || strings.ContainsAny(name, "= \t\r\n") {
			return nil, fmt.Errorf("has a name that is not an environment variable name: %q", name)
		}
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			vars[name] = s
			continue
		}
		var n json.Number
		var b bool
		switch {
		case json.Unmarshal(v, &n) == nil:
			vars[name] = n.String()
		case json.Unmarshal(v, &b) == nil && string(v) != "null":
			vars[name] = string(v)
		default:
			return nil, fmt.Errorf("has a value for %s that is not a string", name)
		}
	}
	return vars, nil
}

// overlay returns getenv with vars filling the variables that are unset
// or empty.
func overlay(getenv func(string) (string, bool), vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := getenv(name)
		if ok && strings.TrimSpace(v) != "" {
			return v, true
		}
		if s, found := vars[name]; found {
			return s, true
		}
		return v, ok
	}
}
