package storetest

import (
	"testing"

	"github.com/lcgo/lcgo/shared/librechat"
)

// RunGroups runs only the named groups of the suite, under the names Run
// gives them ("Users", "Sessions", "Roles", "Tokens", "Settings",
// "Conversations", "Messages", "Tags", "Balances", "Files", "Presets",
// "Shares", "Groups", "ModelConfigs", "Audit", "UserList", "Search"), for
// an adapter that implements part of librechat.Store so far: its open may
// return a value whose other methods are never called. An unknown name
// fails the test. Run is unchanged and remains what a complete adapter
// passes.
func RunGroups(t *testing.T, open func(t *testing.T) librechat.Store, names ...string) {
	s := suite{open: open}
	all := map[string]func() []test{
		"Users":         s.userTests,
		"Sessions":      s.sessionTests,
		"Roles":         s.roleTests,
		"Tokens":        s.tokenTests,
		"Settings":      s.settingTests,
		"Conversations": s.conversationTests,
		"Messages":      s.messageTests,
		"Tags":          s.tagTests,
		"Balances":      s.balanceTests,
		"Files":         s.fileTests,
		"Presets":       s.presetTests,
		"Shares":        s.shareTests,
		"Groups":        s.groupTests,
		"ModelConfigs":  s.modelConfigTests,
		"Audit":         s.auditTests,
		"UserList":      s.userListTests,
		"Search":        s.searchTests,
	}
	for _, name := range names {
		tests, ok := all[name]
		if !ok {
			t.Fatalf("storetest.RunGroups: unknown group %q", name)
		}
		t.Run(name, func(t *testing.T) {
			for _, tc := range tests() {
				t.Run(tc.name, func(t *testing.T) {
					tc.fn(t, s.fresh(t))
				})
			}
		})
	}
}

// CoreGroups and ChatGroups name the groups of the core and chat
// interfaces (librechat.Store without librechat.LibraryStore).
var (
	CoreGroups = []string{"Users", "Sessions", "Roles", "Tokens", "Settings"}
	ChatGroups = []string{"Conversations", "Messages", "Tags", "Balances"}
)
