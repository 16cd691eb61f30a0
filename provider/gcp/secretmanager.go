package gcp

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/api/iterator"

	"github.com/secretsync/secretsync/provider"
)

const (
	// listPageSize is the page size of ListSecrets and
	// ListSecretVersions; Secret Manager caps it at 25000.
	listPageSize = 250
	// findReaders is how many secrets Find reads at once.
	findReaders = 4
)

var (
	// secretIDPattern is what Secret Manager accepts as a secret ID;
	// checking it keeps a key from naming another project's secret.
	secretIDPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)
	// versionPattern accepts version numbers, "latest" and aliases.
	versionPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,63}$`)
	castagnoli     = crc32.MakeTable(crc32.Castagnoli)
)

func (c *client) secretName(id string) string { return c.parent + "/secrets/" + id }

// GetSecret reads the version ref.Version, "latest" when empty, of the
// secret ref.Key: a secret ID. A version is a number, "latest" or an
// alias. With ref.Metadata it reads the secret's labels and annotations
// instead, as the JSON object {"labels": {...}, "annotations": {...}}.
func (c *client) GetSecret(ctx context.Context, ref provider.Ref) (provider.Secret, error) {
	if err := checkRef(ref); err != nil {
		return nil, fmt.Errorf("secret %q in %s: %w", ref.Key, c.store, err)
	}
	var (
		s   provider.Secret
		err error
	)
	if ref.Metadata {
		s, err = c.metadata(ctx, ref.Key)
	} else {
		var data []byte
		data, err = c.access(ctx, ref.Key, ref.Version)
		s = provider.NewJSONSecret(data)
	}
	if err != nil {
		return nil, fmt.Errorf("secret %q%s in %s: %w", ref.Key, versionSuffix(ref.Version), c.store, err)
	}
	return s, nil
}

func checkRef(ref provider.Ref) error {
	if !secretIDPattern.MatchString(ref.Key) {
		return errors.New("a key is a secret ID: letters, digits, - and _, at most 255")
	}
	if ref.Version != "" && !versionPattern.MatchString(ref.Version) {
		return fmt.Errorf("version %q is not a version number, latest or an alias", ref.Version)
	}
	return nil
}

func versionSuffix(v string) string {
	if v == "" {
		return ""
	}
	return fmt.Sprintf(" version %q", v)
}

// access reads a version's data. With LatestOrFetch, a disabled or
// destroyed latest version is passed over for the newest enabled one.
func (c *client) access(ctx context.Context, id, version string) ([]byte, error) {
	if version == "" {
		version = "latest"
	}
	resp, err := c.accessVersion(ctx, c.secretName(id)+"/versions/"+version)
	if err != nil && c.fetchLatest && version == "latest" && unusableVersion(err) {
		resp, err = c.latestEnabled(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	data := resp.GetPayload().GetData()
	if sum := resp.GetPayload().DataCrc32C; sum != nil && uint32(*sum) != crc32.Checksum(data, castagnoli) {
		return nil, fmt.Errorf("Secret Manager AccessSecretVersion: the data of %s does not match its checksum", resp.GetName())
	}
	return data, nil
}

// accessVersion reads the version name.
func (c *client) accessVersion(ctx context.Context, name string) (*secretmanagerpb.AccessSecretVersionResponse, error) {
	ctx, op := c.observe(ctx, "AccessSecretVersion")
	resp, err := c.sm.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: name})
	if err != nil {
		err = describe("AccessSecretVersion", err)
		op.fail(err)
	}
	return resp, err
}

// latestEnabled reads the ENABLED version created last.
func (c *client) latestEnabled(ctx context.Context, id string) (*secretmanagerpb.AccessSecretVersionResponse, error) {
	listCtx, op := c.observe(ctx, "ListSecretVersions")
	it := c.sm.ListSecretVersions(listCtx, &secretmanagerpb.ListSecretVersionsRequest{
		Parent: c.secretName(id), Filter: "state:ENABLED", PageSize: listPageSize,
	})
	var newest *secretmanagerpb.SecretVersion
	for {
		v, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			err = describe("ListSecretVersions", err)
			op.fail(err)
			return nil, err
		}
		// The filter narrows the listing; the state is checked here too.
		if v.GetState() != secretmanagerpb.SecretVersion_ENABLED {
			continue
		}
		if newest == nil || v.GetCreateTime().AsTime().After(newest.GetCreateTime().AsTime()) {
			newest = v
		}
	}
	if newest == nil {
		return nil, errors.New("the latest version is disabled or destroyed and no version is enabled")
	}
	return c.accessVersion(ctx, newest.GetName())
}

// metadata reads a secret's labels and annotations, in the shape the
// External Secrets Operator gives them, so that properties such as
// "labels.team" select one.
func (c *client) metadata(ctx context.Context, id string) (provider.Secret, error) {
	ctx, op := c.observe(ctx, "GetSecret")
	sec, err := c.sm.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: c.secretName(id)})
	if err != nil {
		err = describe("GetSecret", err)
		op.fail(err)
		return nil, err
	}
	return provider.MapSecret(map[string]any{
		"labels":      anyMap(sec.GetLabels()),
		"annotations": anyMap(sec.GetAnnotations()),
	})
}

func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Find lists the secrets of the store's project (or location) whose ID
// starts with find.Path, matches find.Name and whose labels include
// find.Tags, then reads their latest versions. Keys of the result are
// secret IDs.
//
// The ListSecrets filter only narrows the listing: "name:" matches
// anywhere in a name, so IDs, names and labels are checked again here.
func (c *client) Find(ctx context.Context, find provider.Find) (map[string][]byte, error) {
	var re *regexp.Regexp
	if find.Name != "" {
		var err error
		if re, err = regexp.Compile(find.Name); err != nil {
			return nil, fmt.Errorf("find: name regexp: %w", err)
		}
	}
	filter, possible := listFilter(find)
	if !possible {
		return map[string][]byte{}, nil
	}
	var ids []string
	listCtx, op := c.observe(ctx, "ListSecrets")
	it := c.sm.ListSecrets(listCtx, &secretmanagerpb.ListSecretsRequest{Parent: c.parent, Filter: filter, PageSize: listPageSize})
	for {
		sec, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			err = describe("ListSecrets", err)
			op.fail(err)
			return nil, fmt.Errorf("find in %s: %w", c.store, err)
		}
		// Names carry the project number, not the ID the store names.
		id := sec.GetName()[strings.LastIndex(sec.GetName(), "/")+1:]
		if strings.HasPrefix(id, find.Path) && (re == nil || re.MatchString(id)) && hasLabels(sec.GetLabels(), find.Tags) {
			ids = append(ids, id)
		}
	}
	return c.readAll(ctx, ids)
}

// listFilter returns the ListSecrets filter for find, or false when no
// secret can match: a path no secret ID can start with, or a tag no
// label can carry.
func listFilter(find provider.Find) (string, bool) {
	var terms []string
	if find.Path != "" {
		if !secretIDPattern.MatchString(find.Path) {
			return "", false
		}
		terms = append(terms, "name:"+find.Path)
	}
	keys := make([]string, 0, len(find.Tags))
	for k := range find.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := find.Tags[k]
		if !isLabelKey(k) || v != "" && !isLabelValue(v) {
			return "", false
		}
		if v != "" {
			terms = append(terms, "labels."+k+"="+v)
		}
	}
	return strings.Join(terms, " AND "), true
}

func hasLabels(labels, want map[string]string) bool {
	for k, v := range want {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// readAll reads the latest versions of the secrets ids, a few at a time.
// A secret deleted, or left without versions, since it was listed is
// left out.
func (c *client) readAll(ctx context.Context, ids []string) (map[string][]byte, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		out   = make(map[string][]byte, len(ids))
		first error
		wg    sync.WaitGroup
		work  = make(chan string)
	)
	for i := 0; i < min(findReaders, len(ids)); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				data, err := c.access(ctx, id, "")
				mu.Lock()
				switch {
				case errors.Is(err, provider.ErrNotFound):
				case err != nil:
					if first == nil {
						first = fmt.Errorf("find in %s: secret %q: %w", c.store, id, err)
						cancel()
					}
				default:
					out[id] = data
				}
				mu.Unlock()
			}
		}()
	}
	for _, id := range ids {
		select {
		case work <- id:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	if first != nil {
		return nil, first
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("find in %s: %w", c.store, err)
	}
	return out, nil
}

// isLabelKey and isLabelValue check GCP's label rules: lowercase letters
// (any script), digits, '_' and '-', 1 to 63 characters, a key starting
// with a letter. (As regular expressions over Unicode classes they would
// cost megabytes of rune tables in every process that links this package.)
func isLabelKey(s string) bool {
	for i, r := range s {
		if i == 0 && !isLabelLetter(r) {
			return false
		}
		if !isLabelRune(r) {
			return false
		}
	}
	n := utf8.RuneCountInString(s)
	return n >= 1 && n <= 63
}

func isLabelValue(s string) bool {
	for _, r := range s {
		if !isLabelRune(r) {
			return false
		}
	}
	n := utf8.RuneCountInString(s)
	return n >= 1 && n <= 63
}

func isLabelLetter(r rune) bool { return unicode.In(r, unicode.Ll, unicode.Lo) }

func isLabelRune(r rune) bool {
	return isLabelLetter(r) || unicode.IsNumber(r) || r == '_' || r == '-'
}
