package aws

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// maxBatchGetSecretValue is the most secrets BatchGetSecretValue reads by
// ID in one call.
const maxBatchGetSecretValue = 20

// uuidPrefix marks a version that is a VersionId rather than a
// VersionStage, as in the External Secrets Operator.
const uuidPrefix = "uuid/"

type secretsManager struct {
	base
	api   *secretsmanager.Client
	batch *coalescer
	// deletion is spec.provider.aws.secretsManager: how DeleteSecret
	// deletes a whole secret.
	deletion *secretstore.AWSSecretsManager
	// creds reads resource policies from the store's namespace, ""
	// for a ClusterSecretStore.
	creds     provider.Credentials
	namespace string
	locks     keyLocks
}

var (
	_ provider.Finder    = &secretsManager{}
	_ provider.Validator = &secretsManager{}
)

// GetSecret reads SecretString or SecretBinary of the secret prefix+key.
// The version is a VersionStage (AWSCURRENT when empty, AWSPREVIOUS, or a
// custom label) or, after "uuid/", a VersionId. With ref.Metadata it reads
// the secret's tags as a JSON object instead.
func (c *secretsManager) GetSecret(ctx context.Context, ref provider.Ref) (provider.Secret, error) {
	name := c.prefix + ref.Key
	var (
		s   provider.Secret
		err error
	)
	switch {
	case ref.Metadata:
		s, err = c.tags(ctx, name)
	case ref.Version == "" && c.batch != nil && !strings.HasPrefix(name, "arn:"):
		s, err = c.batch.get(ctx, name)
	default:
		s, err = c.get(ctx, name, ref.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("secret %q%s in %s: %w", ref.Key, versionSuffix(ref.Version), c.store, err)
	}
	return s, nil
}

func versionSuffix(v string) string {
	if v == "" {
		return ""
	}
	return fmt.Sprintf(" version %q", v)
}

func (c *secretsManager) getOne(ctx context.Context, name string) (provider.Secret, error) {
	return c.get(ctx, name, "")
}

func (c *secretsManager) get(ctx context.Context, name, version string) (provider.Secret, error) {
	in := &secretsmanager.GetSecretValueInput{SecretId: &name}
	if id, ok := strings.CutPrefix(version, uuidPrefix); ok {
		in.VersionId = &id
	} else if version != "" {
		in.VersionStage = &version
	}
	out, err := c.api.GetSecretValue(ctx, in)
	if err != nil {
		return nil, describe(err)
	}
	return secretValue(out.SecretString, out.SecretBinary)
}

// getMany reads the current versions of up to 20 secrets, by name, in one
// BatchGetSecretValue call.
func (c *secretsManager) getMany(ctx context.Context, names []string) (map[string]result, error) {
	out := make(map[string]result, len(names))
	asked := make(map[string]bool, len(names))
	for _, n := range names {
		asked[n] = true
	}
	in := &secretsmanager.BatchGetSecretValueInput{SecretIdList: names}
	for {
		page, err := c.api.BatchGetSecretValue(ctx, in)
		if err != nil {
			return nil, describe(err)
		}
		for _, v := range page.SecretValues {
			s, err := secretValue(v.SecretString, v.SecretBinary)
			// The response names each secret; the caller asked by name or ARN.
			for _, id := range []string{sdkaws.ToString(v.Name), sdkaws.ToString(v.ARN)} {
				if asked[id] {
					out[id] = result{s, err}
				}
			}
		}
		for _, e := range page.Errors {
			out[sdkaws.ToString(e.SecretId)] = result{err: itemError("Secrets Manager BatchGetSecretValue", sdkaws.ToString(e.ErrorCode), sdkaws.ToString(e.Message))}
		}
		if page.NextToken == nil {
			break
		}
		in.NextToken = page.NextToken
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			out[n] = result{err: fmt.Errorf("BatchGetSecretValue returned nothing for it")}
		}
	}
	return out, nil
}

func secretValue(str *string, bin []byte) (provider.Secret, error) {
	switch {
	case str != nil:
		return provider.NewJSONSecret([]byte(*str)), nil
	case bin != nil:
		return provider.NewJSONSecret(bin), nil
	}
	return nil, fmt.Errorf("the version has neither SecretString nor SecretBinary")
}

// tags reads the secret's tags with DescribeSecret.
func (c *secretsManager) tags(ctx context.Context, name string) (provider.Secret, error) {
	out, err := c.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: &name})
	if err != nil {
		return nil, describe(err)
	}
	m := make(map[string]any, len(out.Tags))
	for _, t := range out.Tags {
		m[sdkaws.ToString(t.Key)] = sdkaws.ToString(t.Value)
	}
	return provider.MapSecret(m)
}

// Find lists the secrets under prefix+path whose name, relative to the
// store's prefix, matches find.Name and whose tags include find.Tags, then
// reads their current values 20 at a time with BatchGetSecretValue. Keys
// of the result are names relative to the prefix.
//
// ListSecrets filters only narrow the listing: AWS matches them as
// prefixes, and a tag-key and a tag-value filter may match different
// tags, so names and tags are checked again here.
func (c *secretsManager) Find(ctx context.Context, find provider.Find) (map[string][]byte, error) {
	var re *regexp.Regexp
	if find.Name != "" {
		var err error
		if re, err = regexp.Compile(find.Name); err != nil {
			return nil, fmt.Errorf("find: name regexp: %w", err)
		}
	}
	under := c.prefix + find.Path
	var filters []smtypes.Filter
	if under != "" && filterable(under) {
		filters = append(filters, smtypes.Filter{Key: smtypes.FilterNameStringTypeName, Values: []string{under}})
	}
	if len(find.Tags) > 0 {
		keys := make([]string, 0, len(find.Tags))
		for k := range find.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if k, v := keys[0], find.Tags[keys[0]]; filterable(k) && filterable(v) {
			filters = append(filters,
				smtypes.Filter{Key: smtypes.FilterNameStringTypeTagKey, Values: []string{k}},
				smtypes.Filter{Key: smtypes.FilterNameStringTypeTagValue, Values: []string{v}})
		}
	}

	names := map[string]string{} // ARN to name relative to the prefix
	pages := secretsmanager.NewListSecretsPaginator(c.api, &secretsmanager.ListSecretsInput{Filters: filters, MaxResults: sdkaws.Int32(100)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("find in %s: %w", c.store, describe(err))
		}
		for _, e := range page.SecretList {
			name := sdkaws.ToString(e.Name)
			if !strings.HasPrefix(name, under) {
				continue
			}
			rel := strings.TrimPrefix(name, c.prefix)
			if (re == nil || re.MatchString(rel)) && hasTags(e.Tags, find.Tags) {
				names[sdkaws.ToString(e.ARN)] = rel
			}
		}
	}

	arns := make([]string, 0, len(names))
	for arn := range names {
		arns = append(arns, arn)
	}
	sort.Strings(arns)
	out := make(map[string][]byte, len(arns))
	for len(arns) > 0 {
		n := min(len(arns), maxBatchGetSecretValue)
		chunk := arns[:n]
		arns = arns[n:]
		results, err := c.getMany(ctx, chunk)
		if isAccessDenied(err) {
			results, err = c.getEach(ctx, chunk)
		}
		if err != nil {
			return nil, fmt.Errorf("find in %s: %w", c.store, err)
		}
		for arn, r := range results {
			if errors.Is(r.err, provider.ErrNotFound) {
				continue // deleted since it was listed
			}
			if r.err != nil {
				return nil, fmt.Errorf("find in %s: secret %q: %w", c.store, names[arn], r.err)
			}
			v, _ := r.secret.Value()
			out[names[arn]] = v
		}
	}
	return out, nil
}

// getEach reads secrets one by one, for principals that may not call
// BatchGetSecretValue.
func (c *secretsManager) getEach(ctx context.Context, ids []string) (map[string]result, error) {
	out := make(map[string]result, len(ids))
	for _, id := range ids {
		s, err := c.get(ctx, id, "")
		out[id] = result{s, err}
	}
	return out, nil
}

// filterable reports whether ListSecrets accepts v as a filter value.
var filterable = regexp.MustCompile(`^[a-zA-Z0-9 :_@/+=.\-]{1,512}$`).MatchString

func hasTags(tags []smtypes.Tag, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, t := range tags {
			if sdkaws.ToString(t.Key) == k && sdkaws.ToString(t.Value) == v {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
