package onepassword

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/secretsync/secretsync/provider"
)

// pushCategory and pushFieldType are what PushSecret creates, as the
// External Secrets Operator does: a SERVER item whose fields are
// CONCEALED.
const (
	pushCategory  = "SERVER"
	pushFieldType = "CONCEALED"
)

var _ provider.Pusher = &client{}

// PushSecret writes value to the field labelled p.Property ("password"
// when empty; "field/label" names a field explicitly) of the item titled
// p.RemoteKey, found as GetSecret finds it. An item that exists is
// replaced (PUT) with that field set, or added as a CONCEALED field, and
// everything else kept as Connect sent it. An item that does not exist is
// created (POST) in the vault data[].metadata names, or else the store's
// first vault by priority: a SERVER item with that one CONCEALED field.
// Tags in data[].metadata replace the item's.
//
// Files cannot be written through Connect: a "file/" property, or a
// property of a DOCUMENT item without "field/", is refused, as is a
// value that is not UTF-8 text, which fields cannot hold.
func (c *client) PushSecret(ctx context.Context, value []byte, p provider.Push) error {
	what := fmt.Sprintf("push to item %q in %s", p.RemoteKey, c.store)
	meta, err := parsePushMetadata(p.Metadata)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if v := meta.Spec.Vault; v != "" && !slices.Contains(c.vaults, v) {
		return fmt.Errorf("%s: metadata spec.vault %q is not one of the store's vaults %s", what, v, quoteAll(c.vaults))
	}
	label, err := pushLabel(p.Property)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !utf8.Valid(value) {
		return fmt.Errorf("%s: the value is not UTF-8 text, which a 1Password field holds; push it to a store that keeps bytes", what)
	}
	it, vault, err := findBy(ctx, c, p.RemoteKey, c.getRawItem)
	if errors.Is(err, provider.ErrNotFound) {
		if err := c.createItem(ctx, p.RemoteKey, label, string(value), meta); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := it.checkFieldProperty(p.Property); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := it.setField(label, string(value)); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if meta.Spec.Tags != nil {
		if err := it.set("tags", meta.Spec.Tags); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if err := c.replaceItem(ctx, vault, it); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// DeleteSecret deletes the item titled p.RemoteKey or, with p.Property,
// its field with that label, and the item when no field nor file is left.
// An item or field that does not exist is not an error.
func (c *client) DeleteSecret(ctx context.Context, p provider.Push) error {
	what := fmt.Sprintf("delete item %q in %s", p.RemoteKey, c.store)
	it, vault, err := findBy(ctx, c, p.RemoteKey, c.getRawItem)
	if errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if p.Property == "" {
		if err := c.deleteItem(ctx, vault, it); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	what = fmt.Sprintf("delete field %q of item %q in %s", p.Property, p.RemoteKey, c.store)
	label, err := pushLabel(p.Property)
	if err == nil {
		err = it.checkFieldProperty(p.Property)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	removed, err := it.removeField(label)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !removed {
		return nil
	}
	if len(it.fields) == 0 && it.files == 0 {
		err = c.deleteItem(ctx, vault, it)
	} else {
		err = c.replaceItem(ctx, vault, it)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// pushLabel returns the label of the field a push of property writes.
func pushLabel(property string) (string, error) {
	if _, ok := strings.CutPrefix(property, filePrefix); ok {
		return "", fmt.Errorf("property %q names a file, and files cannot be written through 1Password Connect", property)
	}
	label, _ := strings.CutPrefix(property, fieldPrefix)
	if label == "" {
		label = defaultField
	}
	return label, nil
}

// rawItem is an item as Connect sent it, every attribute kept, so that
// a replace sends back what it does not change.
type rawItem struct {
	id, vaultID string
	category    string
	files       int
	attrs       map[string]json.RawMessage
	fields      []map[string]json.RawMessage
}

// getRawItem reads an item, without the content of its files.
func (c *client) getRawItem(ctx context.Context, vault, vaultID, id string) (*rawItem, error) {
	body, err := c.get(ctx, itemPath(vaultID, id), nil)
	if err != nil {
		markNotFound(err)
		return nil, fmt.Errorf("read item %s in vault %q: %w", id, vault, err)
	}
	// Errors of encoding/json can quote the input, which holds values.
	notJSON := fmt.Errorf("read item %s in vault %q: the Connect server's answer is not the JSON expected", id, vault)
	it := &rawItem{id: id, vaultID: vaultID}
	if json.Unmarshal(body, &it.attrs) != nil || it.attrs == nil {
		return nil, notJSON
	}
	var files []json.RawMessage
	if json.Unmarshal(orNull(it.attrs["category"]), &it.category) != nil ||
		json.Unmarshal(orNull(it.attrs["fields"]), &it.fields) != nil ||
		json.Unmarshal(orNull(it.attrs["files"]), &files) != nil {
		return nil, notJSON
	}
	it.files = len(files)
	return it, nil
}

func orNull(raw json.RawMessage) json.RawMessage {
	if raw == nil {
		return json.RawMessage("null")
	}
	return raw
}

// checkFieldProperty refuses a property that reads a file of it: on a
// DOCUMENT, every property but "field/…" does, and GetSecret could not
// read back the field written.
func (it *rawItem) checkFieldProperty(property string) error {
	if it.category == documentCategory && !strings.HasPrefix(property, fieldPrefix) {
		return fmt.Errorf("the item is a DOCUMENT, whose properties name files, which cannot be written through 1Password Connect; name a field as %q", fieldPrefix+"<label>")
	}
	return nil
}

func labelOf(f map[string]json.RawMessage) string {
	var l string
	_ = json.Unmarshal(orNull(f["label"]), &l)
	return l
}

// fieldIndex returns the index of the field labelled label, -1 when
// there is none; two are an error, as GetSecret could not tell which one
// it reads.
func (it *rawItem) fieldIndex(label string) (int, error) {
	found := -1
	for i, f := range it.fields {
		if labelOf(f) != label {
			continue
		}
		if found >= 0 {
			return 0, fmt.Errorf("the item has more than one field labelled %q: give them distinct labels", label)
		}
		found = i
	}
	return found, nil
}

// setField sets the value of the field labelled label, or adds it as a
// CONCEALED field.
func (it *rawItem) setField(label, value string) error {
	i, err := it.fieldIndex(label)
	if err != nil {
		return err
	}
	v, err := json.Marshal(value)
	if err != nil {
		return errors.New("encode the value as JSON")
	}
	if i < 0 {
		l, _ := json.Marshal(label)
		t, _ := json.Marshal(pushFieldType)
		it.fields = append(it.fields, map[string]json.RawMessage{"label": l, "type": t, "value": v})
	} else {
		it.fields[i]["value"] = v
	}
	return it.set("fields", it.fields)
}

// removeField removes the field labelled label, and reports whether there
// was one.
func (it *rawItem) removeField(label string) (bool, error) {
	i, err := it.fieldIndex(label)
	if err != nil || i < 0 {
		return false, err
	}
	it.fields = slices.Delete(it.fields, i, i+1)
	return true, it.set("fields", it.fields)
}

func (it *rawItem) set(attr string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode the item's %s as JSON", attr)
	}
	it.attrs[attr] = raw
	return nil
}

// createItem creates the item title, with one CONCEALED field, in the
// vault meta names or the store's first.
func (c *client) createItem(ctx context.Context, title, label, value string, meta *pushMetadata) error {
	vault := meta.Spec.Vault
	if vault == "" {
		vault = c.vaults[0]
	}
	vid, err := c.vaultID(ctx, vault)
	if err != nil {
		return err
	}
	item := map[string]any{
		"title":    title,
		"category": pushCategory,
		"vault":    map[string]string{"id": vid},
		"fields":   []map[string]string{{"label": label, "type": pushFieldType, "value": value}},
	}
	if meta.Spec.Tags != nil {
		item["tags"] = meta.Spec.Tags
	}
	body, err := json.Marshal(item)
	if err != nil {
		return errors.New("encode the item as JSON")
	}
	if _, err := c.send(ctx, http.MethodPost, "/v1/vaults/"+url.PathEscape(vid)+"/items", nil, body, http.StatusOK); err != nil {
		return fmt.Errorf("create the item in vault %q: %w", vault, err)
	}
	return nil
}

// replaceItem sends it back to Connect, with its changes.
func (c *client) replaceItem(ctx context.Context, vault string, it *rawItem) error {
	body, err := json.Marshal(it.attrs)
	if err != nil {
		return errors.New("encode the item as JSON")
	}
	if _, err := c.send(ctx, http.MethodPut, itemPath(it.vaultID, it.id), nil, body, http.StatusOK); err != nil {
		return fmt.Errorf("replace item %s in vault %q: %w", it.id, vault, err)
	}
	return nil
}

// deleteItem deletes it; one already gone is not an error.
func (c *client) deleteItem(ctx context.Context, vault string, it *rawItem) error {
	_, err := c.send(ctx, http.MethodDelete, itemPath(it.vaultID, it.id), nil, nil, http.StatusNoContent)
	if err != nil && !isStatus(err, http.StatusNotFound) {
		return fmt.Errorf("delete item %s in vault %q: %w", it.id, vault, err)
	}
	return nil
}

// The apiVersion and kind of data[].metadata, as in the External Secrets
// Operator.
const (
	metadataAPIVersion = "kubernetes.external-secrets.io/v1alpha1"
	metadataKind       = "PushSecretMetadata"
)

// pushMetadata is data[].metadata of a PushSecret for a onepassword store,
// the External Secrets Operator's PushSecretMetadata for 1Password.
type pushMetadata struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       struct {
		// Tags replace the item's tags, when set.
		Tags []string `json:"tags,omitempty"`
		// Vault is the vault, one of the store's, to create an item in
		// instead of the first. An item that exists is written where it
		// is.
		Vault string `json:"vault,omitempty"`
	} `json:"spec"`
}

// parsePushMetadata parses raw, which may be empty. A field it does not
// know is an error that names it, not ignored.
func parsePushMetadata(raw json.RawMessage) (*pushMetadata, error) {
	m := &pushMetadata{}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return m, nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		// Metadata is configuration, not a secret: its errors may quote it.
		return nil, fmt.Errorf("metadata is not a %s %s: %w", metadataAPIVersion, metadataKind, err)
	}
	if m.APIVersion != metadataAPIVersion || m.Kind != metadataKind {
		return nil, fmt.Errorf("metadata has apiVersion %q and kind %q; want %q and %q", m.APIVersion, m.Kind, metadataAPIVersion, metadataKind)
	}
	return m, nil
}
