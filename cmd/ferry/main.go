package main

import (
	_ "github.com/emersion/go-imap/v2"
	_ "github.com/emersion/go-imap/v2/imapclient"
	_ "github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	_ "github.com/emersion/go-sasl"
	_ "github.com/spf13/cobra"
	_ "modernc.org/sqlite"
)

func main() {}
