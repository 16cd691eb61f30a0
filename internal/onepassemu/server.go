package onepassemu

import (
	"crypto/rand"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Token is the Connect access token every Server knows from the start. It
// may read every vault.
const Token = "onepassemu-connect-token"

// Server is a running emulator. Create it with [New] and stop it with
// [Server.Close]. Its methods are safe for concurrent use.
type Server struct {
	// URL is the Connect host, such as http://127.0.0.1:1234: what a
	// store's spec.provider.onepassword.connectHost names.
	URL string

	srv *httptest.Server

	mu       sync.Mutex
	vaults   map[string]*vault // by ID
	tokens   map[string]*scope
	calls    map[string]int
	requests []Request
	failures map[string]*failure
	now      func() time.Time
	seq      int
}

type scope struct {
	vaults   map[string]bool // vault names; nil for all
	readOnly bool            // may read its vaults, not write them
}

type failure struct {
	status int
	n      int
}

type vault struct {
	id, name string
	created  time.Time
	items    map[string]*item // by ID
}

type item struct {
	Item
	// sectionIDs keeps the IDs a client gave the sections it wrote, by
	// label, so that they read back as written.
	sectionIDs map[string]string
	vaultID    string
	seq        int // creation order, which listings follow
	version    int
	created    time.Time
	updated    time.Time
}

// Item is a 1Password item as tests write it.
type Item struct {
	// ID is the item's ID. Empty makes [Server.PutItem] create an item
	// with a new ID; an existing ID replaces that item.
	ID string
	// Title is the item's title, which a remoteRef.key names.
	Title string
	// Category is LOGIN, PASSWORD, DOCUMENT and so on; empty means LOGIN.
	Category string
	Tags     []string
	Fields   []Field
	Files    []File
}

// Field is one field of an item.
type Field struct {
	// ID is the field's ID; empty gets one.
	ID    string
	Label string
	Value string
	// Type is STRING, CONCEALED and so on; empty means STRING.
	Type string
	// Purpose is USERNAME, PASSWORD, NOTES or empty.
	Purpose string
	// Section is the label of the section the field is in, if any.
	Section string
}

// File is one file of an item, such as the file of a DOCUMENT.
type File struct {
	// ID is the file's ID; empty gets one.
	ID      string
	Name    string
	Content []byte
}

// Request is one request the server answered, for tests that check what
// a client asked: which operation, on which vault and item, with which
// filter, and the status.
type Request struct {
	// Op is the operation, such as "ListVaults" or "GetItem".
	Op string
	// Vault is the vault ID in the path, if any.
	Vault string
	// Item is the item ID in the path, if any.
	Item string
	// Filter is the filter query parameter, if any.
	Filter string
	// Status is the HTTP status of the answer.
	Status int
}

// New starts a Server on 127.0.0.1. It has no vaults and knows [Token].
func New() *Server {
	s := &Server{
		vaults:   map[string]*vault{},
		tokens:   map[string]*scope{Token: {}},
		calls:    map[string]int{},
		failures: map[string]*failure{},
		now:      time.Now,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /heartbeat", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("."))
	})
	mux.HandleFunc("GET /v1/vaults", s.op("ListVaults", s.listVaults))
	mux.HandleFunc("GET /v1/vaults/{vault}", s.op("GetVault", s.getVault))
	mux.HandleFunc("GET /v1/vaults/{vault}/items", s.op("ListItems", s.listItems))
	mux.HandleFunc("POST /v1/vaults/{vault}/items", s.op("CreateItem", s.createItem))
	mux.HandleFunc("GET /v1/vaults/{vault}/items/{item}", s.op("GetItem", s.getItem))
	mux.HandleFunc("PUT /v1/vaults/{vault}/items/{item}", s.op("UpdateItem", s.updateItem))
	mux.HandleFunc("DELETE /v1/vaults/{vault}/items/{item}", s.op("DeleteItem", s.deleteItem))
	mux.HandleFunc("GET /v1/vaults/{vault}/items/{item}/files", s.op("ListFiles", s.listFiles))
	mux.HandleFunc("GET /v1/vaults/{vault}/items/{item}/files/{file}", s.op("GetFile", s.getFile))
	mux.HandleFunc("GET /v1/vaults/{vault}/items/{item}/files/{file}/content", s.op("GetFileContent", s.getFileContent))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "Not found")
	})
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// AddVault creates a vault and returns its ID.
func (s *Server) AddVault(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := &vault{id: newID(), name: name, created: s.now(), items: map[string]*item{}}
	s.vaults[v.id] = v
	return v.id
}

// VaultID returns the ID of the vault name, or "" if there is none.
func (s *Server) VaultID(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.vaultByName(name); v != nil {
		return v.id
	}
	return ""
}

func (s *Server) vaultByName(name string) *vault {
	for _, v := range s.vaults {
		if v.name == name {
			return v
		}
	}
	return nil
}

// DeleteVault deletes the vault name and its items.
func (s *Server) DeleteVault(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.vaultByName(name); v != nil {
		delete(s.vaults, v.id)
	}
}

// AddToken makes an access token known that may read the vaults named,
// or every vault when none are named.
func (s *Server) AddToken(token string, vaults ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := &scope{}
	if len(vaults) > 0 {
		sc.vaults = map[string]bool{}
		for _, v := range vaults {
			sc.vaults[v] = true
		}
	}
	s.tokens[token] = sc
}

// AddReadOnlyToken makes an access token known that may read the vaults
// named, or every vault when none are named, and write none: its writes
// answer 403, as for a token given read access only.
func (s *Server) AddReadOnlyToken(token string, vaults ...string) {
	s.AddToken(token, vaults...)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token].readOnly = true
}

// RevokeToken makes a token unknown, as revoking it in 1Password does.
func (s *Server) RevokeToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, token)
}

// PutItem creates or replaces an item in the vault named and returns its
// ID. Replacing bumps the item's version. It panics if the vault does not
// exist, a mistake in the test.
func (s *Server) PutItem(vaultName string, it Item) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.vaultByName(vaultName)
	if v == nil {
		panic("onepassemu: no vault " + vaultName)
	}
	now := s.now()
	s.seq++
	stored := &item{Item: it, vaultID: v.id, seq: s.seq, version: 1, created: now, updated: now}
	if stored.ID == "" {
		stored.ID = newID()
	} else if old, ok := v.items[stored.ID]; ok {
		stored.version = old.version + 1
		stored.created = old.created
		stored.seq = old.seq
	}
	if stored.Category == "" {
		stored.Category = "LOGIN"
	}
	stored.Tags = append([]string(nil), it.Tags...)
	stored.Fields = append([]Field(nil), it.Fields...)
	for i := range stored.Fields {
		if stored.Fields[i].ID == "" {
			stored.Fields[i].ID = newID()
		}
		if stored.Fields[i].Type == "" {
			stored.Fields[i].Type = "STRING"
		}
	}
	stored.Files = append([]File(nil), it.Files...)
	for i := range stored.Files {
		if stored.Files[i].ID == "" {
			stored.Files[i].ID = newID()
		}
		stored.Files[i].Content = append([]byte(nil), it.Files[i].Content...)
	}
	v.items[stored.ID] = stored
	return stored.ID
}

// Items returns copies of the items of the vault named, in creation
// order, with their IDs, for tests that check what a client wrote.
func (s *Server) Items(vaultName string) []Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.vaultByName(vaultName)
	if v == nil {
		return nil
	}
	items := make([]*item, 0, len(v.items))
	for _, it := range v.items {
		items = append(items, it)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].seq < items[j].seq })
	out := make([]Item, 0, len(items))
	for _, it := range items {
		c := it.Item
		c.Tags = append([]string(nil), it.Tags...)
		c.Fields = append([]Field(nil), it.Fields...)
		c.Files = make([]File, len(it.Files))
		for i, f := range it.Files {
			c.Files[i] = File{ID: f.ID, Name: f.Name, Content: append([]byte(nil), f.Content...)}
		}
		out = append(out, c)
	}
	return out
}

// DeleteItem deletes an item.
func (s *Server) DeleteItem(vaultName, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.vaultByName(vaultName); v != nil {
		delete(v.items, id)
	}
}

// Fail makes the next n requests of op, such as "GetItem", fail with
// status and a Connect error body.
func (s *Server) Fail(op string, status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[op] = &failure{status: status, n: n}
}

// Calls returns how many requests reached op, such as "ListVaults",
// whatever their outcome.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// CallCounts returns the requests per operation since the start or the
// last [Server.ResetCalls].
func (s *Server) CallCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// Requests returns every request answered since the start or the last
// [Server.ResetCalls], in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ResetCalls forgets the counts and requests so far.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
	s.requests = nil
}

// statusWriter remembers the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// op counts a request, authenticates it, applies injected failures and
// records it.
func (s *Server) op(name string, h func(w http.ResponseWriter, r *http.Request, sc *scope)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			s.mu.Lock()
			s.requests = append(s.requests, Request{Op: name, Vault: r.PathValue("vault"), Item: r.PathValue("item"), Filter: r.URL.Query().Get("filter"), Status: sw.status})
			s.mu.Unlock()
		}()
		s.mu.Lock()
		s.calls[name]++
		f := s.failures[name]
		fail := 0
		if f != nil && f.n > 0 {
			f.n--
			fail = f.status
		}
		s.mu.Unlock()

		sc, ok := s.authenticate(r)
		if !ok {
			writeError(sw, http.StatusUnauthorized, "Invalid token signature")
			return
		}
		if fail != 0 {
			writeError(sw, fail, http.StatusText(fail))
			return
		}
		h(sw, r, sc)
	}
}

func (s *Server) authenticate(r *http.Request) (*scope, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, ok := s.tokens[tok]
	return sc, ok
}

func (sc *scope) allows(v *vault) bool { return sc.vaults == nil || sc.vaults[v.name] }

// errorBody is Connect's error shape.
type errorBody struct {
	Status  int    `json:"status"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Status: status, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// filterPattern is the one SCIM-style filter form Connect documents:
// an attribute, eq, and a quoted value.
var filterPattern = regexp.MustCompile(`^\s*([A-Za-z]+)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$`)

// parseFilter returns the attribute and value of a filter, or ok false.
func parseFilter(f string, attrs ...string) (attr, value string, ok bool) {
	m := filterPattern.FindStringSubmatch(f)
	if m == nil {
		return "", "", false
	}
	for _, a := range attrs {
		if m[1] == a {
			return a, strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(m[2]), true
		}
	}
	return "", "", false
}

type vaultJSON struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	Description    string    `json:"description,omitempty"`
	AttributeVer   int       `json:"attributeVersion"`
	ContentVersion int       `json:"contentVersion"`
	Items          int       `json:"items"`
	Type           string    `json:"type"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

func (v *vault) json() vaultJSON {
	return vaultJSON{ID: v.id, Name: v.name, AttributeVer: 1, ContentVersion: len(v.items) + 1, Items: len(v.items), Type: "USER_CREATED", CreatedAt: v.created, UpdatedAt: v.created}
}

// listVaults lists the vaults the token may read, as Connect does.
func (s *Server) listVaults(w http.ResponseWriter, r *http.Request, sc *scope) {
	name, filtered := "", false
	if f := r.URL.Query().Get("filter"); f != "" {
		var ok bool
		if _, name, ok = parseFilter(f, "name"); !ok {
			writeError(w, http.StatusBadRequest, "Invalid filter: vaults can be filtered by name only")
			return
		}
		filtered = true
	}
	s.mu.Lock()
	out := []vaultJSON{}
	for _, v := range s.vaults {
		if sc.allows(v) && (!filtered || v.name == name) {
			out = append(out, v.json())
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	writeJSON(w, http.StatusOK, out)
}

// vault returns the vault of the request, or writes the error Connect
// answers with.
func (s *Server) vault(w http.ResponseWriter, r *http.Request, sc *scope) *vault {
	s.mu.Lock()
	v := s.vaults[r.PathValue("vault")]
	s.mu.Unlock()
	switch {
	case v == nil:
		writeError(w, http.StatusNotFound, "vault not found")
	case !sc.allows(v):
		writeError(w, http.StatusForbidden, "Unauthorized access: vault "+v.id+" is not in the token's scope")
	default:
		return v
	}
	return nil
}

func (s *Server) getVault(w http.ResponseWriter, r *http.Request, sc *scope) {
	v := s.vault(w, r, sc)
	if v == nil {
		return
	}
	s.mu.Lock()
	out := v.json()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

type vaultRef struct {
	ID string `json:"id"`
}

type sectionRef struct {
	ID string `json:"id"`
}

type sectionJSON struct {
	ID    string `json:"id"`
	Label string `json:"label,omitempty"`
}

type fieldJSON struct {
	ID      string      `json:"id"`
	Section *sectionRef `json:"section,omitempty"`
	Type    string      `json:"type"`
	Purpose string      `json:"purpose,omitempty"`
	Label   string      `json:"label,omitempty"`
	Value   string      `json:"value,omitempty"`
}

type fileJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Size        int    `json:"size"`
	ContentPath string `json:"content_path"`
	Content     []byte `json:"content,omitempty"`
}

type itemJSON struct {
	ID        string        `json:"id"`
	Title     string        `json:"title"`
	Vault     vaultRef      `json:"vault"`
	Category  string        `json:"category"`
	Tags      []string      `json:"tags,omitempty"`
	Version   int           `json:"version"`
	CreatedAt time.Time     `json:"createdAt"`
	UpdatedAt time.Time     `json:"updatedAt"`
	Sections  []sectionJSON `json:"sections,omitempty"`
	Fields    []fieldJSON   `json:"fields,omitempty"`
	Files     []fileJSON    `json:"files,omitempty"`
}

// summary is an item as listings show it: no fields, sections or files.
func (it *item) summary() itemJSON {
	return itemJSON{
		ID: it.ID, Title: it.Title, Vault: vaultRef{it.vaultID}, Category: it.Category,
		Tags: append([]string(nil), it.Tags...), Version: it.version, CreatedAt: it.created, UpdatedAt: it.updated,
	}
}

func (it *item) full() itemJSON {
	out := it.summary()
	sections := map[string]string{}
	for _, f := range it.Fields {
		fj := fieldJSON{ID: f.ID, Type: f.Type, Purpose: f.Purpose, Label: f.Label, Value: f.Value}
		if f.Section != "" {
			id, ok := sections[f.Section]
			if !ok {
				id = it.sectionIDs[f.Section]
				if id == "" {
					id = "section-" + strings.ToLower(strings.ReplaceAll(f.Section, " ", "-"))
				}
				sections[f.Section] = id
				out.Sections = append(out.Sections, sectionJSON{ID: id, Label: f.Section})
			}
			fj.Section = &sectionRef{ID: id}
		}
		out.Fields = append(out.Fields, fj)
	}
	for _, f := range it.Files {
		out.Files = append(out.Files, it.file(f, false))
	}
	return out
}

func (it *item) file(f File, inline bool) fileJSON {
	fj := fileJSON{
		ID: f.ID, Name: f.Name, Size: len(f.Content),
		ContentPath: "/v1/vaults/" + it.vaultID + "/items/" + it.ID + "/files/" + f.ID + "/content",
	}
	if inline {
		fj.Content = append([]byte{}, f.Content...)
	}
	return fj
}

func (s *Server) listItems(w http.ResponseWriter, r *http.Request, sc *scope) {
	v := s.vault(w, r, sc)
	if v == nil {
		return
	}
	attr, value := "", ""
	if f := r.URL.Query().Get("filter"); f != "" {
		var ok bool
		if attr, value, ok = parseFilter(f, "title", "tag"); !ok {
			writeError(w, http.StatusBadRequest, "Invalid filter: items can be filtered by title or tag")
			return
		}
	}
	s.mu.Lock()
	var matched []*item
	for _, it := range v.items {
		switch attr {
		case "title":
			if it.Title != value {
				continue
			}
		case "tag":
			if !contains(it.Tags, value) {
				continue
			}
		}
		matched = append(matched, it)
	}
	sort.Slice(matched, func(i, j int) bool { return matched[i].seq < matched[j].seq })
	out := []itemJSON{}
	for _, it := range matched {
		out = append(out, it.summary())
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// item returns the item of the request, or writes Connect's error.
func (s *Server) item(w http.ResponseWriter, r *http.Request, sc *scope) *item {
	v := s.vault(w, r, sc)
	if v == nil {
		return nil
	}
	s.mu.Lock()
	it := v.items[r.PathValue("item")]
	s.mu.Unlock()
	if it == nil {
		writeError(w, http.StatusNotFound, "item not found")
	}
	return it
}

func (s *Server) getItem(w http.ResponseWriter, r *http.Request, sc *scope) {
	it := s.item(w, r, sc)
	if it == nil {
		return
	}
	s.mu.Lock()
	out := it.full()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listFiles(w http.ResponseWriter, r *http.Request, sc *scope) {
	it := s.item(w, r, sc)
	if it == nil {
		return
	}
	inline := r.URL.Query().Get("inline_files") == "true"
	s.mu.Lock()
	out := []fileJSON{}
	for _, f := range it.Files {
		out = append(out, it.file(f, inline))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// fileOf returns the file of the request, or writes Connect's error.
func (s *Server) fileOf(w http.ResponseWriter, r *http.Request, sc *scope) (*item, *File) {
	it := s.item(w, r, sc)
	if it == nil {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range it.Files {
		if it.Files[i].ID == r.PathValue("file") {
			f := it.Files[i]
			return it, &f
		}
	}
	writeError(w, http.StatusNotFound, "file not found")
	return nil, nil
}

func (s *Server) getFile(w http.ResponseWriter, r *http.Request, sc *scope) {
	it, f := s.fileOf(w, r, sc)
	if f == nil {
		return
	}
	writeJSON(w, http.StatusOK, it.file(*f, r.URL.Query().Get("inline_files") == "true"))
}

func (s *Server) getFileContent(w http.ResponseWriter, r *http.Request, sc *scope) {
	_, f := s.fileOf(w, r, sc)
	if f == nil {
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(f.Name, `"`, "")+`"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(f.Content)
}

// newID returns a 26-character ID in the alphabet 1Password uses.
func newID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 26)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
