package files

import (
	"net/url"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxNameBytes bounds a stored file name.
const maxNameBytes = 255

// SanitizeFilename turns the name a client sent into the display name kept
// on the record: percent-decoded (the LibreChat client sends
// encodeURIComponent(name)), any directory part removed (either slash),
// control and bidirectional-override characters dropped, surrounding space
// trimmed, at most 255 bytes (the extension kept). Names that end up empty
// or are "." or ".." become "file". The name is for display only: storage
// keys never contain it.
func SanitizeFilename(name string) string {
	if dec, err := url.PathUnescape(name); err == nil {
		name = dec
	}
	name = strings.ToValidUTF8(name, "")
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base("/" + name)
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || isBidiControl(r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "" || name == "." || name == ".." || name == "/" {
		return "file"
	}
	if len(name) > maxNameBytes {
		ext := path.Ext(name)
		if len(ext) > 32 {
			ext = ""
		}
		stem := name[:len(name)-len(ext)]
		cut := maxNameBytes - len(ext)
		for cut > 0 && !utf8.RuneStart(stem[cut]) {
			cut--
		}
		name = stem[:cut] + ext
	}
	return name
}

// isBidiControl reports the characters that reorder displayed text (used
// to disguise an extension, as in "photo\u202egnp.exe").
func isBidiControl(r rune) bool {
	switch {
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return false
}

// claimsImage reports whether a name or a declared type says image.
func claimsImage(name, declared string) bool {
	switch strings.ToLower(strings.TrimPrefix(path.Ext(name), ".")) {
	case "png", "jpg", "jpeg", "jpe", "jfif", "gif", "webp", "bmp", "tif", "tiff", "heic", "heif", "avif", "ico":
		return true
	}
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(declared)), "image/")
}
