package blob

import (
	"strings"
	"unicode/utf8"
)

// ContentDisposition returns a Content-Disposition value that makes a
// browser save the response as filename (RFC 6266): `attachment` alone for
// an empty name, `attachment; filename="name"` for a plain ASCII name, and
// for any other name an ASCII fallback in filename plus the exact name in
// filename* (UTF-8, percent-encoded as RFC 8187 asks). Control characters
// are dropped and invalid UTF-8 is replaced. Stores use it for download
// URLs; the API uses it when it streams a file itself.
func ContentDisposition(filename string) string {
	name := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(filename, "\uFFFD"))
	if name == "" {
		return "attachment"
	}
	plain := true
	fallback := make([]byte, 0, len(name))
	for _, r := range name {
		switch {
		case r == '"' || r == '\\' || r == '%':
			plain = false
			fallback = append(fallback, '_')
		case r >= utf8.RuneSelf:
			plain = false
			fallback = append(fallback, '_')
		default:
			fallback = append(fallback, byte(r))
		}
	}
	v := `attachment; filename="` + string(fallback) + `"`
	if plain {
		return v
	}
	return v + "; filename*=UTF-8''" + encodeExtValue(name)
}

// encodeExtValue percent-encodes every byte outside RFC 8187's attr-char.
func encodeExtValue(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAttrChar(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0x0f])
	}
	return b.String()
}

func isAttrChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}
