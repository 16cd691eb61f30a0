package onepassword

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"

	"github.com/secretsync/secretsync/provider"
)

// Find reads many items into one map, for dataFrom.find. find.Path
// chooses between two forms.
//
// With find.Path, the External Secrets Operator's form, it reads the
// fields and files of the items titled find.Path:
//
//   - find.Tags names tags the items must all have (1Password tags have
//     no values, so the values of the map are ignored);
//   - find.Name, if set, is an RE2 expression that field labels and file
//     names must match.
//
// Keys are field labels and file names. Vaults are read by priority and,
// in a vault, items in listing order: the first value found for a key
// wins, so an item in a higher-priority vault overrides one in a lower.
//
// Without find.Path, it selects items by title and tags, and reads one
// value from each:
//
//   - find.Name is an RE2 expression titles must match, anywhere in the
//     title unless anchored;
//   - find.Tags names tags the items must all have.
//
// One of the two must be set: a find that selects every item is refused.
// Each item selected gives one key, its title, holding what GetSecret
// reads without a property: a document's first file, any other item's
// field labelled "password". Items without that value are left out. A
// title selected in several vaults is read from the first by priority,
// as GetSecret reads it, even when that vault's item has no value; two
// items selected with one title in one vault are an error.
func (c *client) Find(ctx context.Context, find provider.Find) (map[string][]byte, error) {
	var re *regexp.Regexp
	if find.Name != "" {
		var err error
		if re, err = regexp.Compile(find.Name); err != nil {
			return nil, fmt.Errorf("find in %s: find.name %q is not an RE2 expression: %w", c.store, find.Name, err)
		}
	}
	if find.Path != "" {
		return c.findFields(ctx, find.Path, re, find.Tags)
	}
	if re == nil && len(find.Tags) == 0 {
		return nil, fmt.Errorf("find in %s: give find.name (a title regexp), find.tags or find.path", c.store)
	}
	return c.findTitles(ctx, re, find.Tags)
}

// findFields reads the fields and files of the items titled title that
// have all tags, keeping those whose label or name matches re (all when
// nil).
func (c *client) findFields(ctx context.Context, title string, re *regexp.Regexp, tags map[string]string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, vault := range c.vaults {
		vid, items, err := c.listItems(ctx, vault, eq("title", title))
		if err != nil {
			return nil, fmt.Errorf("find in %s: %w", c.store, err)
		}
		for _, summary := range items {
			if summary.Title != title || !hasTags(summary.Tags, tags) {
				continue
			}
			it, err := c.getItem(ctx, vault, vid, summary.ID)
			if errors.Is(err, provider.ErrNotFound) {
				continue // deleted since it was listed
			}
			if err != nil {
				return nil, fmt.Errorf("find in %s: %w", c.store, err)
			}
			for _, f := range it.Files {
				if _, ok := out[f.Name]; !ok && (re == nil || re.MatchString(f.Name)) {
					out[f.Name] = f.Content
				}
			}
			if err := addFields(out, it.Title, it.Fields, re, false); err != nil {
				return nil, fmt.Errorf("find in %s: %w", c.store, err)
			}
		}
	}
	return out, nil
}

// findTitles reads the value of each item whose title matches re (any
// when nil) and that has all tags, by title. Only the items selected are
// read: the listings carry titles and tags.
func (c *client) findTitles(ctx context.Context, re *regexp.Regexp, tags map[string]string) (map[string][]byte, error) {
	// Connect filters on one attribute: the first tag. Titles and the
	// other tags are checked here.
	filter := ""
	if len(tags) > 0 {
		filter = eq("tag", firstTag(tags))
	}
	out := map[string][]byte{}
	// Titles a higher-priority vault has, with a value or not: GetSecret
	// would read them there and look no further.
	taken := map[string]bool{}
	for _, vault := range c.vaults {
		vid, items, err := c.listItems(ctx, vault, filter)
		if err != nil {
			return nil, fmt.Errorf("find in %s: %w", c.store, err)
		}
		selected := map[string][]string{} // item IDs by title
		for _, summary := range items {
			if taken[summary.Title] || (re != nil && !re.MatchString(summary.Title)) || !hasTags(summary.Tags, tags) {
				continue
			}
			selected[summary.Title] = append(selected[summary.Title], summary.ID)
		}
		titles := make([]string, 0, len(selected))
		for title := range selected {
			titles = append(titles, title)
		}
		sort.Strings(titles)
		// Refused before any item is read: which of two a Secret would
		// hold would be chance.
		for _, title := range titles {
			if n := len(selected[title]); n > 1 {
				return nil, fmt.Errorf("find in %s: vault %q has %d items titled %q: give them distinct titles", c.store, vault, n, title)
			}
		}
		for _, title := range titles {
			taken[title] = true
			v, ok, err := c.defaultValue(ctx, vault, vid, selected[title][0])
			if err != nil {
				return nil, fmt.Errorf("find in %s: %w", c.store, err)
			}
			if ok {
				out[title] = v
			}
		}
	}
	return out, nil
}

// defaultValue reads the item id and returns its value without a
// property, as GetSecret does; ok is false when it has none or was
// deleted since it was listed. Only a document's first file is read: it
// is all the value needs, and other items need no file.
func (c *client) defaultValue(ctx context.Context, vault, vaultID, id string) (value []byte, ok bool, err error) {
	it, err := c.getItemFields(ctx, vault, vaultID, id)
	if err == nil && secretOf(it).document() && len(it.Files) > 0 {
		it.Files = it.Files[:1]
		err = c.readFiles(ctx, vault, vaultID, id, it)
	}
	if errors.Is(err, provider.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	value, err = secretOf(it).Value()
	if errors.Is(err, provider.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("vault %q: %w", vault, err)
	}
	return value, true, nil
}

// firstTag returns the least of the tags, so that the same find filters
// on the same tag every time.
func firstTag(tags map[string]string) string {
	first, ok := "", false
	for t := range tags {
		if !ok || t < first {
			first, ok = t, true
		}
	}
	return first
}

func hasTags(tags []string, want map[string]string) bool {
	have := make(map[string]bool, len(tags))
	for _, t := range tags {
		have[t] = true
	}
	for t := range want {
		if !have[t] {
			return false
		}
	}
	return true
}
