package webhook_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"

	"github.com/secretsync/secretsync/generator"
	"github.com/secretsync/secretsync/generator/webhook"
	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/secretstore"
)

// A Webhook generator calls an endpoint with a Secret's value in a header
// and reads the values from the part of the response its jsonPath selects.
func Example() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer api-key" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"credentials": {"username": "app-7", "password": "n3w-pa55", "ttl": 3600}}`)
	}))
	defer api.Close()

	creds := &fake.Credentials{}
	creds.SetSecret("default", "api-auth", "key", "api-key")
	// A Webhook generator reads only Secrets labelled for it.
	creds.SetSecretLabels("default", "api-auth", map[string]string{webhook.LabelType: webhook.LabelTypeWebhook})

	reg, err := generator.NewRegistry(webhook.New(), webhook.GitHub())
	if err != nil {
		panic(err)
	}
	g, err := reg.For(generators.KindWebhook)
	if err != nil {
		panic(err)
	}
	res, err := g.Generate(context.Background(), &generators.Webhook{Spec: generators.WebhookSpec{
		Method:  http.MethodPost,
		URL:     api.URL + "/credentials",
		Headers: map[string]string{"Authorization": "Bearer {{ .auth.key }}"},
		Result:  generators.WebhookResult{JSONPath: "$.credentials"},
		Secrets: []generators.WebhookSecret{
			{Name: "auth", SecretRef: secretstore.SecretKeySelector{Name: "api-auth", Key: "key"}},
		},
	}}, creds, "default")
	if err != nil {
		panic(err)
	}
	keys := make([]string, 0, len(res.Values))
	for k := range res.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("%s=%s\n", k, res.Values[k])
	}

	// A non-2xx status is an error that names the host, never the body.
	creds.SetSecret("default", "api-auth", "key", "wrong")
	_, err = g.Generate(context.Background(), &generators.Webhook{Spec: generators.WebhookSpec{
		URL:     api.URL,
		Headers: map[string]string{"Authorization": "Bearer {{ .auth.key }}"},
		Secrets: []generators.WebhookSecret{
			{Name: "auth", SecretRef: secretstore.SecretKeySelector{Name: "api-auth", Key: "key"}},
		},
	}}, creds, "default")
	fmt.Println(strings.Replace(err.Error(), strings.TrimPrefix(api.URL, "http://"), "HOST", 1))
	// Output:
	// password=n3w-pa55
	// ttl=3600
	// username=app-7
	// Webhook: GET to host HOST: status 401 Unauthorized
}
