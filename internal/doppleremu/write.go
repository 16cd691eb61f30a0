package doppleremu

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// maxUpdateBody bounds the body of an update.
const maxUpdateBody = 1 << 20

// updateBody is the body of POST /v3/configs/config/secrets: either
// secrets or change_requests, never both.
type updateBody struct {
	Project        string                     `json:"project"`
	Config         string                     `json:"config"`
	Secrets        map[string]json.RawMessage `json:"secrets"`
	ChangeRequests []changeRequest            `json:"change_requests"`
}

type changeRequest struct {
	Name         string  `json:"name"`
	OriginalName *string `json:"originalName"`
	Value        *string `json:"value"`
	ShouldDelete bool    `json:"shouldDelete"`
}

// writable answers 403 for a token that may only read.
func writable(w http.ResponseWriter, tok *token) bool {
	if tok.readOnly {
		writeError(w, http.StatusForbidden, "This token does not have write access to the requested config")
		return false
	}
	return true
}

// update is POST /v3/configs/config/secrets. With secrets it sets each
// name to its value, creating it if needed; with change_requests it
// applies each change: a value set, a rename (originalName differs from
// name), or a delete (shouldDelete). It answers 200 with every secret of
// the config, raw and computed, as Doppler's reference shows.
func (s *Server) update(w http.ResponseWriter, r *http.Request, tok *token) {
	if !writable(w, tok) {
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxUpdateBody+1))
	if err != nil || len(raw) > maxUpdateBody {
		writeError(w, http.StatusBadRequest, "Unable to read the request body")
		return
	}
	var b updateBody
	if err := json.Unmarshal(raw, &b); err != nil {
		writeError(w, http.StatusBadRequest, "Invalid request body")
		return
	}
	project, config, _ := s.resolve(w, tok, b.Project, b.Config)
	if project == "" {
		return
	}
	if (b.Secrets == nil) == (b.ChangeRequests == nil) {
		writeError(w, http.StatusBadRequest, "You must specify either secrets or change_requests, not both")
		return
	}
	set := map[string]string{}
	var remove []string
	for name, v := range b.Secrets {
		var value string
		if json.Unmarshal(v, &value) != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("The value of secret %s must be a string", name))
			return
		}
		set[name] = value
	}
	for _, c := range b.ChangeRequests {
		switch {
		case c.ShouldDelete:
			remove = append(remove, c.Name)
			continue
		case c.OriginalName != nil && *c.OriginalName != c.Name:
			remove = append(remove, *c.OriginalName)
		}
		if c.Value == nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("The value of secret %s must be a string", c.Name))
			return
		}
		set[c.Name] = *c.Value
	}
	for name := range set {
		if !secretName.MatchString(name) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Secret name %q may only contain uppercase letters, numbers, and underscores, and may not start with a number", name))
			return
		}
	}
	s.mu.Lock()
	values := s.configs[[2]string{project, config}]
	if values == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "Could not find requested config '"+config+"'")
		return
	}
	for _, name := range remove {
		delete(values, name)
	}
	for name, v := range set {
		values[name] = v
	}
	out := make(map[string]secretValue, len(values))
	for name, v := range values {
		out[name] = secretValue{Raw: v, Computed: computed(values, v)}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"secrets": out, "success": true})
}

// deleteSecret is DELETE /v3/configs/config/secret?name=…: 204 and no
// body; 404 for a secret the config does not have.
func (s *Server) deleteSecret(w http.ResponseWriter, r *http.Request, tok *token) {
	if !writable(w, tok) {
		return
	}
	project, config, values := s.config(w, r, tok)
	if values == nil {
		return
	}
	name := r.URL.Query().Get("name")
	if !secretName.MatchString(name) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Secret name %q may only contain uppercase letters, numbers, and underscores", name))
		return
	}
	if _, ok := values[name]; !ok {
		writeError(w, http.StatusNotFound, "Could not find requested secret")
		return
	}
	s.mu.Lock()
	delete(s.configs[[2]string{project, config}], name)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
