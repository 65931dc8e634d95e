package files

import (
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/lcgo/lcgo/shared/config"
)

// MB is one megabyte as librechat.yaml counts it (sizes there are in MB).
const MB = 1 << 20

// LibreChat's built-in file limits, which fileConfig overrides.
const (
	DefaultFileLimit       = 10
	DefaultFileSizeLimit   = 512 * MB
	DefaultTotalSizeLimit  = 512 * MB
	DefaultServerSizeLimit = 512 * MB
	DefaultAvatarSizeLimit = 2 * MB
	DefaultFileTokenLimit  = 100000
)

// The MIME patterns LibreChat accepts by default (supportedMimeTypes in
// its file-config).
var (
	textMIMETypes  = regexp.MustCompile(`^(text/(x-c|x-csharp|tab-separated-values|x-c\+\+|x-h|x-java|html|markdown|x-php|x-python|x-script\.python|x-ruby|x-tex|plain|css|vtt|javascript|csv|xml|calendar))$`)
	excelMIMETypes = regexp.MustCompile(`^application/(vnd\.ms-excel|msexcel|x-msexcel|x-ms-excel|x-excel|x-dos_ms_excel|xls|x-xls|vnd\.openxmlformats-officedocument\.spreadsheetml\.sheet)$`)
	appMIMETypes   = regexp.MustCompile(`^(application/(epub\+zip|csv|json|msword|pdf|x-tar|x-sh|x-zip-compressed|typescript|sql|yaml|x-parquet|vnd\.apache\.parquet|vnd\.coffeescript|vnd\.openxmlformats-officedocument\.(wordprocessingml\.document|presentationml\.presentation|spreadsheetml\.sheet)|vnd\.oasis\.opendocument\.(text|spreadsheet|presentation|graphics)|xml|zip))$`)
	imageMIMETypes = regexp.MustCompile(`^image/(jpeg|gif|png|webp|heic|heif)$`)
	videoMIMETypes = regexp.MustCompile(`^video/(mp4|avi|mov|wmv|flv|webm|mkv|m4v|3gp|ogv)$`)
	audioMIMETypes = regexp.MustCompile(`^audio/(mp3|mpeg|mpeg3|wav|wave|x-wav|ogg|vorbis|mp4|m4a|x-m4a|flac|x-flac|webm|aac|wma|opus)$`)
	svgMIMETypes   = regexp.MustCompile(`^image/(svg|svg\+xml)$`)
	emailMIMETypes = regexp.MustCompile(`^message/rfc822$`)
)

// DefaultMIMETypes is LibreChat's default supportedMimeTypes list.
func DefaultMIMETypes() []*regexp.Regexp {
	return []*regexp.Regexp{textMIMETypes, excelMIMETypes, appMIMETypes, imageMIMETypes, videoMIMETypes, audioMIMETypes, svgMIMETypes, emailMIMETypes}
}

// EndpointLimits are the upload rules of one endpoint, sizes in bytes.
type EndpointLimits struct {
	Disabled       bool
	FileLimit      int // files per message (checked by the client)
	FileSizeLimit  int64
	TotalSizeLimit int64 // per message (checked by the client)
	// MIMETypes are the accepted types; a type is accepted when any
	// pattern matches it (unanchored, as JavaScript's RegExp.test).
	MIMETypes []*regexp.Regexp
}

// Accepts reports whether mimeType matches one of the patterns.
func (e EndpointLimits) Accepts(mimeType string) bool {
	for _, re := range e.MIMETypes {
		if re.MatchString(mimeType) {
			return true
		}
	}
	return false
}

// endpointEntry is one configured endpoint: nil pointers are "not set" and
// take the default's value when the entry is used.
type endpointEntry struct {
	disabled       *bool
	fileLimit      *int
	fileSizeLimit  *int64
	totalSizeLimit *int64
	mimeTypes      []*regexp.Regexp // nil: not set
}

// Limits are the file rules of librechat.yaml's fileConfig merged over
// LibreChat's defaults, sizes converted from MB to bytes.
type Limits struct {
	endpoints map[string]endpointEntry
	order     []string // configured endpoint names, as written

	ServerFileSizeLimit int64
	AvatarSizeLimit     int64
	// FileTokenLimit bounds the text extracted from a document (about four
	// characters a token).
	FileTokenLimit int
}

// Endpoints LibreChat treats as its own (not custom) when looking up limits.
var standardEndpoints = map[string]bool{
	"default": true, "agents": true, "assistants": true, "azureAssistants": true,
	"openAI": true, "azureOpenAI": true, "anthropic": true, "google": true, "bedrock": true,
}

// Providers that take documents natively: an endpoint entry of theirs
// without supportedMimeTypes falls back to the full default list.
var documentProviders = map[string]bool{
	"anthropic": true, "openAI": true, "custom": true, "google": true, "vertexai": true,
	"mistralai": true, "mistral": true, "deepseek": true, "openrouter": true, "xai": true,
}

func builtinEntry() endpointEntry {
	f, t, s := DefaultFileLimit, int64(DefaultTotalSizeLimit), int64(DefaultFileSizeLimit)
	d := false
	return endpointEntry{disabled: &d, fileLimit: &f, fileSizeLimit: &s, totalSizeLimit: &t, mimeTypes: DefaultMIMETypes()}
}

// ParseLimits merges fileConfig (as written in librechat.yaml: sizes in MB,
// MIME types as regular expression strings) over LibreChat's defaults. An
// unset Object gives the defaults. A MIME pattern that does not compile is
// skipped, as LibreChat does; a value of the wrong type is an error.
func ParseLimits(fc config.Object) (*Limits, error) {
	l := &Limits{
		endpoints: map[string]endpointEntry{
			"assistants":      builtinEntry(),
			"azureAssistants": builtinEntry(),
			"agents":          builtinEntry(),
			"anthropic":       builtinEntry(),
			"default":         builtinEntry(),
		},
		ServerFileSizeLimit: DefaultServerSizeLimit,
		AvatarSizeLimit:     DefaultAvatarSizeLimit,
		FileTokenLimit:      DefaultFileTokenLimit,
	}
	if !fc.IsSet() {
		return l, nil
	}
	var err error
	if l.ServerFileSizeLimit, err = mbField(fc, "serverFileSizeLimit", l.ServerFileSizeLimit); err != nil {
		return nil, err
	}
	if l.AvatarSizeLimit, err = mbField(fc, "avatarSizeLimit", l.AvatarSizeLimit); err != nil {
		return nil, err
	}
	if v, ok := fc.Get("fileTokenLimit"); ok {
		n, ok := number(v)
		if !ok || n < 0 {
			return nil, fmt.Errorf("fileConfig.fileTokenLimit: want a number >= 0")
		}
		l.FileTokenLimit = int(n)
	}
	eps, ok := fc.Get("endpoints")
	if !ok || eps == nil {
		return l, nil
	}
	epObj, ok := eps.(config.Object)
	if !ok {
		return nil, fmt.Errorf("fileConfig.endpoints: want a mapping")
	}
	for _, name := range epObj.Keys() {
		v, _ := epObj.Get(name)
		o, ok := v.(config.Object)
		if !ok {
			return nil, fmt.Errorf("fileConfig.endpoints.%s: want a mapping", name)
		}
		entry, err := mergeEntry(l.endpoints[name], o, "fileConfig.endpoints."+name)
		if err != nil {
			return nil, err
		}
		l.endpoints[name] = entry
		l.order = append(l.order, name)
	}
	return l, nil
}

// mergeEntry applies one configured endpoint over base (LibreChat's
// mergeFileConfig): disabled zeroes every limit; other keys replace.
func mergeEntry(base endpointEntry, o config.Object, path string) (endpointEntry, error) {
	e := base
	if b, ok := o.Get("disabled"); ok && b != nil {
		d, ok := b.(bool)
		if !ok {
			return e, fmt.Errorf("%s.disabled: want a boolean", path)
		}
		if d {
			zero, zero64 := 0, int64(0)
			return endpointEntry{disabled: &d, fileLimit: &zero, fileSizeLimit: &zero64, totalSizeLimit: &zero64, mimeTypes: []*regexp.Regexp{}}, nil
		}
		e.disabled = &d
	}
	for _, k := range []struct {
		key string
		dst **int64
	}{{"fileSizeLimit", &e.fileSizeLimit}, {"totalSizeLimit", &e.totalSizeLimit}} {
		if v, ok := o.Get(k.key); ok && v != nil {
			n, ok := number(v)
			if !ok || n < 0 {
				return e, fmt.Errorf("%s.%s: want a number of MB >= 0", path, k.key)
			}
			b := mbToBytes(n)
			*k.dst = &b
		}
	}
	if v, ok := o.Get("fileLimit"); ok && v != nil {
		n, ok := number(v)
		if !ok || n < 0 {
			return e, fmt.Errorf("%s.fileLimit: want a number >= 0", path)
		}
		i := int(n)
		e.fileLimit = &i
	}
	if v, ok := o.Get("supportedMimeTypes"); ok && v != nil {
		list, ok := v.([]any)
		if !ok {
			return e, fmt.Errorf("%s.supportedMimeTypes: want a list of strings", path)
		}
		res := make([]*regexp.Regexp, 0, len(list))
		for i, item := range list {
			s, ok := item.(string)
			if !ok {
				return e, fmt.Errorf("%s.supportedMimeTypes[%d]: want a string", path, i)
			}
			if re, err := regexp.Compile(s); err == nil {
				res = append(res, re)
			}
		}
		e.mimeTypes = res
	}
	return e, nil
}

func mbField(o config.Object, key string, def int64) (int64, error) {
	v, ok := o.Get(key)
	if !ok || v == nil {
		return def, nil
	}
	n, ok := number(v)
	if !ok || n < 0 {
		return 0, fmt.Errorf("fileConfig.%s: want a number of MB >= 0", key)
	}
	return mbToBytes(n), nil
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case float64:
		return n, !math.IsNaN(n) && !math.IsInf(n, 0)
	}
	return 0, false
}

func mbToBytes(mb float64) int64 {
	b := mb * MB
	if b > math.MaxInt64/2 {
		return math.MaxInt64 / 2
	}
	return int64(b)
}

// Endpoint returns the rules for an upload from endpoint (and the
// endpoint's type, "custom" for custom endpoints), looked up as LibreChat's
// client and server do: a custom endpoint uses its own entry, then
// "custom", then "agents", then "default"; a built-in one uses
// endpoints[endpointType], endpoints[endpoint], "agents" for agents, then
// "default". Unset keys come from the effective default.
func (l *Limits) Endpoint(endpoint, endpointType string) EndpointLimits {
	def := builtinEntry()
	if d, ok := l.endpoints["default"]; ok {
		def = fill(d, def, false)
	}
	ep, typ := normalizeEndpoint(endpoint), normalizeEndpoint(endpointType)
	use := func(e endpointEntry, provider string) EndpointLimits {
		return resolve(fill(e, def, documentProviders[provider]))
	}
	custom := endpointType == "custom" || (!standardEndpoints[typ] && ep != "" && !standardEndpoints[ep])
	if custom {
		if e, ok := l.endpoints[endpoint]; ok && endpoint != "" {
			return use(e, endpoint)
		}
		for _, k := range l.order {
			if !standardEndpoints[k] && normalizeEndpoint(k) == ep {
				return use(l.endpoints[k], k)
			}
		}
		if e, ok := l.endpoints["custom"]; ok {
			return use(e, endpoint)
		}
		if e, ok := l.endpoints["agents"]; ok {
			return use(e, endpoint)
		}
		return resolve(def)
	}
	if e, ok := l.endpoints[endpointType]; ok && endpointType != "" {
		return use(e, endpointType)
	}
	if e, ok := l.endpoints[endpoint]; ok && endpoint != "" {
		return use(e, endpoint)
	}
	if e, ok := l.endpoints[ep]; ok && ep != "" {
		return use(e, ep)
	}
	if typ == "agents" || (typ == "" && ep == "agents") {
		if e, ok := l.endpoints["agents"]; ok {
			return use(e, "agents")
		}
	}
	return resolve(def)
}

// Avatar returns the rules for a profile picture: the default endpoint's
// types, AvatarSizeLimit.
func (l *Limits) Avatar() EndpointLimits {
	e := l.Endpoint("", "")
	e.Disabled = false
	e.FileSizeLimit = l.AvatarSizeLimit
	return e
}

// fill takes e's set values and def's for the rest. documents: an unset
// MIME list is the full built-in list rather than the default's.
func fill(e, def endpointEntry, documents bool) endpointEntry {
	out := e
	if out.disabled == nil {
		out.disabled = def.disabled
	}
	if out.fileLimit == nil {
		out.fileLimit = def.fileLimit
	}
	if out.fileSizeLimit == nil {
		out.fileSizeLimit = def.fileSizeLimit
	}
	if out.totalSizeLimit == nil {
		out.totalSizeLimit = def.totalSizeLimit
	}
	if out.mimeTypes == nil {
		if documents {
			out.mimeTypes = DefaultMIMETypes()
		} else {
			out.mimeTypes = def.mimeTypes
		}
	}
	return out
}

func resolve(e endpointEntry) EndpointLimits {
	out := EndpointLimits{MIMETypes: e.mimeTypes}
	if e.disabled != nil {
		out.Disabled = *e.disabled
	}
	if e.fileLimit != nil {
		out.FileLimit = *e.fileLimit
	}
	if e.fileSizeLimit != nil {
		out.FileSizeLimit = *e.fileSizeLimit
	}
	if e.totalSizeLimit != nil {
		out.TotalSizeLimit = *e.totalSizeLimit
	}
	return out
}

// normalizeEndpoint spells "ollama" the way LibreChat does.
func normalizeEndpoint(name string) string {
	if strings.EqualFold(name, "ollama") {
		return "ollama"
	}
	return name
}

// formatMB renders a byte count in MB the way LibreChat's messages do.
func formatMB(b int64) string {
	mb := float64(b) / MB
	if mb == math.Trunc(mb) {
		return fmt.Sprintf("%d", int64(mb))
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", mb), "0"), ".")
}
