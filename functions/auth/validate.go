package auth

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The checks mirror LibreChat's register and login schemas; failures are
// reported as "<field>: <message>" joined by spaces, as the Node server does.

var injection = regexp.MustCompile(`('|--|\$ne|\$gt|\$lt|\$or|\{|\}|\*|;|<|>|/|=)`)

var usernameScripts = []*unicode.RangeTable{
	unicode.Latin, unicode.Common, unicode.Cyrillic, unicode.Devanagari, unicode.Han,
	unicode.Arabic, unicode.Hiragana, unicode.Katakana, unicode.Hangul,
}

type issues []string

func (is *issues) add(field, format string, args ...any) {
	*is = append(*is, field+": "+fmt.Sprintf(format, args...))
}

func (is issues) String() string { return strings.Join(is, " ") }

func checkEmail(is *issues, email string) {
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || !strings.Contains(email[strings.LastIndex(email, "@")+1:], ".") {
		is.add("email", "Invalid email")
	}
}

func checkPassword(is *issues, field, pw string, min int) {
	n := utf8.RuneCountInString(pw)
	if n < min {
		is.add(field, "String must contain at least %d character(s)", min)
	}
	if n > 128 {
		is.add(field, "String must contain at most 128 character(s)")
	}
	if n > 0 && strings.TrimSpace(pw) == "" {
		is.add(field, "Password cannot be only spaces")
	}
}

func checkLength(is *issues, field, v string, min, max int) {
	n := utf8.RuneCountInString(v)
	if n < min {
		is.add(field, "String must contain at least %d character(s)", min)
	} else if n > max {
		is.add(field, "String must contain at most %d character(s)", max)
	}
}

func checkUsername(is *issues, v string) {
	if v == "" {
		return
	}
	checkLength(is, "username", v, 2, 80)
	for _, r := range v {
		if !unicode.In(r, usernameScripts...) && !strings.ContainsRune("_.@#$%&*()", r) {
			is.add("username", "Invalid characters in username")
			break
		}
	}
	if injection.MatchString(strings.ToLower(v)) {
		is.add("username", "Potential injection attack detected")
	}
}
