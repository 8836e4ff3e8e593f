package protocoltest

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
)

// The schemas are written by hand; Drift catches them drifting from the
// Go types: a field added to a struct and not to its schema, or a schema
// property no Go field emits.

// schemaNode is the part of a JSON Schema node Drift compares: an object's
// properties, an array's items, a map's values.
type schemaNode struct {
	Properties           map[string]*schemaNode `json:"properties"`
	Items                *schemaNode            `json:"items"`
	AdditionalProperties json.RawMessage        `json:"additionalProperties"`
	AnyOf                []*schemaNode          `json:"anyOf"`
	OneOf                []*schemaNode          `json:"oneOf"`
}

// shaped returns s, or where s only combines alternatives ("an array or
// null"), the first alternative that describes an object, array or map.
func (s *schemaNode) shaped() *schemaNode {
	if s == nil || s.hasShape() {
		return s
	}
	for _, alt := range append(slices.Clone(s.AnyOf), s.OneOf...) {
		if a := alt.shaped(); a.hasShape() {
			return a
		}
	}
	return s
}

// hasShape reports whether s lists properties, items or a schema for a
// map's values.
func (s *schemaNode) hasShape() bool {
	return s != nil && (s.Properties != nil || s.Items != nil || bytes.HasPrefix(s.AdditionalProperties, []byte("{")))
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// Drift compares the JSON field names that values of v's type emit with
// the properties of the named message's schema, recursively through nested
// structs, slices and maps of them, and returns every difference: a field
// the schema lacks, a property no field emits, a nested struct whose schema
// node lists no properties. Types that marshal themselves (time.Time, peer
// IDs, json.RawMessage) are leaves.
func Drift(name string, v any) ([]string, error) {
	b, err := os.ReadFile(SchemaPath(name))
	if err != nil {
		return nil, fmt.Errorf("read schema %s: %w", name, err)
	}
	var root schemaNode
	if err := json.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("parse schema %s: %w", name, err)
	}
	var problems []string
	driftType(reflect.TypeOf(v), &root, name, &problems)
	return problems, nil
}

// leaf reports whether t encodes itself rather than as its fields.
func leaf(t reflect.Type) bool {
	for _, m := range []reflect.Type{jsonMarshaler, textMarshaler} {
		if t.Implements(m) || reflect.PointerTo(t).Implements(m) {
			return true
		}
	}
	return false
}

// driftType compares type t with schema node s at path.
func driftType(t reflect.Type, s *schemaNode, path string, problems *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	s = s.shaped()
	if s == nil || leaf(t) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		driftStruct(t, s, path, problems)
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 { // []byte is a base64 string
			return
		}
		if s.Items == nil && hasFields(t.Elem()) {
			*problems = append(*problems, fmt.Sprintf("%s: Go type %s is an array of objects, the schema gives no items", path, t))
		}
		driftType(t.Elem(), s.Items, path+"[]", problems)
	case reflect.Map:
		var values schemaNode
		if json.Unmarshal(s.AdditionalProperties, &values) != nil && hasFields(t.Elem()) {
			*problems = append(*problems, fmt.Sprintf("%s: Go type %s is a map of objects, the schema gives no additionalProperties schema", path, t))
			return
		}
		driftType(t.Elem(), &values, path+"{}", problems)
	}
}

// hasFields reports whether t (or what it points to) encodes as a JSON
// object of its fields.
func hasFields(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct && !leaf(t)
}

// driftStruct compares a struct's JSON fields with s's properties.
func driftStruct(t reflect.Type, s *schemaNode, path string, problems *[]string) {
	if s.Properties == nil {
		*problems = append(*problems, fmt.Sprintf("%s: Go type %s has fields, the schema lists no properties", path, t))
		return
	}
	fields := map[string]reflect.Type{}
	jsonFields(t, fields)
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		prop, ok := s.Properties[name]
		if !ok {
			*problems = append(*problems, fmt.Sprintf("%s: Go field %q (%s) is not in the schema", path, name, t))
			continue
		}
		driftType(fields[name], prop, path+"."+name, problems)
	}
	for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
		if _, ok := fields[name]; !ok {
			*problems = append(*problems, fmt.Sprintf("%s: schema property %q is no field of Go type %s", path, name, t))
		}
	}
}

// jsonFields adds the JSON names of t's fields as encoding/json emits
// them, with their types: exported fields not tagged "-", untagged
// embedded structs flattened, a shallower field winning over an embedded
// one of the same name.
func jsonFields(t reflect.Type, out map[string]reflect.Type) {
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct && !leaf(ft) {
			embedded = append(embedded, ft)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	for _, e := range embedded {
		inner := map[string]reflect.Type{}
		jsonFields(e, inner)
		for name, ft := range inner {
			if _, ok := out[name]; !ok {
				out[name] = ft
			}
		}
	}
}
