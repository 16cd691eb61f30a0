package onepassword

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"

	"github.com/secretsync/secretsync/provider"
)

// Find reads the fields and files of many items into one map, as the
// External Secrets Operator's dataFrom.find does for 1Password:
//
//   - find.Path, if set, is the title an item must have;
//   - find.Tags names tags an item must all have (1Password tags have no
//     values, so the values of the map are ignored);
//   - find.Name, if set, is an RE2 expression that field labels and file
//     names must match.
//
// Keys are field labels and file names. Vaults are read by priority and,
// in a vault, items by title: the first value found for a key wins, so an
// item in a higher-priority vault overrides one in a lower.
func (c *client) Find(ctx context.Context, find provider.Find) (map[string][]byte, error) {
	var re *regexp.Regexp
	if find.Name != "" {
		var err error
		if re, err = regexp.Compile(find.Name); err != nil {
			return nil, fmt.Errorf("find in %s: name regexp: %w", c.store, err)
		}
	}
	// Connect filters on one attribute; the rest is checked here.
	filter := ""
	if find.Path != "" {
		filter = eq("title", find.Path)
	} else if len(find.Tags) > 0 {
		tags := make([]string, 0, len(find.Tags))
		for t := range find.Tags {
			tags = append(tags, t)
		}
		sort.Strings(tags)
		filter = eq("tag", tags[0])
	}

	out := map[string][]byte{}
	for _, vault := range c.vaults {
		vid, items, err := c.listItems(ctx, vault, filter)
		if err != nil {
			return nil, fmt.Errorf("find in %s: %w", c.store, err)
		}
		sort.SliceStable(items, func(i, j int) bool { return items[i].Title < items[j].Title })
		for _, summary := range items {
			if (find.Path != "" && summary.Title != find.Path) || !hasTags(summary.Tags, find.Tags) {
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
