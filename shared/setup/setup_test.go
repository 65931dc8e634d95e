package setup

import (
	"context"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLocalGeneratesAndKeepsSecrets(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"DATA_DIR": dir, "CONFIG_PATH": ""}
	a, err := Open(context.Background(), Options{Local: true, Getenv: env(vars)})
	if err != nil {
		t.Fatal(err)
	}
	first := a.Config.Auth
	creds := a.Config.CredsKey
	a.Store.Close()
	if len(first.JWTSecret) != 64 || len(first.JWTRefreshSecret) != 64 || first.JWTSecret == first.JWTRefreshSecret || len(creds) != 64 {
		t.Fatalf("generated secrets: %q %q %q", first.JWTSecret, first.JWTRefreshSecret, creds)
	}
	b, err := Open(context.Background(), Options{Local: true, Getenv: env(vars)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Store.Close()
	if b.Config.Auth.JWTSecret != first.JWTSecret || b.Config.Auth.JWTRefreshSecret != first.JWTRefreshSecret || b.Config.CredsKey != creds {
		t.Fatal("a restart generated new secrets")
	}
	if _, err := b.Store.RoleByName(context.Background(), "USER"); err != nil {
		t.Fatalf("USER role not seeded: %v", err)
	}
}

func TestCloudRequiresSecrets(t *testing.T) {
	vars := map[string]string{"DATA_DIR": t.TempDir(), "CONFIG_PATH": ""}
	_, err := Open(context.Background(), Options{Getenv: env(vars)})
	if err == nil || !strings.Contains(err.Error(), "JWT_SECRET") {
		t.Fatalf("cloud mode without secrets: %v", err)
	}
	vars["JWT_SECRET"], vars["JWT_REFRESH_SECRET"] = "a-secret", "another-secret"
	vars["CREDS_KEY"] = strings.Repeat("ab", 32)
	a, err := Open(context.Background(), Options{Getenv: env(vars)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Store.Close()
	if _, err := a.Store.Setting(context.Background(), "secret:jwt"); err == nil {
		t.Fatal("cloud mode stored a generated secret")
	}
}
