package routes

import "testing"

func TestLookup(t *testing.T) {
	cases := map[string]string{
		"/api/auth/login":              Auth,
		"/api/user":                    Auth,
		"/api/user/settings/favorites": Config, // the longer prefix wins
		"/api/user/terms":              Config,
		"/api/users":                   "", // a prefix matches whole segments only
		"/api/config":                  Config,
		"/health":                      Config,
		"/api/agents/chat/active":      Chat,
		"/api/agents/tools":            Config,
		"/api/tags/work":               Convos,
		"/api/messages/abc":            Messages,
		"/c/new":                       "",
		"/api/nothing":                 "",
	}
	for path, want := range cases {
		if got := Lookup(path); got != want {
			t.Errorf("Lookup(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestTableHasNoDuplicatePrefixes(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Table {
		if seen[r.Prefix] {
			t.Errorf("prefix %s listed twice", r.Prefix)
		}
		seen[r.Prefix] = true
		if r.Prefix == "" || r.Prefix[0] != '/' || r.Prefix[len(r.Prefix)-1] == '/' {
			t.Errorf("malformed prefix %q", r.Prefix)
		}
	}
	if got := Areas(); len(got) != 9 || got[7] != Admin || got[8] != Files || got[0] != Auth || got[1] != Config || got[2] != Chat || got[3] != Convos || got[4] != Messages || got[5] != Presets || got[6] != Share {
		t.Errorf("Areas() = %v", got)
	}
}
