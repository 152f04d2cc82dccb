package mailboxcsv

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/ferryhq/ferry/internal/imapconn"
)

func TestParseHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []Row
	}{
		{
			name: "minimal",
			in:   "source,destination\nalice@old.example,alice@new.example\nbob@old.example,robert@new.example\n",
			want: []Row{
				{Line: 2, Source: Side{Address: "alice@old.example"}, Destination: Side{Address: "alice@new.example"}},
				{Line: 3, Source: Side{Address: "bob@old.example"}, Destination: Side{Address: "robert@new.example"}},
			},
		},
		{
			name: "BOM, CRLF and no final newline",
			in:   "\ufeffsource,destination\r\nalice@old.example,alice@new.example",
			want: []Row{{Line: 2, Source: Side{Address: "alice@old.example"}, Destination: Side{Address: "alice@new.example"}}},
		},
		{
			name: "semicolon header as written by European Excel",
			in:   "\ufeffSource;Destination;Source Password\nalice@old.example;alice@new.example;a,b\n",
			want: []Row{{Line: 2, Source: Side{Address: "alice@old.example", Password: "a,b"}, Destination: Side{Address: "alice@new.example"}}},
		},
		{
			name: "tab separated with an empty optional value",
			in:   "source\tdestination\tsource password\tdestination password\nalice\talice@new.example\t\tpw 2\n",
			want: []Row{{Line: 2, Source: Side{Address: "alice"}, Destination: Side{Address: "alice@new.example", Password: "pw 2"}}},
		},
		{
			name: "aliases, case and separators in names",
			in:   "From,TO,Source_Login,destination-username,FROM PASSWORD,to password,Source Server,to host\na@old,b@new,alogin,blogin,p1,p2,imap.old,imap.new\n",
			want: []Row{{Line: 2,
				Source:      Side{Address: "a@old", Login: "alogin", Password: "p1", Host: "imap.old"},
				Destination: Side{Address: "b@new", Login: "blogin", Password: "p2", Host: "imap.new"}}},
		},
		{
			name: "address aliases and quoted header names",
			in:   "\"Source Email\",\"Destination Address\"\na@old,b@new\n",
			want: []Row{{Line: 2, Source: Side{Address: "a@old"}, Destination: Side{Address: "b@new"}}},
		},
		{
			name: "mailbox aliases in another column order",
			in:   "destination mailbox,source mailbox\nb@new,a@old\n",
			want: []Row{{Line: 2, Source: Side{Address: "a@old"}, Destination: Side{Address: "b@new"}}},
		},
		{
			name: "hosts, ports and URLs",
			in: "source,destination,source host,destination host\n" +
				"a@old,a@new,imap.old.example,imap.new.example:1143\n" +
				"b@old,b@new,imaps://imap.old.example,IMAP://imap.new.example:143/\n" +
				"c@old,c@new,[2001:db8::1]:993,2001:db8::2\n" +
				"d@old,d@new,[2001:db8::3],192.0.2.7:10143\n" +
				"e@old,e@new,mail_1.exämple.de,\n",
			want: []Row{
				{Line: 2, Source: Side{Address: "a@old", Host: "imap.old.example"}, Destination: Side{Address: "a@new", Host: "imap.new.example", Port: 1143}},
				{Line: 3, Source: Side{Address: "b@old", Host: "imap.old.example", Scheme: "imaps"}, Destination: Side{Address: "b@new", Host: "imap.new.example", Port: 143, Scheme: "imap"}},
				{Line: 4, Source: Side{Address: "c@old", Host: "2001:db8::1", Port: 993}, Destination: Side{Address: "c@new", Host: "2001:db8::2"}},
				{Line: 5, Source: Side{Address: "d@old", Host: "2001:db8::3"}, Destination: Side{Address: "d@new", Host: "192.0.2.7", Port: 10143}},
				{Line: 6, Source: Side{Address: "e@old", Host: "mail_1.exämple.de"}, Destination: Side{Address: "e@new"}},
			},
		},
		{
			name: "quoting: commas, quotes and spaces in passwords",
			in: "source,destination,source password,destination password\n" +
				"a@old,a@new,\"p,w\",\"say \"\"hi\"\"\"\n" +
				"b@old, b@new , \" spaced \",  trimmed  \n" +
				"\"c@old\",\"c@new\",\"multi;sep\tx\",\n",
			want: []Row{
				{Line: 2, Source: Side{Address: "a@old", Password: "p,w"}, Destination: Side{Address: "a@new", Password: `say "hi"`}},
				{Line: 3, Source: Side{Address: "b@old", Password: " spaced "}, Destination: Side{Address: "b@new", Password: "trimmed"}},
				{Line: 4, Source: Side{Address: "c@old", Password: "multi;sep\tx"}, Destination: Side{Address: "c@new"}},
			},
		},
		{
			name: "comments, blank and empty rows are skipped; line numbers stay",
			in: "# mailboxes for ACME\n\nsource,destination\n" +
				"# the boss first\n" +
				"boss@old,boss@new\n" +
				"   \n" +
				",\n" +
				"  # indented comment\n" +
				"x@old,x@new,\n" + // a trailing empty field is tolerated
				",,,\n",
			want: []Row{
				{Line: 5, Source: Side{Address: "boss@old"}, Destination: Side{Address: "boss@new"}},
				{Line: 9, Source: Side{Address: "x@old"}, Destination: Side{Address: "x@new"}},
			},
		},
		{
			name: "old Mac line endings",
			in:   "source,destination\ra@old,a@new\rb@old,b@new\r",
			want: []Row{
				{Line: 2, Source: Side{Address: "a@old"}, Destination: Side{Address: "a@new"}},
				{Line: 3, Source: Side{Address: "b@old"}, Destination: Side{Address: "b@new"}},
			},
		},
		{
			name: "empty login means the address; empty unnamed column is fine",
			in:   "source,source login,,destination\na@old,,,a@new\nDOMAIN\\b,b.login,,b@new\n",
			want: []Row{
				{Line: 2, Source: Side{Address: "a@old"}, Destination: Side{Address: "a@new"}},
				{Line: 3, Source: Side{Address: `DOMAIN\b`, Login: "b.login"}, Destination: Side{Address: "b@new"}},
			},
		},
		{
			name: "same address on different servers is not a duplicate",
			in:   "source,source host,destination\nadmin,a.example,admin-a@new\nadmin,b.example,admin-b@new\nAdmin,b.example:1993,admin-b2@new\n",
			want: []Row{
				{Line: 2, Source: Side{Address: "admin", Host: "a.example"}, Destination: Side{Address: "admin-a@new"}},
				{Line: 3, Source: Side{Address: "admin", Host: "b.example"}, Destination: Side{Address: "admin-b@new"}},
				{Line: 4, Source: Side{Address: "Admin", Host: "b.example", Port: 1993}, Destination: Side{Address: "admin-b2@new"}},
			},
		},
		{
			name: "six header fields separated by ';' are a header, not imapsync",
			in:   "source;destination;source password;destination password;source host;destination host\na;b;;;h1;h2\n",
			want: []Row{{Line: 2, Source: Side{Address: "a", Host: "h1"}, Destination: Side{Address: "b", Host: "h2"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rows, format, err := Parse("mailboxes.csv", strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if format != Header {
				t.Errorf("format = %v, want %v", format, Header)
			}
			if !reflect.DeepEqual(rows, tt.want) {
				t.Errorf("rows:\n got %+v\nwant %+v", rows, tt.want)
			}
		})
	}
}

func TestParseImapsync(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []Row
	}{
		{
			name: "imapsync example with trailing semicolons",
			in: "# host1;user1;password1;host2;user2;password2\n" +
				"mail.old.example;titi;secret1;mail.new.example;titi;secret2;\n" +
				"mail.old.example;tata;secret3;mail.new.example;tata;secret4;\n",
			want: []Row{
				{Line: 2, Source: Side{Address: "titi", Password: "secret1", Host: "mail.old.example"}, Destination: Side{Address: "titi", Password: "secret2", Host: "mail.new.example"}},
				{Line: 3, Source: Side{Address: "tata", Password: "secret3", Host: "mail.old.example"}, Destination: Side{Address: "tata", Password: "secret4", Host: "mail.new.example"}},
			},
		},
		{
			name: "ports, URLs, CRLF, passwords with commas, quotes and spaces",
			in: "old.example:143;alice@old.example;p,w\"1 ;imaps://new.example;alice@new.example; pw2\r\n" +
				"\r\n" +
				"  old.example:1993 ; bob ;;new.example;bob@new.example;\r\n",
			want: []Row{
				{Line: 1, Source: Side{Address: "alice@old.example", Password: "p,w\"1 ", Host: "old.example", Port: 143}, Destination: Side{Address: "alice@new.example", Password: " pw2", Host: "new.example", Scheme: "imaps"}},
				{Line: 3, Source: Side{Address: "bob", Host: "old.example", Port: 1993}, Destination: Side{Address: "bob@new.example", Host: "new.example"}},
			},
		},
		{
			name: "BOM",
			in:   "\ufeffh1;u1;p1;h2;u2;p2",
			want: []Row{{Line: 1, Source: Side{Address: "u1", Password: "p1", Host: "h1"}, Destination: Side{Address: "u2", Password: "p2", Host: "h2"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rows, format, err := Parse("file.txt", strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if format != Imapsync {
				t.Errorf("format = %v, want %v", format, Imapsync)
			}
			if !reflect.DeepEqual(rows, tt.want) {
				t.Errorf("rows:\n got %+v\nwant %+v", rows, tt.want)
			}
		})
	}
}

const accepted = "source, destination, source login, destination login, source password, destination password, source host, destination host"

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		format Format
		want   []string // every Error().String(), in order
	}{
		{
			name: "empty file",
			in:   "",
			want: []string{"mailboxes.csv line 1: no mailboxes listed; expected a header line such as `source,destination` or imapsync lines host1;user1;password1;host2;user2;password2"},
		},
		{
			name: "only comments, blank lines and a BOM",
			in:   "\ufeff# nothing yet\n\n  \n",
			want: []string{"mailboxes.csv line 1: no mailboxes listed; expected a header line such as `source,destination` or imapsync lines host1;user1;password1;host2;user2;password2"},
		},
		{
			name: "header without rows",
			in:   "# list\nsource;destination\n",
			want: []string{"mailboxes.csv line 2: no mailboxes listed below the header; add one line per mailbox, e.g. `alice@old.example;alice@new.example`"},
		},
		{
			name: "unknown columns",
			in:   "source,Notes,destination,Quota\na,n,b,1\n",
			want: []string{
				`mailboxes.csv line 1, column 2 (Notes): unknown column; the accepted columns are ` + accepted + ` (names are case-insensitive, "from"/"to" may replace "source"/"destination", and docs/csv-format.md lists all aliases)`,
				`mailboxes.csv line 1, column 4 (Quota): unknown column; the accepted columns are ` + accepted + ` (names are case-insensitive, "from"/"to" may replace "source"/"destination", and docs/csv-format.md lists all aliases)`,
			},
		},
		{
			name: "missing required columns",
			in:   "source password,destination password\nx,y\n",
			want: []string{
				"mailboxes.csv line 1: the header has no source column; add one named source (or source address, source email, source mailbox, from, from address, from email, from mailbox)",
				"mailboxes.csv line 1: the header has no destination column; add one named destination (or destination address, destination email, destination mailbox, to, to address, to email, to mailbox)",
			},
		},
		{
			name: "column given twice",
			in:   "from,destination,Source Email\na,b,c\n",
			want: []string{"mailboxes.csv line 1, column 3 (Source Email): the source column is already given in column 1 (from); remove one of them"},
		},
		{
			name: "no header",
			in:   "alice@old.example,alice@new.example,hunter2\n",
			want: []string{"mailboxes.csv line 1: expected a header line naming the columns, but none of its fields is a column name; start the file with a header line such as `source,destination`; the accepted columns are " + accepted},
		},
		{
			name: "imapsync line with a wrong field count first",
			in:   "old;alice;pw;new;alice\n",
			want: []string{"mailboxes.csv line 1: expected a header line naming the columns, but none of its fields is a column name; start the file with a header line such as `source,destination`; the accepted columns are " + accepted +
				"; or, for imapsync lines, give exactly 6 fields host1;user1;password1;host2;user2;password2 (this line has 5)"},
		},
		{
			name: "empty required values",
			in:   "source,destination\n,b@new\na@old,  \n",
			want: []string{
				"mailboxes.csv line 2, column 1 (source): empty value; every row needs a source address",
				"mailboxes.csv line 3, column 2 (destination): empty value; every row needs a destination address",
			},
		},
		{
			name: "too few fields",
			in:   "source,destination,source password\na@old,a@new\n",
			want: []string{"mailboxes.csv line 2: this row has 2 fields but the header on line 1 has 3 columns; give a value for every column, separated by ',' (optional values may be empty)"},
		},
		{
			name: "too many fields: unquoted comma in a password",
			in:   "source;destination;source password\na@old;a@new;pa;ss\n",
			want: []string{`mailboxes.csv line 2: this row has 4 fields but the header on line 1 has 3 columns; enclose a value that contains ';' (passwords often do) in double quotes, e.g. "pa;ss"`},
		},
		{
			name: "too few fields, tab separated",
			in:   "source\tdestination\na@old\n",
			want: []string{"mailboxes.csv line 2: this row has 1 field but the header on line 1 has 2 columns; give a value for every column, separated by a tab (optional values may be empty)"},
		},
		{
			name: "value in an unnamed column",
			in:   "source,,destination\na,x,b\n",
			want: []string{"mailboxes.csv line 2, column 2 (unnamed column): this column has no name in the header on line 1; name it there (the accepted columns are " + accepted + ") or leave the value out"},
		},
		{
			name: "addresses",
			in: "source,destination\n" +
				"a@b@old,@new\n" +
				"x@,al ice@new\n" +
				"\"tab\tbed\",ok@new\n",
			want: []string{
				"mailboxes.csv line 2, column 1 (source): contains more than one '@'; write a single address such as alice@example.com",
				"mailboxes.csv line 2, column 2 (destination): nothing before the '@'; write a full address such as alice@example.com",
				"mailboxes.csv line 3, column 1 (source): nothing after the '@'; write a full address such as alice@example.com",
				"mailboxes.csv line 3, column 2 (destination): contains a space; an address or login such as alice@example.com has none",
				"mailboxes.csv line 4, column 1 (source): contains a control character (such as a tab); remove it",
			},
		},
		{
			name: "login with a control character",
			in:   "source,destination,destination login\na,b,\"x\ty\"\n",
			want: []string{"mailboxes.csv line 2, column 3 (destination login): contains a control character (such as a tab); remove it"},
		},
		{
			name: "hosts",
			in: "source,destination,source host,destination host\n" +
				"a1,b1,imaps://h:99999,h:0\n" +
				"a2,b2,h:abc,h:\n" +
				"a3,b3,https://h,imap://alice@h\n" +
				"a4,b4,imaps://h/INBOX,imap://\n" +
				"a5,b5,h h,h!x\n" +
				"a6,b6,alice@h,:993\n" +
				"a7,b7,fe80::1::2,[nope]\n" +
				"a8,b8,h\u00a0x,h:+993\n",
			want: []string{
				"mailboxes.csv line 2, column 3 (source host): the port is out of range; use a port from 1 to 65535",
				"mailboxes.csv line 2, column 4 (destination host): the port is out of range; use a port from 1 to 65535",
				"mailboxes.csv line 3, column 3 (source host): the port is not a number; use a port from 1 to 65535 (write host, host:port, imap://host:143 (STARTTLS) or imaps://host:993 (TLS))",
				"mailboxes.csv line 3, column 4 (destination host): no port after ':'; write host, host:port, imap://host:143 (STARTTLS) or imaps://host:993 (TLS)",
				"mailboxes.csv line 4, column 3 (source host): unknown URL scheme; write host, host:port, imap://host:143 (STARTTLS) or imaps://host:993 (TLS)",
				"mailboxes.csv line 4, column 4 (destination host): the host column names only the server, not who logs in; put the login in a destination login column",
				"mailboxes.csv line 5, column 3 (source host): a server URL has no path or query; write host, host:port, imap://host:143 (STARTTLS) or imaps://host:993 (TLS)",
				"mailboxes.csv line 5, column 4 (destination host): no host name; write host, host:port, imap://host:143 (STARTTLS) or imaps://host:993 (TLS)",
				"mailboxes.csv line 6, column 3 (source host): contains a space; write host, host:port, imap://host:143 (STARTTLS) or imaps://host:993 (TLS)",
				"mailboxes.csv line 6, column 4 (destination host): contains '!', which a host name cannot; write host, host:port, imap://host:143 (STARTTLS) or imaps://host:993 (TLS)",
				"mailboxes.csv line 7, column 3 (source host): contains '@', but a host is a server name such as imap.example.com; put the login in a source login column",
				"mailboxes.csv line 7, column 4 (destination host): no host name before the port; write host, host:port, imap://host:143 (STARTTLS) or imaps://host:993 (TLS)",
				"mailboxes.csv line 8, column 3 (source host): not a valid host (too many ':'); write host, host:port, imap://host:143 (STARTTLS) or imaps://host:993 (TLS), with an IPv6 address in brackets: [2001:db8::1]:993",
				"mailboxes.csv line 8, column 4 (destination host): not a valid IPv6 address between [ ]; write host, host:port, imap://host:143 (STARTTLS) or imaps://host:993 (TLS)",
				"mailboxes.csv line 9, column 3 (source host): contains a space; write host, host:port, imap://host:143 (STARTTLS) or imaps://host:993 (TLS)",
				"mailboxes.csv line 9, column 4 (destination host): the port is not a number; use a port from 1 to 65535 (write host, host:port, imap://host:143 (STARTTLS) or imaps://host:993 (TLS))",
			},
		},
		{
			name: "duplicate source and destination, case-insensitive",
			in: "source,destination\n" +
				"alice@old.example,alice@new.example\n" +
				"bob@old.example,shared@new.example\n" +
				"ALICE@old.example,alice2@new.example\n" +
				"carol@old.example,Shared@New.Example\n",
			want: []string{
				`mailboxes.csv line 4, column 1 (source): source "ALICE@old.example" is already listed on line 2; list each source mailbox once (remove one of the two lines)`,
				`mailboxes.csv line 5, column 2 (destination): destination "Shared@New.Example" is already the destination on line 3; two sources into one destination mailbox is almost always a mistake, so give each row its own destination`,
			},
		},
		{
			name: "duplicates name the server when the row gives one",
			in:   "source,destination,destination host\na,x,imap.new:1143\nb,X,imap.new:1143\n",
			want: []string{`mailboxes.csv line 3, column 2 (destination): destination "X" on imap.new:1143 is already the destination on line 2; two sources into one destination mailbox is almost always a mistake, so give each row its own destination`},
		},
		{
			name: "bare quote",
			in:   "source,destination,source password\na@old,a@new,pa\"ss\nb@old,b@new,\n",
			want: []string{`mailboxes.csv line 2, character 15: a double quote (") inside a value that does not start with one; enclose the whole value in double quotes and double the quote inside it, e.g. "pa""ss"`},
		},
		{
			name: "text after a closing quote, position in characters",
			in:   "source,destination\n\"ä\"x,b\nc,\"d\" \n",
			want: []string{
				`mailboxes.csv line 2, character 3: unexpected text (even a space) after the closing double quote of a quoted value; a quoted value must end right before the separator or the end of the line, and a double quote inside it must be doubled ("")`,
				`mailboxes.csv line 3, character 5: unexpected text (even a space) after the closing double quote of a quoted value; a quoted value must end right before the separator or the end of the line, and a double quote inside it must be doubled ("")`,
			},
		},
		{
			name: "quote never closed",
			in:   "source,destination,source password\na@old,a@new,ok\nb@old,b@new,\"secret\nc@old,c@new,x\n",
			want: []string{`mailboxes.csv line 3: a double quote opened on this line is never closed, so the rest of the file was read as one value; add the missing closing double quote (a double quote inside a quoted value is written "")`},
		},
		{
			name: "quote closed on a later line",
			in:   "source,destination,source password\na@old,a@new,\"x\nb@old,b@new,\"\n",
			want: []string{"mailboxes.csv line 2, column 3 (source password): the value runs on to line 3, so a double quote is missing or extra here; a quoted value must be closed on the line where it starts"},
		},
		{
			name: "syntax error in the header stops",
			in:   "source,dest\"ination\na,b\n",
			want: []string{`mailboxes.csv line 1, character 12: a double quote (") inside a value that does not start with one; enclose the whole value in double quotes and double the quote inside it, e.g. "pa""ss"`},
		},
		{
			name: "not UTF-8",
			in:   "source,destination,source password\nj\xf6rg@old,j@new,p\xe4ss\n",
			want: []string{
				"mailboxes.csv line 2, column 1 (source): not valid UTF-8; save the file with UTF-8 encoding (in Excel: Save As > CSV UTF-8)",
				"mailboxes.csv line 2, column 3 (source password): not valid UTF-8; save the file with UTF-8 encoding (in Excel: Save As > CSV UTF-8)",
			},
		},
		{
			name: "UTF-16",
			in:   "\xff\xfes\x00o\x00",
			want: []string{"mailboxes.csv line 1: the file is encoded as UTF-16; save it as UTF-8 instead (in Excel: Save As > CSV UTF-8)"},
		},
		{
			name: "NUL byte",
			in:   "source,destination\na,b\x00\n",
			want: []string{"mailboxes.csv line 2: contains a NUL byte, so this is not a UTF-8 text file (UTF-16 perhaps); save the list as UTF-8 text"},
		},
		{
			name:   "imapsync field count",
			format: Imapsync,
			in:     "h1;u1;p1;h2;u2;p2;\nh1;u3;p;3;h2;u4;p4\nh1;u5;p5;h2;u6\n",
			want: []string{
				"mailboxes.csv line 2: this line has 7 fields separated by ';' but an imapsync line has exactly 6: host1;user1;password1;host2;user2;password2 (a trailing ';' is allowed); passwords cannot contain ';' in this format, so for such a password use a CSV file with a header line and the password in double quotes",
				"mailboxes.csv line 3: this line has 5 fields separated by ';' but an imapsync line has exactly 6: host1;user1;password1;host2;user2;password2 (a trailing ';' is allowed); passwords cannot contain ';' in this format, so for such a password use a CSV file with a header line and the password in double quotes",
			},
		},
		{
			name:   "imapsync values",
			format: Imapsync,
			in: "h1;u1;p1;h2;u2;p2\n" +
				";;;;;x\n" +
				"alice@old;h1;p;h2:99999;a@@b;p\n" +
				"h1;u1;p;h2;u9;p\n" +
				"h1;u8;p;h2;U2;p\n",
			want: []string{
				"mailboxes.csv line 2, column 1 (host1): empty value; every imapsync line needs host1, the source server",
				"mailboxes.csv line 2, column 2 (user1): empty value; every imapsync line needs user1, the source login",
				"mailboxes.csv line 2, column 4 (host2): empty value; every imapsync line needs host2, the destination server",
				"mailboxes.csv line 2, column 5 (user2): empty value; every imapsync line needs user2, the destination login",
				"mailboxes.csv line 3, column 1 (host1): contains '@', but a host is a server name such as imap.example.com; the fields are host1;user1;password1;host2;user2;password2 in this order",
				"mailboxes.csv line 3, column 4 (host2): the port is out of range; use a port from 1 to 65535",
				"mailboxes.csv line 3, column 5 (user2): contains more than one '@'; write a single address such as alice@example.com",
				`mailboxes.csv line 4, column 2 (user1): source "u1" on h1 is already listed on line 1; list each source mailbox once (remove one of the two lines)`,
				`mailboxes.csv line 5, column 5 (user2): destination "U2" on h2 is already the destination on line 1; two sources into one destination mailbox is almost always a mistake, so give each row its own destination`,
			},
		},
		{
			name:   "imapsync URL host with a user",
			format: Imapsync,
			in:     "imaps://u1@h1;u1;p1;h2;u2;p2\n",
			want:   []string{"mailboxes.csv line 1, column 1 (host1): the host column names only the server, not who logs in; the fields are host1;user1;password1;host2;user2;password2 in this order"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rows, format, err := Parse("mailboxes.csv", strings.NewReader(tt.in))
			if rows != nil {
				t.Errorf("rows = %+v, want none on error", rows)
			}
			if format != tt.format {
				t.Errorf("format = %v, want %v", format, tt.format)
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err = %v (%T), want Errors", err, err)
			}
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
				if e.File != "mailboxes.csv" || e.Line < 1 {
					t.Errorf("bad File/Line in %#v", e)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.want, "\n     "))
			}
			if len(errs) == 1 && err.Error() != tt.want[0] {
				t.Errorf("Error() = %q, want the single message", err.Error())
			}
		})
	}
}

func TestErrorFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want Error
	}{
		{"field", "source,destination\na@old,\n", Error{File: "x.csv", Line: 2, Column: 2, Field: "destination", Msg: "empty value; every row needs a destination address"}},
		{"whole line", "source,destination\na@old\n", Error{File: "x.csv", Line: 2, Msg: "this row has 1 field but the header on line 1 has 2 columns; give a value for every column, separated by ',' (optional values may be empty)"}},
		{"syntax", "source,destination\nab\"c,d\n", Error{File: "x.csv", Line: 2, Column: 3, Msg: `a double quote (") inside a value that does not start with one; enclose the whole value in double quotes and double the quote inside it, e.g. "pa""ss"`}},
		{"header", "source,destination,x\n", Error{File: "x.csv", Line: 1, Column: 3, Field: "x", Msg: "unknown column; the accepted columns are " + accepted + ` (names are case-insensitive, "from"/"to" may replace "source"/"destination", and docs/csv-format.md lists all aliases)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := Parse("x.csv", strings.NewReader(tt.in))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want an *Error inside", err)
			}
			if *e != tt.want {
				t.Errorf("got  %#v\nwant %#v", *e, tt.want)
			}
		})
	}
}

func TestErrorsListing(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, 20, 21, 22, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			b.WriteString("source,destination\n")
			for i := range n {
				fmt.Fprintf(&b, "u%d@old,\n", i)
			}
			_, _, err := Parse("m.csv", strings.NewReader(b.String()))
			var errs Errors
			if !errors.As(err, &errs) || len(errs) != n {
				t.Fatalf("got %d errors (%v), want %d", len(errs), err, n)
			}
			lines := strings.Split(err.Error(), "\n")
			if want := min(n, MaxListed); len(lines) != want+boolInt(n > MaxListed) {
				t.Fatalf("Error() has %d lines, want %d:\n%s", len(lines), want, err)
			}
			if lines[0] != "m.csv line 2, column 2 (destination): empty value; every row needs a destination address" {
				t.Errorf("first line = %q", lines[0])
			}
			last := lines[len(lines)-1]
			switch {
			case n == MaxListed+1 && last != "and 1 more problem":
				t.Errorf("last line = %q", last)
			case n > MaxListed+1 && last != fmt.Sprintf("and %d more problems", n-MaxListed):
				t.Errorf("last line = %q", last)
			case n <= MaxListed && last != fmt.Sprintf("m.csv line %d, column 2 (destination): empty value; every row needs a destination address", n+1):
				t.Errorf("last line = %q", last)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestErrorWithoutFileName(t *testing.T) {
	t.Parallel()
	e := &Error{Line: 3, Column: 1, Field: "source", Msg: "m"}
	if got := e.Error(); got != "line 3, column 1 (source): m" {
		t.Errorf("got %q", got)
	}
	if got := (&Error{File: "f", Msg: "m"}).Error(); got != "f: m" {
		t.Errorf("got %q", got)
	}
}

func TestReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	_, _, err := Parse("m.csv", iotest.ErrReader(boom))
	if !errors.Is(err, boom) || err.Error() != "reading m.csv: boom" {
		t.Errorf("err = %v", err)
	}
}

func TestFormatString(t *testing.T) {
	t.Parallel()
	for f, want := range map[Format]string{Header: "CSV with header", Imapsync: "imapsync lines", 7: "Format(7)"} {
		if got := f.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(f), got, want)
		}
	}
}

// TestNoPasswordInErrors feeds lists whose every password is distinctive and
// mostly misplaced, and checks that no message repeats one.
func TestNoPasswordInErrors(t *testing.T) {
	t.Parallel()
	secrets := []string{"Hunter2!xyz", "S3cr3t;Pw", "pa,ss\"word", "Tr0ub4dor&3", "j\xf6rgPass"}
	inputs := []string{
		// passwords in a header-less file
		"alice@old,alice@new,Hunter2!xyz,Tr0ub4dor&3\n",
		// wrong field counts
		"source,destination,source password\na,b,S3cr3t;Pw,extra\nc,d\n",
		"source;destination;source password\na;b;S3cr3t;Pw\n",
		"source,destination,source password\na,b,pa,ss\"word\n",
		// passwords in the host or address columns (columns in the wrong order)
		"source,destination,source host,destination password\nHunter2!xyz,Tr0ub4dor&3,Tr0ub4dor&3,x\n",
		"source,destination,source password,destination host\na@old,a@new,ok,Hunter2!xyz\n",
		"source,destination,source host\nHunter2!xyz@x@y,a@b,Tr0ub4dor&3:12\n",
		// broken quoting around passwords
		"source,destination,source password\na,b,\"pa,ss\"word\"\n",
		"source,destination,source password\na,b,\"Hunter2!xyz\nc,d,Tr0ub4dor&3\n",
		"source,destination,source password\na,b,Hunter2\"!xyz\n",
		// non-UTF-8 password
		"source,destination,source password\na,b,j\xf6rgPass\n",
		// imapsync lines with misplaced passwords
		"Hunter2!xyz;u1;p;h2;u2;p2\n",
		"h1;u1;S3cr3t;Pw;h2;u2;Tr0ub4dor&3\n",
		"h1;u1;Hunter2!xyz;h2;u2\n",
		"h1;Hunter2!xyz;u1;Tr0ub4dor&3:x;u2;p\n",
		// duplicates with passwords
		"source,destination,source password\na,b,Hunter2!xyz\na,b,Hunter2!xyz\n",
	}
	for i, in := range inputs {
		_, _, err := Parse("m.csv", strings.NewReader(in))
		if err == nil {
			t.Errorf("input %d: no error", i)
			continue
		}
		msg := err.Error()
		for _, s := range secrets {
			for _, part := range []string{s, s[:len(s)/2+2]} {
				if strings.Contains(msg, part) {
					t.Errorf("input %d: message contains password fragment %q:\n%s", i, part, msg)
				}
			}
		}
	}
}

func TestEndpoint(t *testing.T) {
	t.Parallel()
	from, err := imapconn.ParseURL("imaps://admin@old.example:1993")
	if err != nil {
		t.Fatal(err)
	}
	from.Password = "cmdline"
	plain, err := imapconn.ParseURL("imap://old.example")
	if err != nil {
		t.Fatal(err)
	}
	actAs := from
	actAs.ActAs = "someone"
	tests := []struct {
		name string
		side Side
		base imapconn.Endpoint
		want imapconn.Endpoint
	}{
		{"address replaces the URL user", Side{Address: "alice@old.example"}, from,
			imapconn.Endpoint{Host: "old.example", Port: 1993, Security: imapconn.SecurityTLS, User: "alice@old.example", Password: "cmdline"}},
		{"login and password win", Side{Address: "alice@old.example", Login: "alice", Password: "row"}, from,
			imapconn.Endpoint{Host: "old.example", Port: 1993, Security: imapconn.SecurityTLS, User: "alice", Password: "row"}},
		{"host only keeps the URL's scheme and port", Side{Address: "a", Host: "other.example"}, from,
			imapconn.Endpoint{Host: "other.example", Port: 1993, Security: imapconn.SecurityTLS, User: "a", Password: "cmdline"}},
		{"port 143 means STARTTLS", Side{Address: "a", Host: "h", Port: 143}, from,
			imapconn.Endpoint{Host: "h", Port: 143, Security: imapconn.SecurityStartTLS, User: "a", Password: "cmdline"}},
		{"port 993 means TLS", Side{Address: "a", Host: "h", Port: 993}, plain,
			imapconn.Endpoint{Host: "h", Port: 993, Security: imapconn.SecurityTLS, User: "a"}},
		{"other port keeps the scheme", Side{Address: "a", Host: "h", Port: 1143}, plain,
			imapconn.Endpoint{Host: "h", Port: 1143, Security: imapconn.SecurityStartTLS, User: "a"}},
		{"URL scheme sets the default port", Side{Address: "a", Host: "h", Scheme: "imap"}, from,
			imapconn.Endpoint{Host: "h", Port: 143, Security: imapconn.SecurityStartTLS, User: "a", Password: "cmdline"}},
		{"URL scheme and port", Side{Address: "a", Host: "h", Scheme: "imaps", Port: 10993}, plain,
			imapconn.Endpoint{Host: "h", Port: 10993, Security: imapconn.SecurityTLS, User: "a"}},
		{"no command line: imaps on 993", Side{Address: "a", Host: "h", Password: "p"}, imapconn.Endpoint{},
			imapconn.Endpoint{Host: "h", Port: 993, Security: imapconn.SecurityTLS, User: "a", Password: "p"}},
		{"no host anywhere", Side{Address: "a"}, imapconn.Endpoint{},
			imapconn.Endpoint{User: "a"}},
		{"act-as: the address is the mailbox acted for", Side{Address: "alice@old.example"}, actAs,
			imapconn.Endpoint{Host: "old.example", Port: 1993, Security: imapconn.SecurityTLS, User: "admin", ActAs: "alice@old.example", Password: "cmdline"}},
		{"row password replaces an OAuth2 token", Side{Address: "a", Password: "p"}, imapconn.Endpoint{Host: "h", Port: 993, OAuth2Token: "tok"},
			imapconn.Endpoint{Host: "h", Port: 993, User: "a", Password: "p"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.side.Endpoint(tt.base); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		"source,destination\na@old,a@new\n",
		"\ufeffSource;Destination;Source Password\na;b;\"p;w\"\n",
		"source\tdestination\tsource host\na\tb\timaps://h:993\n",
		"h1;u1;p1;h2;u2;p2;\n",
		"source,destination\n\"a\nb\",c\n",
		"source,destination\n\"a,b\n",
		"source,destination,source host\na,b,[::1]:99999\na,b,h\n",
		"x,y\n",
		"source,,destination\na,,b\n",
		"\r\r\r",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rows, format, err := Parse("f.csv", strings.NewReader(in))
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("err = %v (%T), want non-empty Errors", err, err)
			}
			if len(errs) > MaxErrors+1 {
				t.Fatalf("%d problems kept, over MaxErrors and the count of the rest", len(errs))
			}
			for _, e := range errs {
				if e.Line < 1 || e.Column < 0 || e.Msg == "" || e.File != "f.csv" {
					t.Fatalf("bad error %#v", e)
				}
			}
			_ = err.Error()
			return
		}
		if len(rows) == 0 {
			t.Fatal("no rows and no error")
		}
		for _, r := range rows {
			if r.Line < 1 || r.Source.Address == "" || r.Destination.Address == "" {
				t.Fatalf("bad row %+v", r)
			}
			for _, s := range []Side{r.Source, r.Destination} {
				if s.Port < 0 || s.Port > 65535 || (s.Port != 0 && s.Host == "") || (s.Scheme != "" && s.Scheme != "imap" && s.Scheme != "imaps") {
					t.Fatalf("bad side %+v", s)
				}
			}
		}
		if format != Header && format != Imapsync {
			t.Fatalf("format %v", format)
		}
	})
}
