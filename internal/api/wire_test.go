package api

import (
	"reflect"
	"slices"
	"testing"

	"github.com/ferryhq/ferry/internal/engagements"
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

// TestReportRecordsAreTheAPIsTypes: the engagement report's JSON (one
// format for the API, the portal's download and the command line) holds
// its records in the engagements package's types; each has exactly the
// fields of the API type the Report schema refers to.
func TestReportRecordsAreTheAPIsTypes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ report, api any }{
		{engagements.ReportEngagement{}, Engagement{}},
		{engagements.ReportCustomer{}, Customer{}},
		{engagements.ReportPerson{}, Assignment{}},
		{engagements.ReportTask{}, EngagementTask{}},
		{engagements.ReportChecklistItem{}, ChecklistItem{}},
		{engagements.ReportIssue{}, PostMigrationIssue{}},
		{engagements.ReportEvent{}, ScheduledEvent{}},
	} {
		r, a := reflect.TypeOf(tc.report), reflect.TypeOf(tc.api)
		if got, want := jsonFields(r), jsonFields(a); !slices.Equal(got, want) {
			t.Errorf("%s has %v, the API's %s %v", r, got, a.Name(), want)
		}
	}
}
