package config

import (
	"bytes"
	"encoding/json"
)

// Object is a JSON object that keeps its keys in the order they were set.
// It holds the parts of librechat.yaml that are passed through to the
// client as written (interface, model specs, fileConfig), so the client sees
// the keys in the operator's order.
//
// Values are nil, bool, int64, float64, string, []any, Object, or anything
// else encoding/json can marshal. Copies of an Object share storage: Clone
// before changing one that others may hold.
type Object struct {
	keys []string
	vals map[string]any
}

// NewObject returns an empty, set Object.
func NewObject() Object { return Object{vals: map[string]any{}} }

// IsSet reports whether the Object was given (an empty mapping counts).
func (o Object) IsSet() bool { return o.vals != nil }

// Len is the number of keys.
func (o Object) Len() int { return len(o.keys) }

// Keys returns the keys in order.
func (o Object) Keys() []string { return append([]string(nil), o.keys...) }

// Get returns the value of k.
func (o Object) Get(k string) (any, bool) {
	v, ok := o.vals[k]
	return v, ok
}

// Has reports whether k is present.
func (o Object) Has(k string) bool {
	_, ok := o.vals[k]
	return ok
}

// Bool returns the value of k when it is a bool.
func (o Object) Bool(k string) (bool, bool) {
	b, ok := o.vals[k].(bool)
	return b, ok
}

// String returns the value of k when it is a string.
func (o Object) String(k string) (string, bool) {
	s, ok := o.vals[k].(string)
	return s, ok
}

// Object returns the value of k when it is an Object.
func (o Object) Object(k string) (Object, bool) {
	v, ok := o.vals[k].(Object)
	return v, ok
}

// Set sets k to v, keeping the position of an existing k and appending a
// new one.
func (o *Object) Set(k string, v any) {
	if o.vals == nil {
		o.vals = map[string]any{}
	}
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

// Delete removes k.
func (o *Object) Delete(k string) {
	if _, ok := o.vals[k]; !ok {
		return
	}
	delete(o.vals, k)
	for i, key := range o.keys {
		if key == k {
			o.keys = append(o.keys[:i:i], o.keys[i+1:]...)
			break
		}
	}
}

// Clone returns a deep copy.
func (o Object) Clone() Object {
	if o.vals == nil {
		return Object{}
	}
	c := Object{keys: append([]string(nil), o.keys...), vals: make(map[string]any, len(o.vals))}
	for k, v := range o.vals {
		c.vals[k] = cloneValue(v)
	}
	return c
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case Object:
		return t.Clone()
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = cloneValue(e)
		}
		return out
	}
	return v
}

// MarshalJSON writes the keys in order. An unset Object is written as {}.
func (o Object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		buf.Write(kb)
		buf.WriteByte(':')
		vb, err := json.Marshal(o.vals[k])
		if err != nil {
			return nil, err
		}
		buf.Write(vb)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
