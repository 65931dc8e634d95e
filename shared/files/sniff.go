package files

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	_ "image/gif" // registers the GIF decoder for image.DecodeConfig
	_ "image/jpeg"
	_ "image/png"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"

	_ "golang.org/x/image/webp" // registers the WebP decoder
)

// Class is what a file's bytes are, as far as uploads care.
type Class int

// Classes of content.
const (
	ClassBinary     Class = iota // anything else: stored, given to no model
	ClassImage                   // a raster image the server can read: PNG, JPEG, GIF, WebP
	ClassText                    // text (UTF-8 or UTF-16 with a byte order mark)
	ClassExecutable              // native code or bytecode: never accepted
)

func (c Class) String() string {
	switch c {
	case ClassImage:
		return "image"
	case ClassText:
		return "text"
	case ClassExecutable:
		return "executable"
	}
	return "binary"
}

// Detected is the result of sniffing a file's content.
type Detected struct {
	Type  string // MIME type, without parameters
	Class Class
	// Width and Height are an image's dimensions (ClassImage only).
	Width, Height int
	// Format names the executable format (ClassExecutable only).
	Format string
}

// sniffLen is how much of the head is examined.
const sniffLen = 8 << 10

// rasterTypes are the images the server decodes and gives to models.
var rasterTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// IsRaster reports whether mimeType is an image the server reads (PNG,
// JPEG, GIF, WebP).
func IsRaster(mimeType string) bool { return rasterTypes[mimeType] }

// Sniff determines what the size bytes of r are, from the content alone
// (net/http.DetectContentType plus the formats it misses). name is used
// only to choose among equivalent labels for content already known to be
// text (a .md file is text/markdown, a .csv file text/csv) or an Office
// document already known to be a ZIP archive; it never makes binary content
// text or anything an image.
func Sniff(r io.ReaderAt, size int64, name string) (Detected, error) {
	head := make([]byte, min(size, sniffLen))
	if n, err := r.ReadAt(head, 0); err != nil && !(errors.Is(err, io.EOF) && n == len(head)) {
		return Detected{}, err
	}
	d := sniffHead(head, size, name)
	if d.Class == ClassImage {
		cfg, _, err := image.DecodeConfig(io.NewSectionReader(r, 0, size))
		if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
			// The signature says image but the bytes do not decode: a
			// damaged or disguised file.
			return Detected{Type: "application/octet-stream", Class: ClassBinary}, nil
		}
		d.Width, d.Height = cfg.Width, cfg.Height
	}
	return d, nil
}

func sniffHead(head []byte, size int64, name string) Detected {
	if f := executableFormat(head); f != "" {
		return Detected{Type: "application/octet-stream", Class: ClassExecutable, Format: f}
	}
	detected := http.DetectContentType(head)
	mt, params, err := mime.ParseMediaType(detected)
	if err != nil {
		mt = "application/octet-stream"
	}
	ext := strings.ToLower(strings.TrimPrefix(path.Ext(name), "."))
	switch {
	case rasterTypes[mt]:
		return Detected{Type: mt, Class: ClassImage}
	case isHEIF(head):
		return Detected{Type: heifType(head), Class: ClassBinary}
	case mt == "application/zip":
		if t, ok := zipTypes[ext]; ok {
			return Detected{Type: t, Class: ClassBinary}
		}
		return Detected{Type: mt, Class: ClassBinary}
	case isTar(head):
		return Detected{Type: "application/x-tar", Class: ClassBinary}
	case strings.HasPrefix(mt, "text/"):
		if !looksText(head, params["charset"], size) {
			return Detected{Type: "application/octet-stream", Class: ClassBinary}
		}
		return Detected{Type: textType(mt, head, ext, int64(len(head)) < size), Class: ClassText}
	}
	return Detected{Type: mt, Class: ClassBinary}
}

// executableFormat names the native-code or bytecode format the head
// starts with, or "".
func executableFormat(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x7fELF")):
		return "ELF"
	case bytes.HasPrefix(b, []byte("\x00asm")):
		return "WebAssembly"
	case bytes.HasPrefix(b, []byte("dex\n")):
		return "Dalvik"
	}
	if len(b) >= 4 {
		switch string(b[:4]) {
		case "\xfe\xed\xfa\xce", "\xfe\xed\xfa\xcf", "\xce\xfa\xed\xfe", "\xcf\xfa\xed\xfe":
			return "Mach-O"
		case "\xca\xfe\xba\xbe":
			// Universal Mach-O and Java class files share the magic;
			// both are code. A text file could start with these bytes
			// only if it were not UTF-8, so require binary content.
			if bytes.IndexByte(b[4:min(len(b), 64)], 0) >= 0 {
				return "Mach-O or Java class"
			}
		}
	}
	if bytes.HasPrefix(b, []byte("MZ")) && isPE(b) {
		return "Windows PE"
	}
	return ""
}

// isPE reports an MZ header that is a DOS/Windows program rather than
// text that happens to start with "MZ": the header holds NUL bytes.
func isPE(b []byte) bool {
	if len(b) >= 0x40 {
		off := int(b[0x3c]) | int(b[0x3d])<<8 | int(b[0x3e])<<16 | int(b[0x3f])<<24
		if off > 0 && off+4 <= len(b) && string(b[off:off+4]) == "PE\x00\x00" {
			return true
		}
	}
	return bytes.IndexByte(b[:min(len(b), 64)], 0) >= 0
}

// isHEIF recognises an ISO media file whose brand is HEIC/HEIF.
func isHEIF(b []byte) bool { return heifType(b) != "" }

func heifType(b []byte) string {
	if len(b) < 12 || string(b[4:8]) != "ftyp" {
		return ""
	}
	switch string(b[8:12]) {
	case "heic", "heix", "heim", "heis", "hevc", "hevx":
		return "image/heic"
	case "mif1", "msf1", "heif":
		return "image/heif"
	}
	return ""
}

func isTar(b []byte) bool {
	return len(b) >= 263 && string(b[257:262]) == "ustar"
}

// looksText confirms what DetectContentType guessed from control bytes:
// the head must also be valid UTF-8 (a UTF-16 byte order mark aside) and
// free of NUL bytes.
func looksText(head []byte, charset string, size int64) bool {
	if strings.HasPrefix(strings.ToLower(charset), "utf-16") {
		return len(head)%2 == 0 || int64(len(head)) < size
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return false
	}
	s := head
	if int64(len(head)) < size { // the head may end inside a character
		for i := 0; i < utf8.UTFMax && len(s) > 0 && !utf8.Valid(s); i++ {
			s = s[:len(s)-1]
		}
	}
	return utf8.Valid(s)
}

// textTypes label text content by its file name's extension.
var textTypes = map[string]string{
	"txt": "text/plain", "log": "text/plain", "text": "text/plain",
	"md": "text/markdown", "markdown": "text/markdown",
	"csv": "text/csv", "tsv": "text/tab-separated-values",
	"html": "text/html", "htm": "text/html", "css": "text/css",
	"js": "text/javascript", "mjs": "text/javascript", "cjs": "text/javascript",
	"ts": "application/typescript", "py": "text/x-python", "rb": "text/x-ruby",
	"php": "text/x-php", "java": "text/x-java", "c": "text/x-c", "h": "text/x-h",
	"cpp": "text/x-c++", "cc": "text/x-c++", "cxx": "text/x-c++", "hpp": "text/x-c++",
	"cs": "text/x-csharp", "tex": "text/x-tex", "sh": "application/x-sh",
	"yml": "application/yaml", "yaml": "application/yaml", "sql": "application/sql",
	"xml": "application/xml", "vtt": "text/vtt", "ics": "text/calendar",
	"svg": "image/svg+xml", "eml": "message/rfc822",
}

// zipTypes label ZIP archives by extension (Office and OpenDocument files
// are ZIP archives).
var zipTypes = map[string]string{
	"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	"odt":  "application/vnd.oasis.opendocument.text",
	"ods":  "application/vnd.oasis.opendocument.spreadsheet",
	"odp":  "application/vnd.oasis.opendocument.presentation",
	"odg":  "application/vnd.oasis.opendocument.graphics",
	"epub": "application/epub+zip",
}

// textType labels text content: JSON by its syntax, otherwise by the
// extension, otherwise as DetectContentType did (text/html, text/xml,
// text/plain).
func textType(detected string, head []byte, ext string, truncated bool) string {
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")))
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') && jsonPrefix(trimmed, truncated) {
		return "application/json"
	}
	if t, ok := textTypes[ext]; ok {
		if t == "image/svg+xml" && !bytes.Contains(head, []byte("<svg")) {
			return "text/plain"
		}
		return t
	}
	if detected == "text/xml" && bytes.Contains(head[:min(len(head), 1024)], []byte("<svg")) {
		return "image/svg+xml"
	}
	return detected
}

// jsonPrefix reports whether b is a JSON document, or (truncated) the
// start of one.
func jsonPrefix(b []byte, truncated bool) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return depth == 0 || truncated
		}
		if err != nil {
			return truncated && errors.Is(err, io.ErrUnexpectedEOF)
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
			if depth == 0 {
				// One complete value: nothing may follow it.
				_, err := dec.Token()
				return err == io.EOF
			}
		}
	}
}

// IsTextual reports whether files of mimeType are text the server can
// give a model.
func IsTextual(mimeType string) bool {
	if strings.HasPrefix(mimeType, "text/") {
		return true
	}
	switch mimeType {
	case "application/json", "application/xml", "application/typescript", "application/x-sh",
		"application/yaml", "application/sql", "application/csv", "image/svg+xml", "message/rfc822":
		return true
	}
	return false
}
