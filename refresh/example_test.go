package refresh_test

import (
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/secretsync/secretsync/engine"
	"github.com/secretsync/secretsync/refresh"
)

// An operator serves the endpoint beside its engine, with
// Changed: eng.Changed. Here Changed only prints what it is told.
func Example() {
	h, err := refresh.NewHandler(refresh.Config{
		Changed: func(store engine.StoreKey, key string) int {
			fmt.Println("changed:", store, key)
			return 10
		},
		Token: []byte("from-a-secret"),
	})
	if err != nil {
		panic(err)
	}
	req := httptest.NewRequest("POST", "/refresh", strings.NewReader(`{"store": {"kind": "ClusterSecretStore", "name": "vault"}, "keys": ["app/db"]}`))
	req.Header.Set("Authorization", "Bearer from-a-secret")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())
	// Output:
	// changed: ClusterSecretStore/vault app/db
	// 202 {"refreshed":10}
}
