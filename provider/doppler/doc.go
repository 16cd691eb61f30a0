// Package doppler is the "doppler" store: the secrets of a Doppler config
// read through Doppler's REST API with a plain net/http client,
// configured by the spec.provider.doppler field of a SecretStore,
// schema-compatible with the External Secrets Operator's.
//
// The store names auth.secretRef.dopplerToken, the Secret key holding a
// Doppler token, sent as Authorization: Bearer as Doppler's API reference
// shows. A service token reads its own config, so project and config are
// left out; a personal or service account token needs both. The key
// defaults to dopplerToken, as in ESO. With auth.oidcConfig instead, a
// token of the ServiceAccount it names (audiences: the API's URL and
// "secretStore:NAMESPACE:NAME" or "clusterSecretStore:NAME") is exchanged
// at POST /v3/auth/oidc for a token of the Doppler identity named, kept
// until a minute before it expires. Requests go to [DefaultBaseURL]
// unless [WithBaseURL] says otherwise.
//
// Every read downloads the whole config with
// GET /v3/configs/config/secrets/download; the client never asks for one
// secret. The use cases of the External Secrets Operator's Doppler
// provider read it as follows, their manifests unchanged:
//
//   - Fetch: remoteRef.key names a secret, looked up in the config's
//     download in json format with Doppler's own names, whatever the
//     store's nameTransformer and format. Its computed value is
//     returned, references to other secrets expanded. A property walks a
//     value that is a JSON object.
//   - JSON secret: dataFrom.extract maps the keys of a secret whose value
//     is a JSON object, read as a fetch is.
//   - Fetch all and Filter: dataFrom.find ([provider.Finder]) reads the
//     download in the store's format, with its name transformer, and
//     keeps the secrets whose name starts with find.path and matches
//     find.name, an RE2 expression. Doppler secrets have no tags;
//     find.tags is refused.
//   - Name transformer: spec.provider.doppler.nameTransformer is passed
//     to find's download, and Doppler rewrites the names (API_KEY becomes
//     ApiKey for upper-camel, apiKey for camel, api_key for lower-snake,
//     TF_VAR_api_key for tf-var, api-key for lower-kebab, and
//     SMTP__USER_NAME becomes Smtp__UserName for dotnet-env).
//     remoteRef.key and dataFrom.extract take the name as Doppler shows
//     it.
//   - Download: with spec.provider.doppler.format set, find returns one
//     key, [SecretsFileKey], holding the whole document in that format.
//   - remoteRef.version and metadataPolicy Fetch are refused: the API
//     has neither.
//
// So one download of a config serves every fetch, extract and find of a
// store; a store with a name transformer or a format other than json
// needs two, one in Doppler's names for fetch and extract, one as the
// store asks for find. Concurrent reads that need the same download
// share one request. A client keeps the last document of each download
// and its ETag, solely to answer a 304, and downloads with
// If-None-Match: an unchanged config is answered 304 Not Modified,
// without a body, so a refresh of an unchanged config costs a 304 per
// read and no download, and a changed one is downloaded by the first
// read that follows. A 429 Too Many Requests is retried after what
// Retry-After asks, within the bounds of [WithRetry]. A caller that gives
// up leaves a shared request to the others; the last to give up cancels
// it.
//
// A secret absent from a download Doppler answered is
// [provider.ErrNotFound], which deletionPolicy relies on. A failed
// download never is: Doppler answers 404 for a missing project or
// config, a mistake in the store, so a mistyped config never lets
// deletionPolicy delete a Secret. Nor is a remoteRef.key Doppler could
// not name a secret (other than uppercase letters, digits and
// underscores), such as a name written as a transformer writes it: it is
// refused as a mistake in the manifest. Other failures (401, 403, 429,
// server errors, an unreachable host) are errors with Doppler's message
// and what to check; errors never carry a value or the token.
//
// # PushSecret
//
// The client is a [provider.Pusher], as ESO's Doppler provider is. A push
// sets the secret named by the remote key with POST
// /v3/configs/config/secrets and {"secrets": {name: value}}, creating it
// if needed; a delete reads the config's download (usually a 304) and,
// when the secret is there, sends DELETE /v3/configs/config/secret, so
// that a missing secret costs no write and a missing project or config
// is an error, not a deletion. Doppler secrets are plain values: a
// remoteRef.property is refused (ESO ignores it and writes the whole
// secret), as are names Doppler cannot hold and values that are not
// UTF-8; data[].metadata is ignored, as Doppler takes none. Reads return
// computed values, so a value pushed with a reference such as ${OTHER}
// reads back expanded, and the host will see it differ at every compare.
// A 403 to a write says the token may not write: service tokens can be
// read-only.
//
// Tests run against internal/doppleremu. What that emulator cannot prove:
// the exact messages of Doppler's errors; that the download holds
// every secret a single-secret read would return, computed alike (the
// client relies on it and no longer uses the single-secret endpoint);
// that Doppler refuses names outside uppercase letters, digits and
// underscores; the exact names transformers write for unusual names
// (double underscores, digits) and the exact rendering of the env,
// yaml, docker and dotnet-json formats; how Doppler computes ETags and
// whether a change elsewhere in the workplace, or to a secret a
// reference points to in another config, changes them; its rate limits
// and the Retry-After values it sends, and whether a 304 counts against
// them; how Doppler answers a delete (204 or 200) and a delete of a
// secret removed meanwhile; dynamic secrets, inheritance between configs,
// and TLS.
package doppler
