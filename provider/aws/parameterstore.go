package aws

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/secretsync/secretsync/provider"
)

// maxGetParameters is the most names GetParameters reads in one call.
const maxGetParameters = 10

type parameterStore struct {
	base
	api   *ssm.Client
	batch *coalescer
	locks keyLocks
}

var (
	_ provider.Finder    = &parameterStore{}
	_ provider.Validator = &parameterStore{}
)

// GetSecret reads the parameter prefix+key, decrypted. The version is a
// parameter version or label, read as "name:version". A StringList reads
// as its comma-separated value. With ref.Metadata it reads the
// parameter's tags as a JSON object instead.
func (c *parameterStore) GetSecret(ctx context.Context, ref provider.Ref) (provider.Secret, error) {
	name := c.prefix + ref.Key
	if ref.Version != "" {
		name += ":" + ref.Version
	}
	var (
		s   provider.Secret
		err error
	)
	switch {
	case ref.Metadata:
		s, err = c.tags(ctx, c.prefix+ref.Key)
	case c.batch != nil:
		s, err = c.batch.get(ctx, name)
	default:
		s, err = c.getOne(ctx, name)
	}
	if err != nil {
		return nil, fmt.Errorf("parameter %q%s in %s: %w", ref.Key, versionSuffix(ref.Version), c.store, err)
	}
	return s, nil
}

func (c *parameterStore) getOne(ctx context.Context, name string) (provider.Secret, error) {
	out, err := c.api.GetParameter(ctx, &ssm.GetParameterInput{Name: &name, WithDecryption: sdkaws.Bool(true)})
	if err != nil {
		return nil, describe(err)
	}
	return provider.NewJSONSecret([]byte(sdkaws.ToString(out.Parameter.Value))), nil
}

// getMany reads up to 10 parameters, each "name" or "name:version", in
// one GetParameters call.
func (c *parameterStore) getMany(ctx context.Context, names []string) (map[string]result, error) {
	out, err := c.api.GetParameters(ctx, &ssm.GetParametersInput{Names: names, WithDecryption: sdkaws.Bool(true)})
	if err != nil {
		return nil, describe(err)
	}
	res := make(map[string]result, len(names))
	for _, p := range out.Parameters {
		res[sdkaws.ToString(p.Name)+sdkaws.ToString(p.Selector)] = result{secret: provider.NewJSONSecret([]byte(sdkaws.ToString(p.Value)))}
	}
	for _, n := range out.InvalidParameters {
		res[n] = result{err: itemError("SSM GetParameters", "ParameterNotFound", "")}
	}
	for _, n := range names {
		if _, ok := res[n]; !ok {
			res[n] = result{err: errors.New("GetParameters returned nothing for it")}
		}
	}
	return res, nil
}

func (c *parameterStore) tags(ctx context.Context, name string) (provider.Secret, error) {
	out, err := c.api.ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{
		ResourceType: ssmtypes.ResourceTypeForTaggingParameter,
		ResourceId:   &name,
	})
	if err != nil {
		err = describe(err)
		// ListTagsForResource reports a missing parameter as an invalid
		// resource ID.
		if e, ok := err.(*awsError); ok && strings.HasPrefix(e.msg, "SSM ListTagsForResource: InvalidResourceId") {
			e.notFound = true
		}
		return nil, err
	}
	m := make(map[string]any, len(out.TagList))
	for _, t := range out.TagList {
		m[sdkaws.ToString(t.Key)] = sdkaws.ToString(t.Value)
	}
	return provider.MapSecret(m)
}

// Find returns the decrypted parameters under prefix+path ("/" when both
// are empty) whose names, relative to the prefix, match find.Name. It
// reads them with GetParametersByPath, recursively. With find.Tags it
// lists matching parameters with DescribeParameters instead and reads them
// ten at a time with GetParameters.
func (c *parameterStore) Find(ctx context.Context, find provider.Find) (map[string][]byte, error) {
	var re *regexp.Regexp
	if find.Name != "" {
		var err error
		if re, err = regexp.Compile(find.Name); err != nil {
			return nil, fmt.Errorf("find: name regexp: %w", err)
		}
	}
	under := c.prefix + find.Path
	path := strings.TrimSuffix(under, "/")
	if path == "" {
		path = "/"
	}
	match := func(name string) (string, bool) {
		rel := strings.TrimPrefix(name, c.prefix)
		return rel, strings.HasPrefix(name, under) && (re == nil || re.MatchString(rel))
	}
	out := map[string][]byte{}
	if len(find.Tags) > 0 {
		if err := c.findByTags(ctx, path, find.Tags, match, out); err != nil {
			return nil, fmt.Errorf("find in %s: %w", c.store, err)
		}
		return out, nil
	}
	pages := ssm.NewGetParametersByPathPaginator(c.api, &ssm.GetParametersByPathInput{
		Path:           &path,
		Recursive:      sdkaws.Bool(true),
		WithDecryption: sdkaws.Bool(true),
		MaxResults:     sdkaws.Int32(maxGetParameters),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("find in %s: %w", c.store, describe(err))
		}
		for _, p := range page.Parameters {
			if rel, ok := match(sdkaws.ToString(p.Name)); ok {
				out[rel] = []byte(sdkaws.ToString(p.Value))
			}
		}
	}
	return out, nil
}

func (c *parameterStore) findByTags(ctx context.Context, path string, tags map[string]string, match func(string) (string, bool), out map[string][]byte) error {
	var filters []ssmtypes.ParameterStringFilter
	if path != "/" {
		filters = append(filters, ssmtypes.ParameterStringFilter{Key: sdkaws.String("Path"), Option: sdkaws.String("Recursive"), Values: []string{path}})
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		filters = append(filters, ssmtypes.ParameterStringFilter{Key: sdkaws.String("tag:" + k), Option: sdkaws.String("Equals"), Values: []string{tags[k]}})
	}
	var names []string
	rel := map[string]string{}
	pages := ssm.NewDescribeParametersPaginator(c.api, &ssm.DescribeParametersInput{ParameterFilters: filters, MaxResults: sdkaws.Int32(50)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return describe(err)
		}
		for _, p := range page.Parameters {
			name := sdkaws.ToString(p.Name)
			if r, ok := match(name); ok {
				names = append(names, name)
				rel[name] = r
			}
		}
	}
	for len(names) > 0 {
		n := min(len(names), maxGetParameters)
		results, err := c.getMany(ctx, names[:n])
		if err != nil {
			return err
		}
		for name, r := range results {
			if errors.Is(r.err, provider.ErrNotFound) {
				continue // deleted since it was listed
			}
			if r.err != nil {
				return fmt.Errorf("parameter %q: %w", rel[name], r.err)
			}
			v, _ := r.secret.Value()
			out[rel[name]] = v
		}
		names = names[n:]
	}
	return nil
}
