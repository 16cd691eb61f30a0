package onepassword

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/secretsync/secretsync/provider"
)

// documentCategory is the category of items whose value is a file.
const documentCategory = "DOCUMENT"

// Prefixes of a property that say whether it names a field or a file,
// whatever the item's category, as in the External Secrets Operator.
const (
	fieldPrefix = "field/"
	filePrefix  = "file/"
)

// defaultField is the field a reference without a property reads.
const defaultField = "password"

type itemJSON struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Vault struct {
		ID string `json:"id"`
	} `json:"vault"`
	Category  string      `json:"category"`
	Tags      []string    `json:"tags"`
	Version   int         `json:"version"`
	CreatedAt string      `json:"createdAt"`
	UpdatedAt string      `json:"updatedAt"`
	Fields    []fieldJSON `json:"fields"`
	Files     []fileJSON  `json:"files"`
}

type fieldJSON struct {
	ID      string `json:"id"`
	Label   string `json:"label"`
	Value   string `json:"value"`
	Type    string `json:"type"`
	Purpose string `json:"purpose"`
}

type fileJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Size        int    `json:"size"`
	ContentPath string `json:"content_path"`
	Content     []byte `json:"content"`
}

// itemID matches 1Password's item IDs, which a key may give instead of a
// title.
var itemID = regexp.MustCompile(`^[a-z0-9]{26}$`)

// GetSecret reads the item titled ref.Key from the first vault, by
// priority, that has one. A key that is an item ID and no item's title
// reads that item. With ref.Metadata it reads the item's metadata (IDs,
// category, tags, version, times) as a JSON object instead.
func (c *client) GetSecret(ctx context.Context, ref provider.Ref) (provider.Secret, error) {
	if ref.Version != "" {
		return nil, fmt.Errorf("item %q in %s: 1Password Connect cannot read an item's past versions; remove remoteRef.version", ref.Key, c.store)
	}
	it, vault, err := c.findItem(ctx, ref.Key)
	if err != nil {
		return nil, fmt.Errorf("item %q in %s: %w", ref.Key, c.store, err)
	}
	if ref.Metadata {
		return provider.MapSecret(map[string]any{
			"id": it.ID, "title": it.Title, "category": it.Category,
			"vault": vault, "vaultID": it.Vault.ID,
			"tags": append([]string{}, it.Tags...), "version": it.Version,
			"createdAt": it.CreatedAt, "updatedAt": it.UpdatedAt,
		})
	}
	return secretOf(it), nil
}

// findItem finds the item titled key in the vaults, by priority. Two
// items with that title in one vault are an error: which one a Secret
// would hold would be chance.
func (c *client) findItem(ctx context.Context, key string) (*itemJSON, string, error) {
	return findBy(ctx, c, key, c.getItem)
}

// findBy finds the item key as findItem does, and reads it with get.
// PushSecret reads the item it writes as Connect sent it, to send it
// back.
func findBy[T any](ctx context.Context, c *client, key string, get func(ctx context.Context, vault, vaultID, id string) (T, error)) (T, string, error) {
	var none T
	for _, vault := range c.vaults {
		vid, items, err := c.listItems(ctx, vault, eq("title", key))
		if err != nil {
			return none, "", err
		}
		var matches []itemJSON
		for _, it := range items {
			if it.Title == key {
				matches = append(matches, it)
			}
		}
		switch {
		case len(matches) == 1:
			it, err := get(ctx, vault, vid, matches[0].ID)
			return it, vault, err
		case len(matches) > 1:
			return none, "", fmt.Errorf("vault %q has %d items titled %q: give them distinct titles", vault, len(matches), key)
		case itemID.MatchString(key):
			it, err := get(ctx, vault, vid, key)
			if errors.Is(err, provider.ErrNotFound) {
				continue
			}
			return it, vault, err
		}
	}
	return none, "", fmt.Errorf("no item with this title in vaults %s: %w", quoteAll(c.vaults), provider.ErrNotFound)
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// getItem reads an item with its fields and the content of its files.
func (c *client) getItem(ctx context.Context, vault, vaultID, id string) (*itemJSON, error) {
	it, err := c.getItemFields(ctx, vault, vaultID, id)
	if err != nil {
		return nil, err
	}
	if err := c.readFiles(ctx, vault, vaultID, id, it); err != nil {
		return nil, err
	}
	return it, nil
}

func itemPath(vaultID, id string) string {
	return "/v1/vaults/" + url.PathEscape(vaultID) + "/items/" + url.PathEscape(id)
}

// getItemFields reads an item with its fields, and its files without
// their content.
func (c *client) getItemFields(ctx context.Context, vault, vaultID, id string) (*itemJSON, error) {
	var it itemJSON
	if err := c.getJSON(ctx, itemPath(vaultID, id), nil, &it); err != nil {
		markNotFound(err)
		return nil, fmt.Errorf("read item %s in vault %q: %w", id, vault, err)
	}
	return &it, nil
}

// readFiles reads the content of the files of it, the item id: one
// request for every file's content, inline; then, for any file the
// listing left without content, that file's content path.
func (c *client) readFiles(ctx context.Context, vault, vaultID, id string, it *itemJSON) error {
	if len(it.Files) == 0 {
		return nil
	}
	path := itemPath(vaultID, id)
	var inline []fileJSON
	if err := c.getJSON(ctx, path+"/files", url.Values{"inline_files": {"true"}}, &inline); err != nil {
		markNotFound(err)
		return fmt.Errorf("read the files of item %s in vault %q: %w", id, vault, err)
	}
	content := make(map[string][]byte, len(inline))
	for _, f := range inline {
		if f.Content != nil {
			content[f.ID] = f.Content
		}
	}
	for i := range it.Files {
		f := &it.Files[i]
		if b, ok := content[f.ID]; ok {
			f.Content = b
			continue
		}
		p := f.ContentPath
		if !strings.HasPrefix(p, "/v1/") {
			p = path + "/files/" + url.PathEscape(f.ID) + "/content"
		}
		b, err := c.get(ctx, p, nil)
		if err != nil {
			markNotFound(err)
			return fmt.Errorf("read file %q of item %s in vault %q: %w", f.Name, id, vault, err)
		}
		f.Content = b
	}
	return nil
}

// markNotFound makes a 404 for an item or file read as a missing secret.
func markNotFound(err error) {
	var api *apiError
	if errors.As(err, &api) && api.status == http.StatusNotFound {
		api.notFound = true
	}
}

// itemSecret is one item. Properties name a field by label or, for
// documents, a file by name; the prefixes "field/" and "file/" choose
// explicitly. Labels are matched whole: a dot is part of a label.
type itemSecret struct {
	title, category string
	fields          []fieldJSON
	files           []fileJSON
}

func secretOf(it *itemJSON) *itemSecret {
	return &itemSecret{title: it.Title, category: it.Category, fields: it.Fields, files: it.Files}
}

func (s *itemSecret) document() bool { return s.category == documentCategory }

// Value returns the document's first file, or the field labelled
// "password", as the External Secrets Operator does.
func (s *itemSecret) Value() ([]byte, error) {
	if s.document() {
		return s.file("")
	}
	return s.field(defaultField)
}

// Property returns the field labelled name, or, for a document, the file
// named name.
func (s *itemSecret) Property(name string) ([]byte, error) {
	if label, ok := strings.CutPrefix(name, fieldPrefix); ok {
		return s.field(label)
	}
	if file, ok := strings.CutPrefix(name, filePrefix); ok {
		return s.file(file)
	}
	if s.document() {
		return s.file(name)
	}
	return s.field(name)
}

func (s *itemSecret) field(label string) ([]byte, error) {
	if label == "" {
		label = defaultField
	}
	var found []byte
	n := 0
	for _, f := range s.fields {
		if f.Label == label {
			found = []byte(f.Value)
			n++
		}
	}
	switch n {
	case 0:
		return nil, fmt.Errorf("field %q of item %q: %w", label, s.title, provider.ErrNotFound)
	case 1:
		return found, nil
	}
	return nil, fmt.Errorf("item %q has %d fields labelled %q: give them distinct labels", s.title, n, label)
}

func (s *itemSecret) file(name string) ([]byte, error) {
	for _, f := range s.files {
		if name == "" || f.Name == name {
			return f.Content, nil
		}
	}
	if name == "" {
		return nil, fmt.Errorf("item %q has no file: %w", s.title, provider.ErrNotFound)
	}
	return nil, fmt.Errorf("file %q of item %q: %w", name, s.title, provider.ErrNotFound)
}

// Map returns a document's files by name, or an item's fields by label.
// Fields without a label are left out; two fields with one label are an
// error.
func (s *itemSecret) Map() (map[string][]byte, error) {
	if s.document() {
		out := make(map[string][]byte, len(s.files))
		for _, f := range s.files {
			if _, ok := out[f.Name]; !ok {
				out[f.Name] = f.Content
			}
		}
		return out, nil
	}
	out := make(map[string][]byte, len(s.fields))
	if err := addFields(out, s.title, s.fields, nil, true); err != nil {
		return nil, err
	}
	return out, nil
}

// addFields adds the labelled fields that match re (all when nil) to out.
// Existing keys are kept unless overwrite is set.
func addFields(out map[string][]byte, title string, fields []fieldJSON, re *regexp.Regexp, overwrite bool) error {
	count := map[string]int{}
	for _, f := range fields {
		count[f.Label]++
	}
	for _, f := range fields {
		if f.Label == "" || (re != nil && !re.MatchString(f.Label)) {
			continue
		}
		if count[f.Label] > 1 {
			return fmt.Errorf("item %q has %d fields labelled %q: give them distinct labels", title, count[f.Label], f.Label)
		}
		if _, ok := out[f.Label]; ok && !overwrite {
			continue
		}
		out[f.Label] = []byte(f.Value)
	}
	return nil
}
