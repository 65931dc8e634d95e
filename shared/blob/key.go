package blob

import (
	"strings"
	"unicode/utf8"

	"github.com/lcgo/lcgo/shared/librechat"
)

// MaxKeyLen is the longest key in bytes (S3's limit) and MaxSegmentLen the
// longest segment (most file systems' limit on a name).
const (
	MaxKeyLen     = 1024
	MaxSegmentLen = 255
)

// CheckKey reports whether key is acceptable to every Store, as a
// librechat KindInvalid error when it is not. A key is one or more
// slash-separated segments of valid UTF-8, at most MaxKeyLen bytes in all
// and MaxSegmentLen bytes a segment. A segment is never empty (no leading, trailing or doubled slash) and never
// starts with a dot (so "." and ".." are out, and a store may keep its own
// files under dot names); no character is a control character, a backslash
// or one of : * ? " < > | (names that are not portable across file
// systems). Every Store applies the same rule, so a key that works with one
// works with all.
func CheckKey(key string) error {
	switch {
	case key == "":
		return invalidKey("the key is empty")
	case len(key) > MaxKeyLen:
		return invalidKey("the key is longer than %d bytes", MaxKeyLen)
	case !utf8.ValidString(key):
		return invalidKey("the key is not valid UTF-8")
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" {
			return invalidKey("the key %q has an empty segment (a leading, trailing or doubled slash)", key)
		}
		if len(seg) > MaxSegmentLen {
			return invalidKey("a segment of the key is longer than %d bytes", MaxSegmentLen)
		}
		if seg[0] == '.' {
			return invalidKey("a segment of the key %q starts with a dot", key)
		}
		for _, r := range seg {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				return invalidKey("the key %q has a control character", key)
			}
			if strings.ContainsRune(`\:*?"<>|`, r) {
				return invalidKey("the key %q has the character %q", key, r)
			}
		}
	}
	return nil
}

func invalidKey(format string, args ...any) error {
	e := librechat.E(librechat.KindInvalid, format, args...)
	e.Op = "blob.CheckKey"
	return e
}
