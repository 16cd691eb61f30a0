// Package doppleremu is a wire-level emulator of the parts of Doppler's
// REST API that secretsync reads, for tests and examples: an httptest
// server on 127.0.0.1 that answers as Doppler's API reference describes.
//
// Requests must authenticate with a token the server knows, as a bearer
// token or, as Doppler also accepts, as the user name of HTTP basic auth;
// anything else is answered 401 with Doppler's error shape,
// {"messages": ["Invalid Auth token"], "success": false}. A service token
// ([Server.AddServiceToken]) is bound to one config: requests may leave
// out project and config, and naming another answers 403; a read-only
// one ([Server.AddReadOnlyServiceToken]) answers 403 to writes. The
// personal token, [PersonalToken], must name both.
//
// Operations (the names [Server.Calls] counts):
//
//   - "me": GET /v3/me, the token's type.
//   - "oidc": POST /v3/auth/oidc, {"identity": …, "token": …} exchanged
//     for a token bound to the identity's config, when the identity is
//     known ([Server.AddOIDCIdentity]) and the token is a JWT its key
//     verifies, unexpired, with its audience and subject.
//   - "secret": GET /v3/configs/config/secret?name=…, answering
//     {"name": …, "value": {"raw": …, "computed": …, "note": …}}, where
//     computed expands ${NAME} references to the config's other secrets.
//     A missing secret or config answers 404, a name Doppler cannot hold
//     400.
//   - "download": GET /v3/configs/config/secrets/download, in the format
//     json (the default), dotnet-json, env, env-no-quotes, yaml or
//     docker, with name_transformer applied and, optionally, only the
//     secrets listed. Every answer carries an ETag over the document;
//     a request whose If-None-Match matches is answered 304 with no body.
//   - "update": POST /v3/configs/config/secrets with a JSON body naming
//     project and config (or neither, for a service token) and either
//     "secrets", names to string values, or "change_requests" (name,
//     originalName, value, shouldDelete), never both. It answers 200 with
//     {"secrets": {name: {"raw", "computed", "note"}}, "success": true}
//     for every secret of the config, and 400 for a name Doppler cannot
//     hold, a value that is not a string, or both or neither of secrets
//     and change_requests.
//   - "delete": DELETE /v3/configs/config/secret?name=…, answering 204
//     with no body, or 404 for a secret the config does not have.
//
// Doppler's read endpoints have no pagination, so neither has the
// emulator. [Server.Throttle] makes the next requests fail with 429 and a
// Retry-After header; [Server.Calls] and [Server.CallsWithStatus] count
// requests, such as downloads answered 304; [Server.Secrets] shows what
// writes left; [Server.Hold] keeps requests
// waiting until released, and [Server.Held] counts them, so a test can
// see how many requests concurrent callers send.
//
// What it cannot prove, compared with Doppler: the exact wording of its
// error messages; the exact names its transformers write for unusual
// names and the exact rendering of formats other than json; how it
// computes ETags; its real rate limits and Retry-After values; config
// inheritance, branch configs, dynamic secrets, secret visibility and
// notes; whether a delete is answered 204 or 200, and 404 for a missing
// secret; whether an update accepts null values in "secrets", and the
// checks it makes of originalValue and the other change_requests fields,
// which the emulator ignores; and TLS. Of OIDC login it cannot prove Doppler's real checks of a
// token's issuer and claims, nor its token lifetimes.
package doppleremu
