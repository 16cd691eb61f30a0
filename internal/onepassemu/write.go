package onepassemu

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
)

// categories are the item categories Connect's API reference lists.
var categories = []string{
	"LOGIN", "PASSWORD", "API_CREDENTIAL", "SERVER", "DATABASE", "CREDIT_CARD",
	"MEMBERSHIP", "PASSPORT", "SOFTWARE_LICENSE", "OUTDOOR_LICENSE", "SECURE_NOTE",
	"WIRELESS_ROUTER", "BANK_ACCOUNT", "DRIVER_LICENSE", "IDENTITY", "REWARD_PROGRAM",
	"DOCUMENT", "EMAIL_ACCOUNT", "SOCIAL_SECURITY_NUMBER", "MEDICAL_RECORD", "SSH_KEY", "CUSTOM",
}

// fieldTypes are the field types Connect's API reference lists.
var fieldTypes = []string{"STRING", "EMAIL", "CONCEALED", "URL", "OTP", "DATE", "MONTH_YEAR", "MENU", "SSHKEY"}

// maxItemBody bounds the body of a write.
const maxItemBody = 1 << 20

// itemBody is a FullItem as a client writes it. Read-only attributes
// (version, times, state, files' content paths) are accepted and
// ignored, as Connect does when a client sends back an item it read.
type itemBody struct {
	ID       string        `json:"id"`
	Title    string        `json:"title"`
	Vault    *vaultRef     `json:"vault"`
	Category string        `json:"category"`
	Tags     []string      `json:"tags"`
	Sections []sectionJSON `json:"sections"`
	Fields   []fieldJSON   `json:"fields"`
}

// writable returns the vault of a write, or writes the error Connect
// answers with: that of a read, or 403 for a token that may only read.
func (s *Server) writable(w http.ResponseWriter, r *http.Request, sc *scope) *vault {
	v := s.vault(w, r, sc)
	if v != nil && sc.readOnly {
		writeError(w, http.StatusForbidden, "Unauthorized access: the token may not write to vault "+v.id)
		return nil
	}
	return v
}

// readItemBody decodes and checks the body of a create or replace, or
// writes Connect's 400.
func readItemBody(w http.ResponseWriter, r *http.Request, vaultID string) (*itemBody, bool) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxItemBody+1))
	if err != nil || len(raw) > maxItemBody {
		writeError(w, http.StatusBadRequest, "Unable to read the request body")
		return nil, false
	}
	var b itemBody
	if err := json.Unmarshal(raw, &b); err != nil {
		writeError(w, http.StatusBadRequest, "Invalid request body: not a JSON item")
		return nil, false
	}
	switch {
	case b.Vault == nil || b.Vault.ID == "":
		writeError(w, http.StatusBadRequest, "Invalid item: vault.id is required")
	case b.Vault.ID != vaultID:
		writeError(w, http.StatusBadRequest, "Invalid item: vault.id does not match the vault in the path")
	case !slices.Contains(categories, b.Category):
		writeError(w, http.StatusBadRequest, "Invalid item category")
	default:
		for _, f := range b.Fields {
			if f.Type != "" && !slices.Contains(fieldTypes, f.Type) {
				writeError(w, http.StatusBadRequest, "Invalid field type "+f.Type)
				return nil, false
			}
		}
		return &b, true
	}
	return nil, false
}

// apply sets the attributes a client writes on it: title, category,
// tags and fields, with their sections. Fields without an ID get one,
// and without a type are STRING. Files are kept: Connect cannot write
// them.
func (it *item) apply(b *itemBody) {
	it.Title = b.Title
	it.Category = b.Category
	it.Tags = append([]string(nil), b.Tags...)
	labels := map[string]string{} // by section ID
	for _, sec := range b.Sections {
		labels[sec.ID] = sec.Label
	}
	it.sectionIDs = map[string]string{}
	it.Fields = nil
	for _, f := range b.Fields {
		fld := Field{ID: f.ID, Label: f.Label, Value: f.Value, Type: f.Type, Purpose: f.Purpose}
		if fld.ID == "" {
			fld.ID = newID()
		}
		if fld.Type == "" {
			fld.Type = "STRING"
		}
		if f.Section != nil && f.Section.ID != "" {
			label := labels[f.Section.ID]
			if label == "" {
				label = f.Section.ID
			}
			fld.Section = label
			it.sectionIDs[label] = f.Section.ID
		}
		it.Fields = append(it.Fields, fld)
	}
}

// createItem is POST /v1/vaults/{vault}/items: it answers 200 with the
// item created, as Connect does.
func (s *Server) createItem(w http.ResponseWriter, r *http.Request, sc *scope) {
	v := s.writable(w, r, sc)
	if v == nil {
		return
	}
	b, ok := readItemBody(w, r, v.id)
	if !ok {
		return
	}
	s.mu.Lock()
	now := s.now()
	s.seq++
	it := &item{Item: Item{ID: newID()}, vaultID: v.id, seq: s.seq, version: 1, created: now, updated: now}
	it.apply(b)
	v.items[it.ID] = it
	out := it.full()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// updateItem is PUT /v1/vaults/{vault}/items/{item}: it replaces the
// item's attributes, bumps its version and answers 200 with the item.
func (s *Server) updateItem(w http.ResponseWriter, r *http.Request, sc *scope) {
	v := s.writable(w, r, sc)
	if v == nil {
		return
	}
	old := s.item(w, r, sc)
	if old == nil {
		return
	}
	b, ok := readItemBody(w, r, v.id)
	if !ok {
		return
	}
	if b.ID != "" && b.ID != old.ID {
		writeError(w, http.StatusBadRequest, "Invalid item: id does not match the item in the path")
		return
	}
	s.mu.Lock()
	it := &item{
		Item:    Item{ID: old.ID, Files: old.Files},
		vaultID: v.id, seq: old.seq, version: old.version + 1, created: old.created, updated: s.now(),
	}
	it.apply(b)
	v.items[it.ID] = it
	out := it.full()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// deleteItem is DELETE /v1/vaults/{vault}/items/{item}: 204 and no body.
func (s *Server) deleteItem(w http.ResponseWriter, r *http.Request, sc *scope) {
	v := s.writable(w, r, sc)
	if v == nil {
		return
	}
	it := s.item(w, r, sc)
	if it == nil {
		return
	}
	s.mu.Lock()
	delete(v.items, it.ID)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
