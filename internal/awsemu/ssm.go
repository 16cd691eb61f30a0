package awsemu

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Parameter types of SSM Parameter Store.
const (
	String       = "String"
	StringList   = "StringList"
	SecureString = "SecureString"
)

type parameter struct {
	name, typ   string
	versions    []paramVersion // versions[i] is version i+1
	labels      map[string]int64
	tags        []Tag
	description string
	keyID       string
	tier        string
	policies    string
}

// Parameter tiers.
const (
	TierStandard = "Standard"
	TierAdvanced = "Advanced"
)

type paramVersion struct {
	value    string
	modified time.Time
}

// PutParameter stores a new version of the parameter name with type typ
// (String, StringList or SecureString), as PutParameter with Overwrite
// does, and returns the version number.
func (s *Server) PutParameter(name, typ, value string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.params[name]
	if !ok {
		p = &parameter{name: name, labels: map[string]int64{}, tier: TierStandard}
		s.params[name] = p
	}
	p.typ = typ
	p.versions = append(p.versions, paramVersion{value: value, modified: time.Now()})
	return int64(len(p.versions))
}

// TagParameter sets tags on the parameter name.
func (s *Server) TagParameter(name string, tags map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.params[name]
	if !ok {
		panic("awsemu: TagParameter of a parameter never put: " + name)
	}
	p.tags = mergeTags(p.tags, tags)
}

// LabelParameterVersion attaches labels to a version of the parameter
// name, moving them from any other version.
func (s *Server) LabelParameterVersion(name string, version int64, labels ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range labels {
		s.params[name].labels[l] = version
	}
}

// DeleteParameter deletes the parameter name.
func (s *Server) DeleteParameter(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.params, name)
}

// ParameterState is what the server holds for a parameter, for tests to
// check what a client wrote.
type ParameterState struct {
	Type, Value string
	Version     int64
	Description string
	// KeyID is the KMS key PutParameter named, "" when none.
	KeyID    string
	Tier     string
	Policies string
	Tags     map[string]string
}

// Parameter returns the state of the parameter name, and whether it
// exists.
func (s *Server) Parameter(name string) (ParameterState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.params[name]
	if !ok {
		return ParameterState{}, false
	}
	n := len(p.versions)
	return ParameterState{
		Type: p.typ, Value: p.versions[n-1].value, Version: int64(n),
		Description: p.description, KeyID: p.keyID, Tier: p.tier, Policies: p.policies,
		Tags: tagMap(p.tags),
	}, true
}

func mergeTags(tags []Tag, set map[string]string) []Tag {
	for _, k := range sortedKeys(set) {
		i := sort.Search(len(tags), func(i int) bool { return tags[i].Key >= k })
		if i < len(tags) && tags[i].Key == k {
			tags[i].Value = set[k]
			continue
		}
		tags = append(tags[:i], append([]Tag{{k, set[k]}}, tags[i:]...)...)
	}
	return tags
}

func (s *Server) parameterARN(name string) string {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	return fmt.Sprintf("arn:aws:ssm:%s:%s:parameter%s", s.Region, Account, name)
}

type parameterOut struct {
	Name             string
	Type             string
	Value            string
	Version          int64
	Selector         string `json:",omitempty"`
	LastModifiedDate epoch
	ARN              string
	DataType         string
}

func (s *Server) output(p *parameter, version int64, selector string, decrypt bool) parameterOut {
	v := p.versions[version-1]
	value := v.value
	if p.typ == SecureString && !decrypt {
		// Stands in for KMS ciphertext: opaque, and never the value.
		sum := sha256.Sum256([]byte(p.name + "\x00" + strconv.FormatInt(version, 10) + "\x00" + value))
		value = "AQICAH" + base64.StdEncoding.EncodeToString(sum[:])
	}
	return parameterOut{
		Name: p.name, Type: p.typ, Value: value, Version: version, Selector: selector,
		LastModifiedDate: epoch(v.modified), ARN: s.parameterARN(p.name), DataType: "text",
	}
}

// selectParameter resolves "name", "name:version" or "name:label". The
// caller holds s.mu.
func (s *Server) selectParameter(ref string) (*parameter, int64, string, error) {
	name, sel, hasSel := strings.Cut(ref, ":")
	p, ok := s.params[name]
	if !ok {
		return nil, 0, "", errorf("ParameterNotFound", "")
	}
	if !hasSel {
		return p, int64(len(p.versions)), "", nil
	}
	if n, err := strconv.ParseInt(sel, 10, 64); err == nil {
		if n < 1 || n > int64(len(p.versions)) {
			return nil, 0, "", errorf("ParameterVersionNotFound", "Systems Manager could not find version %d of %s. Verify the version and try again.", n, name)
		}
		return p, n, ":" + sel, nil
	}
	n, ok := p.labels[sel]
	if !ok {
		return nil, 0, "", errorf("ParameterNotFound", "")
	}
	return p, n, ":" + sel, nil
}

func (s *Server) getParameter(req *request) (any, error) {
	var in struct {
		Name           string
		WithDecryption bool
	}
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, version, sel, err := s.selectParameter(in.Name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Parameter": s.output(p, version, sel, in.WithDecryption)}, nil
}

func (s *Server) getParameters(req *request) (any, error) {
	var in struct {
		Names          []string
		WithDecryption bool
	}
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	if len(in.Names) < 1 || len(in.Names) > 10 {
		return nil, errorf("ValidationException", "1 validation error detected: Value '%v' at 'names' failed to satisfy constraint: Member must have length less than or equal to 10", in.Names)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := struct {
		Parameters        []parameterOut
		InvalidParameters []string
	}{[]parameterOut{}, []string{}}
	for _, name := range in.Names {
		p, version, sel, err := s.selectParameter(name)
		if err != nil {
			out.InvalidParameters = append(out.InvalidParameters, name)
			continue
		}
		out.Parameters = append(out.Parameters, s.output(p, version, sel, in.WithDecryption))
	}
	return out, nil
}

// underPath reports whether name is below path, directly unless recursive.
func underPath(name, path string, recursive bool) bool {
	prefix := strings.TrimSuffix(path, "/") + "/"
	rest, ok := strings.CutPrefix(name, prefix)
	return ok && rest != "" && (recursive || !strings.Contains(rest, "/"))
}

func validPath(path string) error {
	if !strings.HasPrefix(path, "/") || len(path) > 2048 {
		return errorf("ValidationException", "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash \"/\".")
	}
	return nil
}

func (s *Server) getParametersByPath(req *request) (any, error) {
	var in struct {
		Path             string
		Recursive        bool
		WithDecryption   bool
		MaxResults       *int
		NextToken        *string
		ParameterFilters []any
	}
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	if err := validPath(in.Path); err != nil {
		return nil, err
	}
	if len(in.ParameterFilters) > 0 {
		return nil, errorf("InvalidFilterKey", "awsemu does not emulate ParameterFilters of GetParametersByPath")
	}
	max := 10
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 10 {
			return nil, errorf("ValidationException", "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10", *in.MaxResults)
		}
		max = *in.MaxResults
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var matched []*parameter
	for _, name := range sortedKeys(s.params) {
		if underPath(name, in.Path, in.Recursive) {
			matched = append(matched, s.params[name])
		}
	}
	matched, next, err := page("ssm:GetParametersByPath", matched, in.NextToken, max)
	if err != nil {
		return nil, err
	}
	out := struct {
		Parameters []parameterOut
		NextToken  *string `json:",omitempty"`
	}{[]parameterOut{}, next}
	for _, p := range matched {
		out.Parameters = append(out.Parameters, s.output(p, int64(len(p.versions)), "", in.WithDecryption))
	}
	return out, nil
}

type parameterFilter struct {
	Key    string
	Option string
	Values []string
}

func (s *Server) describeParameters(req *request) (any, error) {
	var in struct {
		ParameterFilters []parameterFilter
		MaxResults       *int
		NextToken        *string
	}
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	max := 10
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 50 {
			return nil, errorf("ValidationException", "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50", *in.MaxResults)
		}
		max = *in.MaxResults
	}
	for _, f := range in.ParameterFilters {
		switch {
		case f.Key == "Path":
			if len(f.Values) != 1 {
				return nil, errorf("InvalidFilterValue", "The Path filter takes one value.")
			}
			if err := validPath(f.Values[0]); err != nil {
				return nil, err
			}
		case f.Key == "Name", f.Key == "Type", strings.HasPrefix(f.Key, "tag:"):
		default:
			return nil, errorf("InvalidFilterKey", "awsemu does not emulate the %s filter", f.Key)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var matched []*parameter
	for _, name := range sortedKeys(s.params) {
		p := s.params[name]
		if matchParameter(p, in.ParameterFilters) {
			matched = append(matched, p)
		}
	}
	matched, next, err := page("ssm:DescribeParameters", matched, in.NextToken, max)
	if err != nil {
		return nil, err
	}
	type metadata struct {
		Name             string
		Type             string
		Version          int64
		LastModifiedDate epoch
		ARN              string
		DataType         string
		Description      string `json:",omitempty"`
		KeyId            string `json:",omitempty"`
		Tier             string
	}
	out := struct {
		Parameters []metadata
		NextToken  *string `json:",omitempty"`
	}{[]metadata{}, next}
	for _, p := range matched {
		n := int64(len(p.versions))
		out.Parameters = append(out.Parameters, metadata{p.name, p.typ, n, epoch(p.versions[n-1].modified), s.parameterARN(p.name), "text", p.description, p.keyID, p.tier})
	}
	return out, nil
}

func matchParameter(p *parameter, filters []parameterFilter) bool {
	for _, f := range filters {
		if !matchParameterFilter(p, f) {
			return false
		}
	}
	return true
}

func matchParameterFilter(p *parameter, f parameterFilter) bool {
	anyValue := func(match func(string) bool) bool {
		for _, v := range f.Values {
			if match(v) {
				return true
			}
		}
		return false
	}
	switch {
	case f.Key == "Path":
		return underPath(p.name, f.Values[0], f.Option == "Recursive")
	case f.Key == "Name":
		return anyValue(func(v string) bool {
			switch f.Option {
			case "BeginsWith":
				return strings.HasPrefix(p.name, v)
			case "Contains":
				return strings.Contains(p.name, v)
			}
			return p.name == v
		})
	case f.Key == "Type":
		return anyValue(func(v string) bool { return p.typ == v })
	case strings.HasPrefix(f.Key, "tag:"):
		key := strings.TrimPrefix(f.Key, "tag:")
		for _, t := range p.tags {
			if t.Key == key {
				return len(f.Values) == 0 || anyValue(func(v string) bool { return t.Value == v })
			}
		}
	}
	return false
}

func (s *Server) listTagsForResource(req *request) (any, error) {
	var in struct{ ResourceType, ResourceId string }
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	if in.ResourceType != "Parameter" {
		return nil, errorf("InvalidResourceType", "awsemu only tags parameters")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.params[in.ResourceId]
	if !ok {
		return nil, errorf("InvalidResourceId", "")
	}
	return map[string][]Tag{"TagList": append([]Tag{}, p.tags...)}, nil
}

func (s *Server) putParameterOp(req *request) (any, error) {
	var in struct {
		Name, Type, Value string
		Overwrite         bool
		Description       *string
		KeyId             *string
		Tier              string
		Policies          *string
		Tags              []Tag
	}
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	switch in.Type {
	case "", String, StringList, SecureString:
	default:
		return nil, errorf("ValidationException", "1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]", in.Type)
	}
	switch in.Tier {
	case "", TierStandard, TierAdvanced:
	case "Intelligent-Tiering":
		return nil, errorf("ValidationException", "awsemu does not emulate the Intelligent-Tiering tier")
	default:
		return nil, errorf("ValidationException", "1 validation error detected: Value '%s' at 'tier' failed to satisfy constraint: Member must satisfy enum value set: [Standard, Advanced, Intelligent-Tiering]", in.Tier)
	}
	if len(in.Tags) > 0 && in.Overwrite {
		return nil, errorf("ValidationException", "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, exists := s.params[in.Name]
	if exists && !in.Overwrite {
		return nil, errorf("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
	}
	if !exists {
		p = &parameter{name: in.Name, labels: map[string]int64{}, typ: String, tier: TierStandard}
	}
	// An update keeps what it does not name.
	if in.Type != "" {
		p.typ = in.Type
	}
	if in.Tier != "" {
		p.tier = in.Tier
	}
	if in.Description != nil {
		p.description = *in.Description
	}
	if in.KeyId != nil {
		p.keyID = *in.KeyId
	}
	if in.Policies != nil {
		p.policies = *in.Policies
	}
	p.tags = mergeTags(p.tags, tagMap(in.Tags))
	p.versions = append(p.versions, paramVersion{value: in.Value, modified: time.Now()})
	s.params[in.Name] = p
	return map[string]any{"Version": len(p.versions), "Tier": p.tier}, nil
}

// taggedParameter finds the parameter a tagging request names. The
// caller holds s.mu.
func (s *Server) taggedParameter(resourceType, id string) (*parameter, error) {
	if resourceType != "Parameter" {
		return nil, errorf("InvalidResourceType", "awsemu only tags parameters")
	}
	p, ok := s.params[id]
	if !ok {
		return nil, errorf("InvalidResourceId", "")
	}
	return p, nil
}

func (s *Server) addTagsToResource(req *request) (any, error) {
	var in struct {
		ResourceType, ResourceId string
		Tags                     []Tag
	}
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.taggedParameter(in.ResourceType, in.ResourceId)
	if err != nil {
		return nil, err
	}
	p.tags = mergeTags(p.tags, tagMap(in.Tags))
	return struct{}{}, nil
}

func (s *Server) removeTagsFromResource(req *request) (any, error) {
	var in struct {
		ResourceType, ResourceId string
		TagKeys                  []string
	}
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.taggedParameter(in.ResourceType, in.ResourceId)
	if err != nil {
		return nil, err
	}
	p.tags = removeTags(p.tags, in.TagKeys)
	return struct{}{}, nil
}

func (s *Server) deleteParameterOp(req *request) (any, error) {
	var in struct{ Name string }
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.params[in.Name]; !ok {
		return nil, errorf("ParameterNotFound", "")
	}
	delete(s.params, in.Name)
	return struct{}{}, nil
}
