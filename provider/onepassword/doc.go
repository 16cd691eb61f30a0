// Package onepassword is the "onepassword" store: 1Password items read
// through a 1Password Connect server's REST API, with a plain net/http
// client, configured by the spec.provider.onepassword field of a
// SecretStore, schema-compatible with the External Secrets Operator's.
//
// The store names the Connect host, the vaults to read with their
// priorities (lowest first) and auth.secretRef.connectTokenSecretRef, the
// Secret key holding a Connect access token, sent as a bearer token. A
// client resolves each vault name to its ID once, on first use, with
// GET /v1/vaults?filter=name eq "…", and keeps it; [provider.Validator]
// lists the vaults in one request, checks that the token sees every vault
// named, and fills the same cache. A vault that answers 404 is looked up
// again once, so one recreated under its name is found.
//
// Reads follow the External Secrets Operator's 1Password (Connect)
// provider:
//
//   - remoteRef.key is an item's title (or its ID). The vaults are
//     searched by priority and the first that has the item wins; two
//     items with the title in one vault are an error.
//   - remoteRef.property is a field's label, or, for items of category
//     DOCUMENT, a file's name; "field/label" and "file/name" choose
//     explicitly for any item. Labels are matched whole, dots included;
//     two fields with one label are an error.
//   - Without a property, a document reads its first file and any other
//     item its field labelled "password".
//   - dataFrom.extract maps a document's files by name, or an item's
//     labelled fields by label.
//   - dataFrom.find ([provider.Finder]) with path, the External Secrets
//     Operator's form: path is the title items must have, tags are tags
//     they must all have, and name is an RE2 expression for field labels
//     and file names, which are the keys; the first value found for a
//     key, by vault priority and then listing order, wins.
//   - dataFrom.find without path selects items instead: name is an RE2
//     expression for titles (unanchored, like every find.name), and tags
//     are tags they must all have; one of the two is required. Each item
//     gives one key, its title, holding its value without a property (a
//     document's first file, another item's "password" field); items
//     without one are left out. A title is read from the first vault, by
//     priority, that has it selected; two selected items with one title
//     in one vault are an error. Only the items selected are read.
//   - metadataPolicy Fetch reads the item's ID, title, vault, category,
//     tags, version and times as a JSON object.
//   - remoteRef.version is refused: Connect reads no past versions.
//
// An item is read with GET /v1/vaults/{vault}/items?filter=title eq "…"
// and GET /v1/vaults/{vault}/items/{item}; an item with files adds one
// GET …/files?inline_files=true, falling back to each file's
// content_path for any file the listing left without content. A find
// lists each vault once, filtered by title (with path) or by the first
// tag, checks the rest of its selection on the listing, and reads only
// the items it selects; without path, only a document's files are read.
//
// A missing item, field or file is [provider.ErrNotFound]. Everything
// else (a vault the token cannot see, 401 and 403 answers, server
// errors, an unreachable host) is another error, naming the item and
// vault and, for 401 and 403, what to check; errors never carry a value,
// a file's content or the token.
//
// # PushSecret
//
// The client is a [provider.Pusher], as the External Secrets Operator's
// Connect provider is. A push writes the field whose label is the
// property ("password" without one; "field/label" names a field
// explicitly) of the item titled by the remote key, found as reads find
// it: an item that exists is read and sent back whole with PUT
// /v1/vaults/{vault}/items/{item}, that field's value set or a
// CONCEALED field added, everything else as Connect sent it; otherwise
// POST /v1/vaults/{vault}/items creates a SERVER item with that one
// CONCEALED field in the store's first vault by priority. data[].metadata
// is ESO's PushSecretMetadata (apiVersion
// kubernetes.external-secrets.io/v1alpha1) with spec.tags, which replace
// the item's tags, and spec.vault, one of the store's vaults, to create
// the item in instead; any other field is an error naming it. Files
// cannot be written through Connect: a "file/" property, a property of a
// DOCUMENT without "field/", and a value that is not UTF-8 are refused.
// A delete removes the item (DELETE …/items/{item}) or, with a property,
// that field (PUT), and the item when no field nor file is left. A write
// the token may not make answers 403, reported as such.
//
// Tests run against internal/onepassemu. What that emulator cannot prove:
// the exact messages and any status codes Connect gives beyond those its
// API reference documents; SCIM filters beyond attr eq "value" (how
// Connect treats quotes in a title); that real Connect honours
// inline_files on the files listing (the fallback covers a server that
// does not); the order of listings; Connect's caching of and latency to
// 1Password.com, so that an item just written may read back stale (ESO
// polls after a write; the host here reads back on its next pass); how
// strictly real Connect checks a written item; item categories' built-in
// fields; and TLS to the host.
package onepassword
