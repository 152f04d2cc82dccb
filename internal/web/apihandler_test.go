package web

import (
	"net/http"

	"github.com/ferryhq/ferry/internal/api"
	"github.com/ferryhq/ferry/internal/app"
)

func apiHandler(a *app.App) http.Handler {
	return api.NewWithOptions(a.Service, a.Store, api.Options{Engagements: a.Engagements, Customers: a.Customers, DNS: a.DNS})
}
