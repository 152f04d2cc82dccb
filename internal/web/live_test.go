package web

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
)

// TestLiveStreamEndsWhenAccessEnds: an open live stream stops sending a
// project's updates, and ends, once its person may no longer read the
// project: the account disabled, or the customer taken away.
func TestLiveStreamEndsWhenAccessEnds(t *testing.T) {
	t.Parallel()
	for _, change := range []string{"disabled", "customer taken away"} {
		t.Run(change, func(t *testing.T) {
			t.Parallel()
			b := setupMigration(t, 2)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/projects/%d/live", b.tp.srv.URL, b.project.ID), nil)
			u := *req.URL
			u.Scheme = "https"
			for _, ck := range b.partner.http.Jar.Cookies(&u) {
				req.AddCookie(ck)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("live: %v %v", err, res)
			}
			defer res.Body.Close()
			sc := bufio.NewScanner(res.Body)
			for sc.Scan() && !strings.HasPrefix(sc.Text(), "event: update") {
			}
			partner, err := b.tp.app.Store.UserByEmail(ctx, b.partnerEmail)
			if err != nil {
				t.Fatal(err)
			}
			if change == "disabled" {
				_, err = b.tp.auth.SetDisabled(asOperator(ctx), partner.ID, true)
			} else {
				_, err = b.tp.auth.UpdateUser(asOperator(ctx), partner.ID, auth.UserInput{Name: partner.Name, Role: partner.Role, Customers: []int64{b.other.ID}})
			}
			if err != nil {
				t.Fatal(err)
			}
			for sc.Scan() {
			}
			if err := sc.Err(); err != nil {
				t.Fatalf("the stream went on until %v", err)
			}
		})
	}
}
