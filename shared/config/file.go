package config

import (
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// File is librechat.yaml as far as this server reads it. Sections and keys
// it does not read are logged once at load and otherwise ignored, so a real
// LibreChat configuration loads unchanged.
type File struct {
	Version string `yaml:"version"`
	Cache   *bool  `yaml:"cache"`

	// Interface is the interface section: Raw keeps it as written (the
	// client receives it), the other fields are typed views of it.
	Interface    Interface    `yaml:"interface"`
	Registration Registration `yaml:"registration"`
	Endpoints    Endpoints    `yaml:"endpoints"`
	// ModelSpecs is nil when the section is absent.
	ModelSpecs *ModelSpecs `yaml:"modelSpecs"`
	Balance    Balance     `yaml:"balance"`
	// FileConfig is passed to the client as written (unset: absent).
	FileConfig Object `yaml:"fileConfig"`
	// FileStrategy is where uploads are kept: "local" (default) or "s3"
	// (also Cloudflare R2 and other S3-compatible stores).
	FileStrategy string `yaml:"fileStrategy"`
}

// Registration is the registration section of librechat.yaml.
type Registration struct {
	SocialLogins   []string `yaml:"socialLogins"`
	AllowedDomains []string `yaml:"allowedDomains"`
}

// Interface is the interface section. Every typed field is nil when not
// configured.
type Interface struct {
	Raw Object `yaml:"-" raw:"true"`

	PrivacyPolicy  *PolicyLink     `yaml:"privacyPolicy"`
	TermsOfService *TermsOfService `yaml:"termsOfService"`
	CustomWelcome  string          `yaml:"customWelcome"`

	ModelSelect       *bool `yaml:"modelSelect"`
	Parameters        *bool `yaml:"parameters"`
	Presets           *bool `yaml:"presets"`
	EndpointsMenu     *bool `yaml:"endpointsMenu"`
	SidePanel         *bool `yaml:"sidePanel"`
	AutoSubmitFromURL *bool `yaml:"autoSubmitFromUrl"`
	BuildInfo         *bool `yaml:"buildInfo"`
	ContextUsage      *bool `yaml:"contextUsage"`
	ContextCost       *bool `yaml:"contextCost"`

	MultiConvo             *bool `yaml:"multiConvo"`
	Bookmarks              *bool `yaml:"bookmarks"`
	Memories               *bool `yaml:"memories"`
	TemporaryChat          *bool `yaml:"temporaryChat"`
	TemporaryChatRetention *int  `yaml:"temporaryChatRetention"`
	RunCode                *bool `yaml:"runCode"`
	WebSearch              *bool `yaml:"webSearch"`
	FileSearch             *bool `yaml:"fileSearch"`
	FileCitations          *bool `yaml:"fileCitations"`

	Prompts      *Switch       `yaml:"prompts"`
	Agents       *Switch       `yaml:"agents"`
	MCPServers   *Switch       `yaml:"mcpServers"`
	RemoteAgents *Switch       `yaml:"remoteAgents"`
	Skills       *Switch       `yaml:"skills"`
	Marketplace  *Switch       `yaml:"marketplace"`
	PeoplePicker *PeoplePicker `yaml:"peoplePicker"`
	SharedLinks  *SharedLinks  `yaml:"sharedLinks"`
}

// PolicyLink is interface.privacyPolicy.
type PolicyLink struct {
	ExternalURL string `yaml:"externalUrl"`
	OpenNewTab  *bool  `yaml:"openNewTab"`
}

// TermsOfService is interface.termsOfService.
type TermsOfService struct {
	ExternalURL     string `yaml:"externalUrl"`
	OpenNewTab      *bool  `yaml:"openNewTab"`
	ModalAcceptance *bool  `yaml:"modalAcceptance"`
	ModalTitle      string `yaml:"modalTitle"`
	ModalContent    any    `yaml:"modalContent"` // a string or a list of strings
}

// Switch is a feature switch of the interface section: either a plain
// boolean (Bool) or an object of use/create/share/public flags.
type Switch struct {
	Bool   *bool `yaml:"-"`
	Use    *bool `yaml:"use"`
	Create *bool `yaml:"create"`
	Share  *bool `yaml:"share"`
	Public *bool `yaml:"public"`
}

func (s *Switch) decodeNode(d *nodeDecoder, n *yaml.Node, path string) error {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		var b bool
		if err := n.Decode(&b); err != nil {
			return d.typeErr(n, path, "bool")
		}
		s.Bool = &b
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return d.typeErr(n, path, "bool or mapping")
	}
	type plain Switch // no hook
	var p plain
	if err := d.decodeStruct(n, reflect.ValueOf(&p).Elem(), path); err != nil {
		return err
	}
	*s = Switch(p)
	return nil
}

// PeoplePicker is interface.peoplePicker.
type PeoplePicker struct {
	Users  *bool `yaml:"users"`
	Groups *bool `yaml:"groups"`
	Roles  *bool `yaml:"roles"`
}

// SharedLinks is interface.sharedLinks.
type SharedLinks struct {
	Create        *bool `yaml:"create"`
	Share         *bool `yaml:"share"`
	Public        *bool `yaml:"public"`
	SnapshotFiles *bool `yaml:"snapshotFiles"`
}

// Endpoints is the endpoints section.
type Endpoints struct {
	All       *Endpoint        `yaml:"all"`
	OpenAI    *Endpoint        `yaml:"openAI"`
	Anthropic *Endpoint        `yaml:"anthropic"`
	Google    *Endpoint        `yaml:"google"`
	Bedrock   *Endpoint        `yaml:"bedrock"`
	Custom    []CustomEndpoint `yaml:"custom"`
}

// Endpoint is the configuration of a built-in provider (and of "all").
type Endpoint struct {
	BaseURL             string   `yaml:"baseURL"`
	TitleConvo          *bool    `yaml:"titleConvo"`
	TitleModel          string   `yaml:"titleModel"`
	TitleMethod         string   `yaml:"titleMethod"`
	TitlePrompt         string   `yaml:"titlePrompt"`
	TitlePromptTemplate string   `yaml:"titlePromptTemplate"`
	TitleEndpoint       string   `yaml:"titleEndpoint"`
	TitleTiming         string   `yaml:"titleTiming"` // "immediate" or "final"
	StreamRate          float64  `yaml:"streamRate"`
	Models              []string `yaml:"models"`           // the model list (anthropic)
	AvailableRegions    []string `yaml:"availableRegions"` // bedrock
}

// CustomEndpoint is one entry of endpoints.custom: an OpenAI-compatible API.
type CustomEndpoint struct {
	Name    string       `yaml:"name"`
	APIKey  string       `yaml:"apiKey"`  // ${VAR} resolved; "user_provided" asks each user
	BaseURL string       `yaml:"baseURL"` // ${VAR} resolved; "user_provided" asks each user
	Models  CustomModels `yaml:"models"`

	TitleConvo          bool   `yaml:"titleConvo"`
	TitleModel          string `yaml:"titleModel"`
	TitleMethod         string `yaml:"titleMethod"`
	TitlePrompt         string `yaml:"titlePrompt"`
	TitlePromptTemplate string `yaml:"titlePromptTemplate"`
	TitleEndpoint       string `yaml:"titleEndpoint"`
	TitleMessageRole    string `yaml:"titleMessageRole"`
	Summarize           bool   `yaml:"summarize"`
	SummaryModel        string `yaml:"summaryModel"`

	ModelDisplayLabel string            `yaml:"modelDisplayLabel"`
	IconURL           string            `yaml:"iconURL"`
	Headers           map[string]string `yaml:"headers"` // values ${VAR} resolved
	AddParams         map[string]any    `yaml:"addParams"`
	DropParams        []string          `yaml:"dropParams"`
	CustomParams      Object            `yaml:"customParams"`
	ForcePrompt       bool              `yaml:"forcePrompt"`
	StreamRate        float64           `yaml:"streamRate"`
	CustomOrder       *int              `yaml:"customOrder"`
	DirectEndpoint    bool              `yaml:"directEndpoint"`
}

// UserProvidedKey reports whether each user supplies the API key.
func (c *CustomEndpoint) UserProvidedKey() bool { return c.APIKey == UserProvided }

// UserProvidedURL reports whether each user supplies the base URL.
func (c *CustomEndpoint) UserProvidedURL() bool { return c.BaseURL == UserProvided }

// CustomModels is endpoints.custom[].models.
type CustomModels struct {
	Default     ModelList `yaml:"default"`
	Fetch       bool      `yaml:"fetch"`
	UserIDQuery bool      `yaml:"userIdQuery"`
}

// ModelList is a list of model ids. In YAML each item is a string or a
// mapping {name, description}.
type ModelList []string

func (m *ModelList) decodeNode(d *nodeDecoder, n *yaml.Node, path string) error {
	if n.Kind != yaml.SequenceNode {
		return d.typeErr(n, path, "list")
	}
	out := make(ModelList, 0, len(n.Content))
	for i, item := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		item = resolve(item)
		if item.Kind == yaml.MappingNode {
			var named struct {
				Name        string `yaml:"name"`
				Description string `yaml:"description"`
			}
			if err := d.decodeStruct(item, reflect.ValueOf(&named).Elem(), p); err != nil {
				return err
			}
			if named.Name == "" {
				return d.errAt(item.Line, joinPath(p, "name"), "required field is missing")
			}
			out = append(out, named.Name)
			continue
		}
		if item.Kind != yaml.ScalarNode || isNull(item) {
			return d.typeErr(item, p, "string")
		}
		out = append(out, item.Value)
	}
	*m = out
	return nil
}

// ModelSpecs is the modelSpecs section.
type ModelSpecs struct {
	Enforce        bool        `yaml:"enforce"`
	Prioritize     *bool       `yaml:"prioritize"` // default true
	AddedEndpoints []string    `yaml:"addedEndpoints"`
	List           []ModelSpec `yaml:"list"`
}

// PrioritizeOrDefault is Prioritize with LibreChat's default (true).
func (m *ModelSpecs) PrioritizeOrDefault() bool { return m.Prioritize == nil || *m.Prioritize }

// ModelSpec is one model spec. Raw keeps every key as written; the typed
// fields are the ones this server needs.
type ModelSpec struct {
	Raw     Object          `yaml:"-" raw:"true"`
	Name    string          `yaml:"name"`
	Label   string          `yaml:"label"`
	Default bool            `yaml:"default"`
	Preset  ModelSpecPreset `yaml:"preset"`
}

// ModelSpecPreset is the typed part of a model spec's preset; the private
// fields (promptPrefix, instructions, ...) stay in the spec's Raw.
type ModelSpecPreset struct {
	Endpoint     string `yaml:"endpoint"`
	EndpointType string `yaml:"endpointType"`
	Model        string `yaml:"model"`
}

// Balance is the balance section. Unset fields take LibreChat's defaults.
type Balance struct {
	Set                 bool    `yaml:"-"` // the section is present
	Enabled             *bool   `yaml:"enabled"`
	StartBalance        *int64  `yaml:"startBalance"`
	AutoRefillEnabled   *bool   `yaml:"autoRefillEnabled"`
	RefillIntervalValue *int64  `yaml:"refillIntervalValue"`
	RefillIntervalUnit  *string `yaml:"refillIntervalUnit"`
	RefillAmount        *int64  `yaml:"refillAmount"`
}

// Balance defaults (LibreChat's balance schema).
const (
	DefaultStartBalance        = 20000
	DefaultRefillIntervalValue = 30
	DefaultRefillIntervalUnit  = "days"
	DefaultRefillAmount        = 10000
)

// IsEnabled reports whether token balances are on.
func (b Balance) IsEnabled() bool { return b.Enabled != nil && *b.Enabled }

// Start is the balance a new user starts with.
func (b Balance) Start() int64 {
	if b.StartBalance != nil {
		return *b.StartBalance
	}
	return DefaultStartBalance
}

// AutoRefill reports whether balances refill automatically.
func (b Balance) AutoRefill() bool { return b.AutoRefillEnabled != nil && *b.AutoRefillEnabled }

// Interval is the refill interval value and unit.
func (b Balance) Interval() (int64, string) {
	v, u := int64(DefaultRefillIntervalValue), DefaultRefillIntervalUnit
	if b.RefillIntervalValue != nil {
		v = *b.RefillIntervalValue
	}
	if b.RefillIntervalUnit != nil {
		u = *b.RefillIntervalUnit
	}
	return v, u
}

// Refill is the amount added at each refill.
func (b Balance) Refill() int64 {
	if b.RefillAmount != nil {
		return *b.RefillAmount
	}
	return DefaultRefillAmount
}

func (b *Balance) decodeNode(d *nodeDecoder, n *yaml.Node, path string) error {
	type plain Balance
	var p plain
	if err := d.decodeStruct(n, reflect.ValueOf(&p).Elem(), path); err != nil {
		return err
	}
	*b = Balance(p)
	b.Set = true
	return nil
}

// builtinEndpointNames are the endpoint names LibreChat reserves; a custom
// endpoint may not use them.
var builtinEndpointNames = []string{
	"openAI", "azureOpenAI", "google", "anthropic", "bedrock", "agents",
	"assistants", "azureAssistants", "custom", "gptPlugins", "chatGPTBrowser", "bingAI",
}

var refillUnits = []string{"seconds", "minutes", "hours", "days", "weeks", "months"}

// ParseFile parses librechat.yaml. name is used in error messages; getenv
// resolves ${VAR} references in API keys, base URLs and headers. Keys this
// server does not read are logged with slog.Warn.
func ParseFile(name string, data []byte, getenv func(string) (string, bool)) (*File, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, syntaxError(name, err)
	}
	f := &File{}
	doc := resolve(&root)
	if doc == nil || root.Kind == 0 || isNull(doc) {
		return f, nil
	}
	d := &nodeDecoder{file: name, lines: map[string]int{}}
	if err := d.decode(doc, reflect.ValueOf(f).Elem(), ""); err != nil {
		return nil, err
	}
	if err := f.validate(d); err != nil {
		return nil, err
	}
	f.resolveEnv(name, getenv)
	for _, u := range d.unknown {
		slog.Warn("librechat.yaml: key not used by this server, ignored", "file", name, "key", u.Path, "line", u.Line)
	}
	return f, nil
}

func (f *File) validate(d *nodeDecoder) error {
	seen := map[string]int{}
	for i := range f.Endpoints.Custom {
		c := &f.Endpoints.Custom[i]
		p := fmt.Sprintf("endpoints.custom[%d]", i)
		line := d.lines[p]
		switch {
		case strings.TrimSpace(c.Name) == "":
			return d.errAt(line, p+".name", "required field is missing")
		case strings.TrimSpace(c.BaseURL) == "":
			return d.errAt(line, p+".baseURL", "required field is missing")
		case strings.TrimSpace(c.APIKey) == "":
			return d.errAt(line, p+".apiKey", "required field is missing")
		case len(c.Models.Default) == 0 && !c.Models.Fetch:
			return d.errAt(line, p+".models", "needs a non-empty default list or fetch: true")
		}
		c.Name = normalizeEndpointName(c.Name)
		for _, b := range builtinEndpointNames {
			if strings.EqualFold(c.Name, b) {
				return d.errAt(d.lines[p+".name"], p+".name", "%q is the name of a built-in endpoint", c.Name)
			}
		}
		if prev, ok := seen[c.Name]; ok {
			return d.errAt(d.lines[p+".name"], p+".name", "endpoint %q is already defined at endpoints.custom[%d]", c.Name, prev)
		}
		seen[c.Name] = i
	}
	if ms := f.ModelSpecs; ms != nil {
		names := map[string]int{}
		for i := range ms.List {
			s := &ms.List[i]
			p := fmt.Sprintf("modelSpecs.list[%d]", i)
			line := d.lines[p]
			if strings.TrimSpace(s.Name) == "" {
				return d.errAt(line, p+".name", "required field is missing")
			}
			if prev, ok := names[s.Name]; ok {
				return d.errAt(d.lines[p+".name"], p+".name", "model spec %q is already defined at modelSpecs.list[%d]", s.Name, prev)
			}
			names[s.Name] = i
			if !s.Raw.Has("preset") {
				return d.errAt(line, p+".preset", "required field is missing")
			}
			if strings.TrimSpace(s.Preset.Endpoint) == "" {
				pl := d.lines[p+".preset"]
				if pl == 0 {
					pl = line
				}
				return d.errAt(pl, p+".preset.endpoint", "required field is missing")
			}
		}
	}
	if u := f.Balance.RefillIntervalUnit; u != nil {
		ok := false
		for _, x := range refillUnits {
			ok = ok || *u == x
		}
		if !ok {
			return d.errAt(d.lines["balance.refillIntervalUnit"], "balance.refillIntervalUnit", "must be one of %s", strings.Join(refillUnits, ", "))
		}
	}
	return nil
}

// normalizeEndpointName spells "ollama" the way LibreChat does.
func normalizeEndpointName(name string) string {
	if strings.EqualFold(name, "ollama") {
		return "ollama"
	}
	return name
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces ${VAR} with its value. An unset variable is left as
// written (as LibreChat does) and reported once.
func expandEnv(s string, getenv func(string) (string, bool), missing map[string]bool) string {
	if !strings.Contains(s, "${") {
		return s
	}
	return envRef.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		if getenv != nil {
			if v, ok := getenv(name); ok && v != "" {
				return v
			}
		}
		missing[name] = true
		return m
	})
}

func (f *File) resolveEnv(file string, getenv func(string) (string, bool)) {
	missing := map[string]bool{}
	for _, e := range []*Endpoint{f.Endpoints.All, f.Endpoints.OpenAI, f.Endpoints.Anthropic, f.Endpoints.Google, f.Endpoints.Bedrock} {
		if e != nil {
			e.BaseURL = expandEnv(e.BaseURL, getenv, missing)
		}
	}
	for i := range f.Endpoints.Custom {
		c := &f.Endpoints.Custom[i]
		c.APIKey = expandEnv(c.APIKey, getenv, missing)
		c.BaseURL = expandEnv(c.BaseURL, getenv, missing)
		for k, v := range c.Headers {
			c.Headers[k] = expandEnv(v, getenv, missing)
		}
	}
	for name := range missing {
		slog.Warn("librechat.yaml: environment variable is not set; its reference is kept as written", "file", file, "variable", name)
	}
}

// CustomEndpoint returns the custom endpoint with that name.
func (f *File) CustomEndpoint(name string) (*CustomEndpoint, bool) {
	for i := range f.Endpoints.Custom {
		if f.Endpoints.Custom[i].Name == name {
			return &f.Endpoints.Custom[i], true
		}
	}
	return nil, false
}

// ModelSpec returns the model spec with that name.
func (f *File) ModelSpec(name string) (*ModelSpec, bool) {
	if f.ModelSpecs == nil {
		return nil, false
	}
	for i := range f.ModelSpecs.List {
		if f.ModelSpecs.List[i].Name == name {
			return &f.ModelSpecs.List[i], true
		}
	}
	return nil, false
}

// TitleTiming is when conversation titles are generated: endpoints.all.titleTiming,
// else "immediate".
func (f *File) TitleTiming() string {
	if a := f.Endpoints.All; a != nil && (a.TitleTiming == "final" || a.TitleTiming == "immediate") {
		return a.TitleTiming
	}
	return "immediate"
}
