// Package doppler is the "doppler" store: the secrets of a Doppler config
// read through Doppler's REST API with a plain net/http client,
// configured by the spec.provider.doppler field of a SecretStore,
// schema-compatible with the External Secrets Operator's.
//
// The store names auth.secretRef.dopplerToken, the Secret key holding a
// Doppler token, sent as Authorization: Bearer as Doppler's API reference
// shows. A service token reads its own config, so project and config are
// left out; a personal or service account token needs both. Requests go
// to [DefaultBaseURL] unless [WithBaseURL] says otherwise.
//
// Reads follow the External Secrets Operator's Doppler provider and its
// documented use cases:
//
//   - Fetch: remoteRef.key names a secret, read with
//     GET /v3/configs/config/secret; its computed value is returned,
//     references to other secrets expanded. A property walks a value
//     that is a JSON object.
//   - JSON secret: dataFrom.extract maps the keys of a secret whose value
//     is a JSON object.
//   - Fetch all and Filter: dataFrom.find ([provider.Finder]) downloads
//     every secret of the config with
//     GET /v3/configs/config/secrets/download and keeps those whose name
//     starts with find.path and matches find.name, an RE2 expression.
//     Doppler secrets have no tags; find.tags is refused.
//   - Name transformer: spec.provider.doppler.nameTransformer is passed
//     to the download, and Doppler rewrites the names (API_KEY becomes
//     ApiKey for upper-camel, apiKey for camel, api_key for lower-snake,
//     TF_VAR_api_key for tf-var, api-key for lower-kebab, and
//     SMTP__USER_NAME becomes Smtp__UserName for dotnet-env).
//   - Download: with spec.provider.doppler.format set, find returns one
//     key, [SecretsFileKey], holding the whole document in that format.
//   - remoteRef.version and metadataPolicy Fetch are refused: the API
//     has neither.
//
// A client keeps the last download and its ETag per project, config,
// format and name transformer, and downloads with If-None-Match: an
// unchanged config is answered 304 Not Modified, without a body, and
// the kept document served, so a refresh of an unchanged config costs no
// download. A 429 Too Many Requests is retried after what Retry-After
// asks, within the bounds of [WithRetry].
//
// A missing secret is [provider.ErrNotFound]. Doppler answers 404 for a
// missing project or config too; only a 404 whose message speaks of a
// secret is taken as a missing secret, so that a mistyped config never
// lets deletionPolicy delete a Secret. Other failures (401, 403, 429,
// server errors, an unreachable host) are errors with Doppler's message
// and what to check; errors never carry a value or the token.
//
// Tests run against internal/doppleremu. What that emulator cannot prove:
// the exact messages of Doppler's errors, on which telling a missing
// secret from a missing config relies; that the single-secret endpoint
// answers as its API reference shows (the client also accepts the value
// nested under "secret"); the exact names transformers write for unusual
// names (double underscores, digits) and the exact rendering of the env,
// yaml, docker and dotnet-json formats; how Doppler computes ETags and
// whether a change elsewhere in the workplace changes them; its rate
// limits and the Retry-After values it sends; dynamic secrets,
// inheritance between configs, and TLS.
package doppler
