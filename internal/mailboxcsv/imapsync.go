package mailboxcsv

import (
	"fmt"
	"strings"
)

var imapsyncNames = [6]string{"host1", "user1", "password1", "host2", "user2", "password2"}

// parseImapsync reads host1;user1;password1;host2;user2;password2 lines.
// Hosts and users are trimmed of spaces; passwords are taken as written.
func (p *parser) parseImapsync() {
	for i, l := range p.lines {
		line := i + 1
		if skipLine(l) {
			continue
		}
		if !p.countRow(line) {
			return
		}
		f := imapsyncFields(l)
		if len(f) != 6 {
			p.add(line, 0, "", fmt.Sprintf(
				"this line has %d fields separated by ';' but an imapsync line has exactly 6: host1;user1;password1;host2;user2;password2 (a trailing ';' is allowed); "+
					"passwords cannot contain ';' in this format, so for such a password use a CSV file with a header line and the password in double quotes",
				len(f)))
			continue
		}
		c := func(j int) cell {
			v := f[j]
			if j != 2 && j != 5 {
				v = strings.TrimSpace(v)
			}
			return cell{present: true, col: j + 1, field: imapsyncNames[j], value: v, line: line}
		}
		const order = "the fields are host1;user1;password1;host2;user2;password2 in this order"
		src, srcOK := p.side(sideSpec{
			host: c(0), addr: c(1), pass: c(2),
			needHost:  "empty value; every imapsync line needs host1, the source server",
			needAddr:  "empty value; every imapsync line needs user1, the source login",
			loginHint: order,
		})
		dst, dstOK := p.side(sideSpec{
			host: c(3), addr: c(4), pass: c(5),
			needHost:  "empty value; every imapsync line needs host2, the destination server",
			needAddr:  "empty value; every imapsync line needs user2, the destination login",
			loginHint: order,
		})
		p.finishRow(line, src, srcOK, dst, dstOK, true, c(1), c(4))
	}
}
