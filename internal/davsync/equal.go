package davsync

import (
	"sort"
	"strings"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"

	"github.com/ferryhq/ferry/internal/dav"
)

// ignoredProps are rewritten by servers or by Ferry on the way and say
// nothing about the person's data.
var ignoredProps = map[string]bool{"PRODID": true}

// ignoredParams: SCHEDULE-AGENT is set by Ferry (see noScheduling);
// SCHEDULE-STATUS is the destination's own bookkeeping.
var ignoredParams = map[string]bool{"SCHEDULE-AGENT": true, "SCHEDULE-STATUS": true}

// Equal reports whether two objects hold the same data once parsed:
// property order, line folding, parameter order and the case of names
// do not matter (servers re-serialize what they store).
func Equal(a, b dav.Object) bool {
	return Canonical(a) == Canonical(b)
}

// Canonical is a stable text form of an object's parsed data, for
// comparison and for showing a difference.
func Canonical(o dav.Object) string {
	if o.Cal != nil {
		return canonicalComp(o.Cal.Component)
	}
	if o.Card != nil {
		return canonicalCard(o.Card)
	}
	return ""
}

func canonicalComp(c *ical.Component) string {
	var lines []string
	for name, props := range c.Props {
		if ignoredProps[strings.ToUpper(name)] {
			continue
		}
		for _, p := range props {
			lines = append(lines, canonicalProp(name, p.Value, p.Params))
		}
	}
	sort.Strings(lines)
	var children []string
	for _, ch := range c.Children {
		children = append(children, canonicalComp(ch))
	}
	sort.Strings(children)
	return "BEGIN:" + strings.ToUpper(c.Name) + "\n" + strings.Join(lines, "") + strings.Join(children, "") + "END:" + strings.ToUpper(c.Name) + "\n"
}

func canonicalCard(card vcard.Card) string {
	var lines []string
	for name, fields := range card {
		if ignoredProps[strings.ToUpper(name)] {
			continue
		}
		for _, f := range fields {
			full := name
			if f.Group != "" {
				full = f.Group + "." + name
			}
			lines = append(lines, canonicalProp(full, f.Value, map[string][]string(f.Params)))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "")
}

func canonicalProp(name, value string, params map[string][]string) string {
	var ps []string
	for k, vs := range params {
		k = strings.ToUpper(k)
		if ignoredParams[k] {
			continue
		}
		var vals []string
		for _, v := range vs {
			// TYPE=HOME,VOICE and TYPE=home;TYPE=voice are one thing.
			if k != "TYPE" {
				vals = append(vals, v)
				continue
			}
			for _, part := range strings.Split(v, ",") {
				vals = append(vals, strings.ToUpper(part))
			}
		}
		sort.Strings(vals)
		ps = append(ps, k+"="+strings.Join(vals, ","))
	}
	sort.Strings(ps)
	return strings.ToUpper(name) + ";" + strings.Join(ps, ";") + ":" + value + "\n"
}
