package setup

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeSecrets speaks the Secrets Manager JSON protocol for GetSecretValue.
type fakeSecrets struct {
	mu       sync.Mutex
	secrets  map[string]string // SecretId → SecretString
	requests []*http.Request
	ids      []string
}

func (f *fakeSecrets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var in struct{ SecretId string }
	_ = json.Unmarshal(body, &in)
	f.mu.Lock()
	f.requests = append(f.requests, r)
	f.ids = append(f.ids, in.SecretId)
	val, ok := f.secrets[in.SecretId]
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"InvalidAction","message":"unknown action"}`)
		return
	}
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}`)
		return
	}
	out, _ := json.Marshal(map[string]any{"ARN": in.SecretId, "Name": "app", "SecretString": val, "VersionId": "v1"})
	_, _ = w.Write(out)
}

const testARN = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:app-AbCdEf"

func startSecrets(t *testing.T, secrets map[string]string) (*fakeSecrets, string) {
	f := &fakeSecrets{secrets: secrets}
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	return f, ts.URL
}

// The secret's variables fill those the environment leaves unset, before
// the configuration is loaded; the request is signed with the
// environment's credentials for the ARN's region.
func TestOpenWithSecrets(t *testing.T) {
	secret, _ := json.Marshal(map[string]any{
		"JWT_SECRET": "from-secret", "JWT_REFRESH_SECRET": "refresh-from-secret",
		"CREDS_KEY": strings.Repeat("cd", 32), "APP_TITLE": "From the secret",
		"OPENAI_API_KEY": "sk-secret", "LOGIN_MAX": 3, "ALLOW_REGISTRATION": false,
	})
	f, url := startSecrets(t, map[string]string{testARN: string(secret)})
	vars := map[string]string{
		"DATA_DIR": t.TempDir(), "SECRETS_ARN": testARN, SecretsEndpointEnv: url,
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDLAMBDA", "AWS_SECRET_ACCESS_KEY": "s",
		"AWS_SESSION_TOKEN": "tok", "APP_TITLE": "From the environment", "JWT_REFRESH_SECRET": "",
	}
	a, err := Open(context.Background(), Options{Getenv: env(vars)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Store.Close()
	c := a.Config
	if c.Auth.JWTSecret != "from-secret" || c.Auth.JWTRefreshSecret != "refresh-from-secret" || c.CredsKey != strings.Repeat("cd", 32) {
		t.Fatalf("secrets not taken from the secret: %q %q %q", c.Auth.JWTSecret, c.Auth.JWTRefreshSecret, c.CredsKey)
	}
	if c.AppTitle != "From the environment" {
		t.Fatalf("APP_TITLE = %q: a variable set in the environment must win", c.AppTitle)
	}
	if c.Providers.OpenAIKey != "sk-secret" || c.Auth.LoginMax != 3 || c.Auth.AllowRegistration {
		t.Fatalf("other variables: key %q, LOGIN_MAX %d, ALLOW_REGISTRATION %v", c.Providers.OpenAIKey, c.Auth.LoginMax, c.Auth.AllowRegistration)
	}
	if len(f.requests) != 1 || f.ids[0] != testARN {
		t.Fatalf("%d requests for %v, want one for the ARN", len(f.requests), f.ids)
	}
	h := f.requests[0].Header
	if auth := h.Get("Authorization"); !strings.Contains(auth, "Credential=AKIDLAMBDA/") || !strings.Contains(auth, "/eu-central-1/secretsmanager/") {
		t.Fatalf("Authorization = %q, want the environment's key and the ARN's region", auth)
	}
	if h.Get("X-Amz-Security-Token") != "tok" {
		t.Fatalf("session token = %q", h.Get("X-Amz-Security-Token"))
	}
}

func TestSecretsErrors(t *testing.T) {
	_, url := startSecrets(t, map[string]string{
		"text":   "JWT_SECRET=abc",
		"array":  `["JWT_SECRET"]`,
		"null":   `null`,
		"nested": `{"JWT_SECRET":{"v":"abc"}}`,
		"badkey": `{"JWT SECRET":"abc"}`,
	})
	for _, tc := range []struct{ id, want string }{
		{testARN, "does not exist"},
		{"text", "is not a JSON object"},
		{"array", "is not a JSON object"},
		{"null", "is not a JSON object"},
		{"nested", "value for JWT_SECRET that is not a string"},
		{"badkey", "not an environment variable name"},
	} {
		vars := map[string]string{"DATA_DIR": t.TempDir(), "SECRETS_ARN": tc.id, SecretsEndpointEnv: url, "AWS_REGION": "us-east-1"}
		_, err := Open(context.Background(), Options{Getenv: env(vars)})
		if err == nil || !strings.Contains(err.Error(), "SECRETS_ARN") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("secret %s: %v, want an error saying %q", tc.id, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "abc") {
			t.Errorf("secret %s: the error shows a value: %v", tc.id, err)
		}
	}
	// Without an endpoint override, credentials are required.
	vars := map[string]string{"DATA_DIR": t.TempDir(), "SECRETS_ARN": testARN}
	if _, err := Open(context.Background(), Options{Getenv: env(vars)}); err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Fatalf("no credentials: %v", err)
	}
	// A bare name needs a region.
	vars = map[string]string{"DATA_DIR": t.TempDir(), "SECRETS_ARN": "app", SecretsEndpointEnv: url}
	if _, err := Open(context.Background(), Options{Getenv: env(vars)}); err == nil || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Fatalf("no region: %v", err)
	}
}
