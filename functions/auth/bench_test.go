package auth_test

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkLogin measures one password login through the handler: the
// argon2id check dominates. Run with -cpu 1,2 to see logins scale with cores.
func BenchmarkLogin(b *testing.B) {
	e := newEnvTB(b)
	e.register("bench@example.com")
	body := `{"email":"bench@example.com","password":"Password123!"}`
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/api/auth/login", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("login: %d %s", rec.Code, rec.Body)
			}
		}
	})
}
