package waves_test

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/waves"
)

// TestPictures: the graph and the timeline are well-formed SVG, one circle
// per mailbox drawn, addresses escaped, the suggested cut drawn dashed.
func TestPictures(t *testing.T) {
	t.Parallel()
	perms := "Mailbox,User,AccessRights\na@contoso.com,b@contoso.com,FullAccess\nb@contoso.com,\"x<script>@contoso.com\",SendAs\nb@contoso.com:\\Calendar,c@contoso.com,Editor\n"
	ps, err := waves.ParsePermissions("p.csv", strings.NewReader(perms))
	if err != nil {
		t.Fatal(err)
	}
	mbs := []waves.Mailbox{{Address: "a@contoso.com"}, {Address: "b@contoso.com"}, {Address: "c@contoso.com"}, {Address: "x<script>@contoso.com"}, {Address: "solo@contoso.com"}}
	every, _ := waves.ParseEvery("Fri 18:00", time.UTC)
	plan, err := waves.Make(mbs, ps, waves.Options{MaxPerWave: 3, Start: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Every: every})
	if err != nil {
		t.Fatal(err)
	}
	for name, svg := range map[string]string{"graph": plan.GraphSVG(), "timeline": plan.TimelineSVG()} {
		if strings.Contains(svg, "<script>") {
			t.Errorf("%s: address not escaped", name)
		}
		d := xml.NewDecoder(strings.NewReader(svg))
		counts := map[string]int{}
		for {
			tok, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: not well-formed: %v\n%s", name, err, svg)
			}
			if se, ok := tok.(xml.StartElement); ok {
				counts[se.Name.Local]++
			}
		}
		switch name {
		case "graph":
			if counts["circle"] != 4 || !strings.Contains(svg, `stroke="#000" stroke-width="1.2" stroke-dasharray="2 2"`) {
				t.Errorf("graph: %v circles, the calendar cut dashed? %s", counts, svg)
			}
		case "timeline":
			if counts["rect"] != len(plan.Waves) {
				t.Errorf("timeline: %d bars for %d waves", counts["rect"], len(plan.Waves))
			}
		}
	}
}
