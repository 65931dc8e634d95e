package files

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// CharsPerToken is the estimate used to turn fileTokenLimit into a number
// of characters.
const CharsPerToken = 4

// ExtractText returns the text of a textual file (see IsTextual), at most
// maxChars characters, and whether it was cut. UTF-16 with a byte order
// mark is decoded; a UTF-8 byte order mark is dropped; invalid bytes are
// removed. Other types (PDF, Office, images) give "": the server does not
// parse them.
func ExtractText(r io.Reader, mimeType string, maxChars int) (string, bool, error) {
	if !IsTextual(mimeType) || maxChars <= 0 {
		return "", false, nil
	}
	// UTF-8 needs at most 4 bytes a character, UTF-16 at most 4.
	limit := int64(maxChars)*utf8.UTFMax + 4
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return "", false, err
	}
	cut := int64(len(data)) > limit
	var s string
	switch {
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}):
		s = decodeUTF16(data[2:], binary.LittleEndian)
	case bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		s = decodeUTF16(data[2:], binary.BigEndian)
	default:
		s = strings.ToValidUTF8(string(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))), "")
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\x00", "")
	if n := utf8.RuneCountInString(s); n > maxChars {
		i := 0
		for j := range s {
			if i == maxChars {
				s = s[:j]
				break
			}
			i++
		}
		cut = true
	}
	return s, cut, nil
}

func decodeUTF16(b []byte, order binary.ByteOrder) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = order.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}
