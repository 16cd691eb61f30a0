// Package onepassemu is a wire-level emulator of the 1Password Connect
// server's REST API, the parts secretsync reads, for tests and examples:
// an httptest server on 127.0.0.1 that answers as the Connect API
// reference describes.
//
// Every request under /v1 must carry Authorization: Bearer with a token
// the server knows ([Token] from the start, others from
// [Server.AddToken]); a missing or unknown token is answered 401 with
// Connect's error shape, {"status": 401, "message": "…"}. A token may be
// scoped to some vaults: listings show only those, and any other vault
// answers 403. A token may be read-only ([Server.AddReadOnlyToken]): its
// writes answer 403. Unknown vaults, items and files answer 404.
//
// Operations (the names [Server.Calls] counts):
//
//   - ListVaults: GET /v1/vaults, with filter=name eq "…".
//   - GetVault: GET /v1/vaults/{vault}.
//   - ListItems: GET /v1/vaults/{vault}/items, with filter=title eq "…"
//     or tag eq "…"; item summaries without fields or files, in creation
//     order.
//   - GetItem: GET /v1/vaults/{vault}/items/{item}, with fields, sections
//     and files (id, name, size, content_path).
//   - ListFiles and GetFile: …/files and …/files/{file}, with
//     inline_files=true adding base64 content.
//   - GetFileContent: …/files/{file}/content, the raw bytes.
//   - CreateItem: POST /v1/vaults/{vault}/items with a FullItem; 200
//     and the item created, with new IDs for it and for fields without
//     one. 400 for a body that is not an item, a category or field type
//     the reference does not list, or a vault.id other than the path's.
//   - UpdateItem: PUT /v1/vaults/{vault}/items/{item} with a FullItem;
//     replaces title, category, tags, sections and fields, keeps files,
//     bumps the version; 200 and the item. 400 as for CreateItem, and
//     for an id other than the path's.
//   - DeleteItem: DELETE /v1/vaults/{vault}/items/{item}; 204.
//   - GET /heartbeat, unauthenticated.
//
// Connect's list endpoints have no pagination, so neither has the
// emulator. Tests arrange state with [Server.AddVault], [Server.PutItem]
// (which replaces an item given its ID, bumping its version),
// [Server.DeleteItem], [Server.DeleteVault], [Server.AddToken],
// [Server.AddReadOnlyToken] and [Server.RevokeToken]; inject failures
// with [Server.Fail]; and assert on [Server.Calls], [Server.Requests]
// and, for writes, [Server.Items].
//
// What it cannot prove, compared with a real Connect server: the exact
// wording of error messages; filters beyond attr eq "value" (and how
// Connect escapes quotes); item categories' built-in fields and sections;
// the order real listings use; that inline_files is honoured as the API
// reference says; how strictly real Connect checks a written item (the
// emulator's 400s are those listed above; it ignores generate, recipes,
// urls and favorite, and any files sent); whether real Connect detects
// concurrent writes (the emulator takes the last); PATCH, which it does
// not serve; Connect's sync with 1Password.com, its caching and its rate
// limits; and TLS.
package onepassemu
