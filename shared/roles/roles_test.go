package roles

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
)

type memRoles struct {
	mu    sync.Mutex
	roles map[string]librechat.Role
}

func (m *memRoles) RoleByName(_ context.Context, name string) (*librechat.Role, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.roles[name]
	if !ok {
		return nil, librechat.E(librechat.KindNotFound, "Role not found")
	}
	b, _ := json.Marshal(r.Permissions)
	var perms map[string]map[string]bool
	_ = json.Unmarshal(b, &perms)
	r.Permissions = perms
	return &r, nil
}

func (m *memRoles) PutRole(_ context.Context, r *librechat.Role) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.roles == nil {
		m.roles = map[string]librechat.Role{}
	}
	b, _ := json.Marshal(r.Permissions)
	c := *r
	c.Permissions = nil
	_ = json.Unmarshal(b, &c.Permissions)
	m.roles[r.Name] = c
	return nil
}

type seqIDs struct{ n int }

func (s *seqIDs) ObjectID() string { s.n++; return fmt.Sprintf("%024x", s.n) }
func (s *seqIDs) UUID() string     { return "" }

// captureBody returns the raw response body of a capture file.
func captureBody(t *testing.T, name string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "..", "shared", "librechat-api", "transcripts", name))
	if err != nil {
		t.Fatalf("captures not available: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "### RESPONSE BODY (raw") && sc.Scan() {
			return sc.Text()
		}
	}
	t.Fatalf("%s: no raw body", name)
	return ""
}

func TestUserDefaultsMatchCapture(t *testing.T) {
	body := captureBody(t, "12-get-roles-user.txt")
	var doc struct {
		Permissions map[string]map[string]bool `json:"permissions"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(userDefaults(), doc.Permissions) {
		t.Errorf("USER defaults differ from the capture:\n got %v\nwant %v", userDefaults(), doc.Permissions)
	}
	// Key order of the ordered encoding equals the capture's.
	b, _ := json.Marshal(Ordered(doc.Permissions))
	re := regexp.MustCompile(`"permissions":(\{.*?\}\}),"__v"`)
	m := re.FindStringSubmatch(body)
	if m == nil || string(b) != m[1] {
		t.Errorf("ordered permissions\n got %s\nwant %v", b, m)
	}
}

func TestDefaults(t *testing.T) {
	cfg := &config.Config{}
	user := Defaults(cfg)
	admin := DefaultsFor(librechat.RoleAdmin, cfg)
	if len(user) != len(typeOrder) || len(admin) != len(typeOrder) {
		t.Fatalf("key sets: %d %d", len(user), len(admin))
	}
	for _, typ := range typeOrder {
		if !reflect.DeepEqual(keysOf(user[typ]), keysOf(userDefaults()[typ])) || !reflect.DeepEqual(keysOf(admin[typ]), keysOf(userDefaults()[typ])) {
			t.Errorf("%s: permission keys differ", typ)
		}
		for p, v := range admin[typ] {
			want := IsImplemented(typ)
			if v != want {
				t.Errorf("ADMIN %s.%s = %v, want %v", typ, p, v, want)
			}
		}
		if !IsImplemented(typ) {
			for p, v := range user[typ] {
				if v {
					t.Errorf("USER %s.%s on for an unimplemented feature", typ, p)
				}
			}
		}
	}
	for _, typ := range []string{Agents, Prompts, Memories, MCPServers, Skills, Marketplace, RemoteAgents,
		RunCode, WebSearch, FileSearch, FileCitations, MultiConvo, Bookmarks, TemporaryChat, SharedLinks} {
		if IsImplemented(typ) {
			continue
		}
		if admin[typ][Use] || user[typ][Use] || admin[typ][Create] {
			t.Errorf("%s not switched off", typ)
		}
	}
	if !IsImplemented(PeoplePicker) || !admin[PeoplePicker][ViewUsers] || user[PeoplePicker][ViewUsers] {
		t.Errorf("people picker: %v %v", admin[PeoplePicker], user[PeoplePicker])
	}
	// The ADMIN base set is all true.
	for typ, perms := range adminDefaults() {
		for p, v := range perms {
			if !v {
				t.Errorf("admin default %s.%s false", typ, p)
			}
		}
	}
}

func keysOf(m map[string]bool) []string { return sortedKeys(m) }

func TestInterfaceConfigApplies(t *testing.T) {
	src := `interface:
  peoplePicker:
    users: true
    roles: false
  prompts: true
  bookmarks: true
`
	f, err := config.ParseFile("librechat.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{File: *f}
	user := Defaults(cfg)
	admin := DefaultsFor(librechat.RoleAdmin, cfg)
	if !user[PeoplePicker][ViewUsers] || user[PeoplePicker][ViewGroups] || admin[PeoplePicker][ViewRoles] || !admin[PeoplePicker][ViewGroups] {
		t.Errorf("people picker: user %v admin %v", user[PeoplePicker], admin[PeoplePicker])
	}
	if !IsImplemented(Prompts) && user[Prompts][Use] {
		t.Error("a configured true must not switch on an unimplemented feature")
	}
	if !IsImplemented(Bookmarks) && user[Bookmarks][Use] {
		t.Error("bookmarks switched on")
	}

	// Turning a feature off works through the same path for implemented ones.
	perms := userDefaults()
	off, on := false, true
	applyInterface(perms, &config.Interface{
		Bookmarks: &off, Agents: &config.Switch{Use: &off, Share: &on}, Prompts: &config.Switch{Bool: &off},
		SharedLinks: &config.SharedLinks{Public: &off}, Marketplace: &config.Switch{Use: &on},
	})
	if perms[Bookmarks][Use] || perms[Agents][Use] || !perms[Agents][Share] || !perms[Agents][Create] ||
		perms[Prompts][Use] || !perms[Prompts][Create] || perms[SharedLinks][SharePublic] || !perms[SharedLinks][Create] ||
		!perms[Marketplace][Use] {
		t.Errorf("applyInterface: %v", perms)
	}
}

func TestInterfaceObject(t *testing.T) {
	o := Interface(&config.Config{})
	b, _ := json.Marshal(o)
	s := string(b)
	if !strings.HasPrefix(s, `{"modelSelect":true,"parameters":true,"presets":true,"mcpServers":{"use":false,"create":false,"share":false,"public":false},"autoSubmitFromUrl":true,"buildInfo":true,"contextUsage":true,"contextCost":false`) {
		t.Errorf("interface %s", s)
	}
	checkConsistent(t, o, Defaults(&config.Config{}))

	src := `interface:
  privacyPolicy: {externalUrl: "https://x/p", openNewTab: true}
  mcpServers: {use: true, placeholder: "MCP"}
  agents: true
  presets: false
  customWelcome: Welcome
modelSpecs:
  addedEndpoints: [openAI]
  list:
    - name: a
      preset: {endpoint: openAI}
`
	f, err := config.ParseFile("librechat.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{File: *f}
	o = Interface(cfg)
	if v, _ := o.Bool("presets"); v {
		t.Error("presets from yaml")
	}
	if v, _ := o.Bool("parameters"); v {
		t.Error("parameters default with model specs")
	}
	if v, _ := o.Bool("modelSelect"); !v {
		t.Error("modelSelect with addedEndpoints")
	}
	if w, _ := o.String("customWelcome"); w != "Welcome" {
		t.Error("customWelcome passed through")
	}
	mcp, _ := o.Object("mcpServers")
	if p, _ := mcp.String("placeholder"); p != "MCP" {
		t.Errorf("mcpServers keeps other keys: %v", mcp.Keys())
	}
	checkConsistent(t, o, Defaults(cfg))
	// The configuration itself is not changed.
	if m, _ := f.Interface.Raw.Object("mcpServers"); func() bool { v, _ := m.Bool("use"); return !v }() {
		t.Error("raw interface mutated")
	}
}

// checkConsistent: every feature whose permissions are all off has its
// interface switch off.
func checkConsistent(t *testing.T, o config.Object, perms map[string]map[string]bool) {
	t.Helper()
	for _, typ := range features {
		allOff := true
		for _, v := range perms[typ] {
			allOff = allOff && !v
		}
		if !allOff || typ == Marketplace || typ == RemoteAgents {
			continue
		}
		ik := interfaceKeys[typ]
		v, ok := o.Get(ik.key)
		if !ok {
			t.Errorf("%s: interface.%s missing", typ, ik.key)
			continue
		}
		switch x := v.(type) {
		case bool:
			if x {
				t.Errorf("interface.%s on while %s is off", ik.key, typ)
			}
		case config.Object:
			for _, f := range ik.flags {
				if b, _ := x.Bool(f); b {
					t.Errorf("interface.%s.%s on while %s is off", ik.key, f, typ)
				}
			}
		default:
			t.Errorf("interface.%s: %T", ik.key, v)
		}
	}
}

func TestSeed(t *testing.T) {
	ctx := context.Background()
	st := &memRoles{}
	ids := &seqIDs{}
	cfg := &config.Config{}
	if err := Seed(ctx, st, ids, cfg); err != nil {
		t.Fatal(err)
	}
	hex24 := regexp.MustCompile(`^[0-9a-f]{24}$`)
	user, err := st.RoleByName(ctx, librechat.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := st.RoleByName(ctx, librechat.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if !hex24.MatchString(user.ID) || !hex24.MatchString(admin.ID) || user.ID == admin.ID {
		t.Errorf("ids %q %q", user.ID, admin.ID)
	}
	if !reflect.DeepEqual(user.Permissions, Defaults(cfg)) || !reflect.DeepEqual(admin.Permissions, DefaultsFor(librechat.RoleAdmin, cfg)) {
		t.Error("seeded permissions differ from the defaults")
	}

	// An edited role gets the defaults back; its id, description and extra
	// permission types stay.
	user.Permissions[Bookmarks][Use] = true
	user.Permissions["CUSTOM"] = map[string]bool{"X": true}
	user.Description = "kept"
	if err := st.PutRole(ctx, user); err != nil {
		t.Fatal(err)
	}
	if err := Seed(ctx, st, ids, cfg); err != nil {
		t.Fatal(err)
	}
	again, _ := st.RoleByName(ctx, librechat.RoleUser)
	if again.ID != user.ID || again.Description != "kept" || !again.Permissions["CUSTOM"]["X"] {
		t.Errorf("reseed lost data: %+v", again)
	}
	if again.Permissions[Bookmarks][Use] != Defaults(cfg)[Bookmarks][Use] {
		t.Error("defaults not re-applied")
	}
}
