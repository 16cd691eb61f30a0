package fake

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/secretsync/secretsync/provider"
)

// TokenFunc answers a ServiceAccount token request, as the TokenRequest
// API does.
type TokenFunc func(ctx context.Context, namespace, name string, audiences []string, expiration time.Duration) (string, error)

// Credentials is a [provider.Credentials] held in memory, for tests and
// examples of providers: the keys of Secrets and ConfigMaps, the
// annotations of ServiceAccounts ([provider.ServiceAccountAnnotations]),
// and ServiceAccount tokens from a [TokenFunc], such as one calling a
// real kube-apiserver. What is missing is an error wrapping
// [provider.ErrNotFound], as from a cluster. The zero value holds
// nothing and is ready to use; it is safe for concurrent use.
type Credentials struct {
	mu          sync.Mutex
	secrets     map[string][]byte
	configMaps  map[string][]byte
	annotations map[string]map[string]string
	labels      map[string]map[string]string
	token       TokenFunc
	requests    int
	audiences   []string
}

var (
	_ provider.Credentials               = &Credentials{}
	_ provider.ServiceAccountAnnotations = &Credentials{}
	_ provider.SecretLabeler             = &Credentials{}
)

func objectKey(namespace, name, key string) string { return namespace + "/" + name + "/" + key }

// SetSecret sets key of the Secret namespace/name.
func (c *Credentials) SetSecret(namespace, name, key, value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.secrets == nil {
		c.secrets = map[string][]byte{}
	}
	c.secrets[objectKey(namespace, name, key)] = []byte(value)
}

// SetSecretLabels sets the labels of the Secret namespace/name.
func (c *Credentials) SetSecretLabels(namespace, name string, labels map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.labels == nil {
		c.labels = map[string]map[string]string{}
	}
	c.labels[namespace+"/"+name] = labels
}

// SecretLabels returns the labels of the Secret namespace/name, set with
// SetSecretLabels; a Secret with keys but no labels set has none.
func (c *Credentials) SecretLabels(_ context.Context, namespace, name string) (map[string]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.labels[namespace+"/"+name]; ok {
		return l, nil
	}
	prefix := namespace + "/" + name + "/"
	for k := range c.secrets {
		if len(k) > len(prefix) && k[:len(prefix)] == prefix {
			return nil, nil
		}
	}
	return nil, fmt.Errorf("Secret %s/%s: %w", namespace, name, provider.ErrNotFound)
}

// SetConfigMap sets key of the ConfigMap namespace/name.
func (c *Credentials) SetConfigMap(namespace, name, key, value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.configMaps == nil {
		c.configMaps = map[string][]byte{}
	}
	c.configMaps[objectKey(namespace, name, key)] = []byte(value)
}

// SetAnnotations makes the ServiceAccount namespace/name exist with these
// annotations.
func (c *Credentials) SetAnnotations(namespace, name string, annotations map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.annotations == nil {
		c.annotations = map[string]map[string]string{}
	}
	c.annotations[namespace+"/"+name] = annotations
}

// SetToken makes f answer token requests; with nil, they fail.
func (c *Credentials) SetToken(f TokenFunc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token = f
}

// TokenRequests returns how many tokens were asked for.
func (c *Credentials) TokenRequests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests
}

// LastAudiences returns the audiences of the last token request.
func (c *Credentials) LastAudiences() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.audiences
}

// SecretValue returns key of the Secret namespace/name.
func (c *Credentials) SecretValue(_ context.Context, namespace, name, key string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.secrets[objectKey(namespace, name, key)]
	if !ok {
		return nil, fmt.Errorf("Secret %s/%s key %s: %w", namespace, name, key, provider.ErrNotFound)
	}
	return v, nil
}

// ConfigMapValue returns key of the ConfigMap namespace/name.
func (c *Credentials) ConfigMapValue(_ context.Context, namespace, name, key string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.configMaps[objectKey(namespace, name, key)]
	if !ok {
		return nil, fmt.Errorf("ConfigMap %s/%s key %s: %w", namespace, name, key, provider.ErrNotFound)
	}
	return v, nil
}

// ServiceAccountAnnotations returns the annotations of the ServiceAccount
// namespace/name.
func (c *Credentials) ServiceAccountAnnotations(_ context.Context, namespace, name string) (map[string]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ann, ok := c.annotations[namespace+"/"+name]
	if !ok {
		return nil, fmt.Errorf("ServiceAccount %s/%s: %w", namespace, name, provider.ErrNotFound)
	}
	return ann, nil
}

// ServiceAccountToken counts the request and answers it with the
// [TokenFunc] set, outside the lock, so the function may block.
func (c *Credentials) ServiceAccountToken(ctx context.Context, namespace, name string, audiences []string, expiration time.Duration) (string, error) {
	c.mu.Lock()
	c.requests++
	c.audiences = audiences
	token := c.token
	c.mu.Unlock()
	if token == nil {
		return "", errors.New("no tokens")
	}
	return token(ctx, namespace, name, audiences, expiration)
}
