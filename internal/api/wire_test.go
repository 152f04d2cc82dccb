package api

import (
	"reflect"
	"testing"
)

// TestNoStoreRowOnTheWire: no type the API reads or writes is, embeds or
// holds a store row (internal/store), however deep: a column added to the
// store never changes the wire format.
func TestNoStoreRowOnTheWire(t *testing.T) {
	t.Parallel()
	const storePkg = "github.com/ferryhq/ferry/internal/store"
	for _, types := range []map[string]any{schemaTypes, engagementSchemaTypes} {
		for name, v := range types {
			seen := map[reflect.Type]bool{}
			var walk func(tp reflect.Type, path string)
			walk = func(tp reflect.Type, path string) {
				if seen[tp] {
					return
				}
				seen[tp] = true
				if tp.PkgPath() == storePkg {
					t.Errorf("schema %s: %s is a store type (%s): give the API its own type", name, path, tp)
					return
				}
				switch tp.Kind() {
				case reflect.Pointer, reflect.Slice, reflect.Array:
					walk(tp.Elem(), path+"[]")
				case reflect.Map:
					walk(tp.Key(), path+"{key}")
					walk(tp.Elem(), path+"{}")
				case reflect.Struct:
					for i := range tp.NumField() {
						f := tp.Field(i)
						if f.IsExported() && f.Tag.Get("json") != "-" {
							walk(f.Type, path+"."+f.Name)
						}
					}
				}
			}
			walk(reflect.TypeOf(v), name)
		}
	}
}
