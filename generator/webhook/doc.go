// Package webhook provides the generators that call an HTTP API: [New]
// serves the Webhook kind, which calls any endpoint and reads the values
// from its JSON response, and [GitHub] serves the GithubAccessToken kind,
// which asks GitHub for an App installation token.
//
// Nothing here registers itself; a host lists the generators it serves:
//
//	reg, err := generator.NewRegistry(webhook.New(), webhook.GitHub())
//
// Requests and responses carry secrets: the templates of a Webhook put
// Secret values in the URL, the headers and the body, and responses hold
// what was generated. So errors name the method, the host and the status,
// never the URL (its query may hold a templated value) nor a response
// body; responses are read up to [MaxResponseSize]; and a redirect is
// followed only to the same host without leaving https, at most
// [MaxRedirects] times, since Go would send templated headers on to
// another host.
//
// # Webhook
//
// spec.url, spec.body and each of spec.headers are Go text/template
// templates with option missingkey=error and the functions of the
// template package (sprig's and the External Secrets Operator's). As in
// that operator, the data is a map from each spec.secrets[].name to a map
// from Secret key to value, so a secret named auth whose secretRef names
// key token is {{ .auth.token }}; in spec.url the values are URL
// query-escaped. Unlike the operator, which reads every key of the
// Secret, each entry reads only the key its secretRef names, read with
// the namespace rules of [provider.SecretKey] in the ExternalSecret's
// namespace. As in the operator, a Secret is read only if it is labelled
// external-secrets.io/type=webhook ([LabelType]): without that, whoever
// may create a generator could send any Secret of the namespace to any
// URL. The credentials must be a [provider.SecretLabeler] to check it.
//
// The response must be JSON. spec.result.jsonPath, when set, selects part
// of it; a selected string is parsed as JSON again, as the operator does.
// What is selected must be a JSON object: each of its entries becomes a
// value, strings as they are, null as empty, and numbers, booleans,
// objects and arrays as their JSON text. A call takes at most
// spec.timeout, or [DefaultTimeout] when that is unset or zero. A non-2xx
// response is an error.
//
// jsonPath is JSONPath as the operator reads it (github.com/PaesslerAG/
// jsonpath), limited to the paths that select one value, which are the
// only ones that can select an object there: $ then any of .name,
// ['name'] or ["name"] (for names with dots or spaces; \ escapes a quote)
// and [index], where a negative index counts from the end. Wildcards,
// filters, slices, unions and recursive descent select lists and are
// refused with an error saying so.
//
// # GithubAccessToken
//
// The generator signs a JWT as the App (RS256, issuer spec.appID, valid
// nine minutes from a minute ago) with the private key in
// spec.auth.privateKey.secretRef, PEM, PKCS #1 or PKCS #8, and POSTs it
// to {spec.url}/app/installations/{spec.installID}/access_tokens, with
// spec.repositories and spec.permissions in the body when set. spec.url is
// https://api.github.com when unset; for GitHub Enterprise Server it is
// https://HOST/api/v3. The values are "token" and, as GitHub sends it,
// "expires_at"; the TTL runs to expires_at, or an hour, GitHub's token
// lifetime, when the response has none. The token is not revoked when
// replaced, as the operator does not: revoking needs the token itself,
// which a Result's State may not hold; it expires within the hour.
package webhook
