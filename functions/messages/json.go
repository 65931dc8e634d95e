package messages

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/lcgo/lcgo/shared/wire"
)

// field is one key of a JSON object.
type field struct {
	key   string
	value json.RawMessage
}

// object is a JSON object that keeps its key order, so that editing one
// key of a content part leaves the others where they were.
type object []field

// parseObject decodes a JSON object, keeping key order. A repeated key
// keeps its first position and its last value, as JSON.parse does.
func parseObject(raw json.RawMessage) (object, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, false
	}
	o := object{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, false
		}
		k, ok := kt.(string)
		if !ok {
			return nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		o.set(k, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, false
	}
	return o, true
}

func (o object) get(k string) (json.RawMessage, bool) {
	for _, f := range o {
		if f.key == k {
			return f.value, true
		}
	}
	return nil, false
}

// str returns the string value of k, if it is one.
func (o object) str(k string) (string, bool) {
	v, ok := o.get(k)
	if !ok {
		return "", false
	}
	return stringOf(v)
}

// set replaces the value of k in place, or appends k.
func (o *object) set(k string, v json.RawMessage) {
	for i := range *o {
		if (*o)[i].key == k {
			(*o)[i].value = v
			return
		}
	}
	*o = append(*o, field{k, v})
}

func (o *object) del(k string) {
	out := (*o)[:0]
	for _, f := range *o {
		if f.key != k {
			out = append(out, f)
		}
	}
	*o = out
}

// MarshalJSON writes the keys in their order.
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		b.Write(k)
		b.WriteByte(':')
		if len(f.value) == 0 {
			b.WriteString("null")
		} else {
			b.Write(f.value)
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// mustRaw encodes v as stored JSON (HTML characters left as they are).
func mustRaw(v any) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return json.RawMessage("null")
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// objectOf decodes a JSON object into a wire.Object.
func objectOf(raw json.RawMessage) (wire.Object, bool) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	var o wire.Object
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, false
	}
	return o, true
}

// stringOf returns the value if raw is a JSON string.
func stringOf(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// isString reports whether raw is the JSON string want.
func isString(raw json.RawMessage, want string) bool {
	s, ok := stringOf(raw)
	return ok && s == want
}

// numberOf returns the value if raw is a JSON number.
func numberOf(raw json.RawMessage) (float64, bool) {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, false
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return 0, false
	}
	return f, true
}

// isNull reports whether raw is absent or JSON null.
func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// truthy is JavaScript's truthiness of a JSON value.
func truthy(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	switch s {
	case "", "null", "false", `""`:
		return false
	}
	if f, ok := numberOf(json.RawMessage(s)); ok {
		return f != 0
	}
	return true
}

// arrayOf decodes a JSON array.
func arrayOf(raw json.RawMessage) ([]json.RawMessage, bool) {
	if len(raw) == 0 || raw[0] != '[' {
		return nil, false
	}
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, false
	}
	return a, true
}
