package generators

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/secretsync/secretsync/secretstore"
)

// Group is the API group of generators.
const Group = "generators.external-secrets.io"

// SchemeGroupVersion is generators.external-secrets.io/v1alpha1.
var SchemeGroupVersion = schema.GroupVersion{Group: Group, Version: "v1alpha1"}

// Generator kinds.
const (
	KindPassword              = "Password"
	KindUUID                  = "UUID"
	KindFake                  = "Fake"
	KindVaultDynamicSecret    = "VaultDynamicSecret"
	KindECRAuthorizationToken = "ECRAuthorizationToken"
	KindSTSSessionToken       = "STSSessionToken"
	KindGCRAccessToken        = "GCRAccessToken"
	KindACRAccessToken        = "ACRAccessToken"
	KindGithubAccessToken     = "GithubAccessToken"
	KindWebhook               = "Webhook"
	KindClusterGenerator      = "ClusterGenerator"
)

// KnownTypes are the types of this package a scheme registers, under
// SchemeGroupVersion.
func KnownTypes() []runtime.Object {
	return []runtime.Object{
		&Password{}, &PasswordList{}, &UUID{}, &UUIDList{}, &Fake{}, &FakeList{},
		&VaultDynamicSecret{}, &VaultDynamicSecretList{},
		&ECRAuthorizationToken{}, &ECRAuthorizationTokenList{}, &STSSessionToken{}, &STSSessionTokenList{},
		&GCRAccessToken{}, &GCRAccessTokenList{}, &ACRAccessToken{}, &ACRAccessTokenList{},
		&GithubAccessToken{}, &GithubAccessTokenList{}, &Webhook{}, &WebhookList{},
		&ClusterGenerator{}, &ClusterGeneratorList{},
	}
}

// PasswordSpec says what password to generate.
type PasswordSpec struct {
	// Length of the password. Defaults to 24.
	// +kubebuilder:default=24
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1024
	Length int `json:"length"`
	// Digits is how many digits it has; a quarter of the length when unset.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Digits *int `json:"digits,omitempty"`
	// Symbols is how many symbols it has; a quarter of the length when
	// unset.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Symbols *int `json:"symbols,omitempty"`
	// SymbolCharacters are the symbols to choose from; ~!@#$%^&*()_+`-={}|[]\:"<>?,./ when unset.
	// +optional
	SymbolCharacters *string `json:"symbolCharacters,omitempty"`
	// NoUpper leaves out upper-case letters.
	// +kubebuilder:default=false
	NoUpper bool `json:"noUpper"`
	// AllowRepeat lets a character appear more than once.
	// +kubebuilder:default=false
	AllowRepeat bool `json:"allowRepeat"`
	// Encoding of the password: raw (the default), base64, base64url,
	// base32 or hex.
	// +kubebuilder:default="raw"
	// +kubebuilder:validation:Enum=base64;base64url;base32;hex;raw
	// +optional
	Encoding *string `json:"encoding,omitempty"`
}

// Password generates a random password, under the key "password".
//
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={external-secrets,external-secrets-generators}
type Password struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              PasswordSpec `json:"spec,omitempty"`
}

// PasswordList is a list of Passwords.
//
// +kubebuilder:object:root=true
type PasswordList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Password `json:"items"`
}

// UUIDSpec has no settings.
type UUIDSpec struct{}

// UUID generates a random (version 4) UUID, under the key "uuid".
//
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={external-secrets,external-secrets-generators}
type UUID struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              UUIDSpec `json:"spec,omitempty"`
}

// UUIDList is a list of UUIDs.
//
// +kubebuilder:object:root=true
type UUIDList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []UUID `json:"items"`
}

// FakeSpec holds the values a Fake generator returns.
type FakeSpec struct {
	// Controller selects the controller class that serves it.
	// +optional
	Controller string `json:"controller,omitempty"`
	// Data are the values returned.
	Data map[string]string `json:"data,omitempty"`
}

// Fake returns fixed values, for tests and demos.
//
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={external-secrets,external-secrets-generators}
type Fake struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              FakeSpec `json:"spec,omitempty"`
}

// FakeList is a list of Fakes.
//
// +kubebuilder:object:root=true
type FakeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Fake `json:"items"`
}

// VaultDynamicSecretResultType says which part of Vault's response is
// the generated values.
//
// +kubebuilder:validation:Enum=Data;Auth;Raw
type VaultDynamicSecretResultType string

const (
	VaultResultData VaultDynamicSecretResultType = "Data"
	VaultResultAuth VaultDynamicSecretResultType = "Auth"
	VaultResultRaw  VaultDynamicSecretResultType = "Raw"
)

// VaultDynamicSecretSpec says which Vault path to call, and how.
type VaultDynamicSecretSpec struct {
	// Controller selects the controller class that serves it.
	// +optional
	Controller string `json:"controller,omitempty"`
	// Method is the HTTP method: GET (the default), POST, PUT and so on.
	// +optional
	Method string `json:"method,omitempty"`
	// Parameters are sent as the request body (for methods other than
	// GET).
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +optional
	Parameters *runtime.RawExtension `json:"parameters,omitempty"`
	// ResultType picks the part of the response: Data (the default), Auth
	// (for token creation), or Raw (the whole response).
	// +kubebuilder:default=Data
	// +optional
	ResultType VaultDynamicSecretResultType `json:"resultType,omitempty"`
	// RetrySettings configure retries of failed requests.
	// +optional
	RetrySettings *secretstore.RetrySettings `json:"retrySettings,omitempty"`
	// Provider is how to reach and log in to Vault, as a Vault store.
	Provider *secretstore.VaultProvider `json:"provider"`
	// Path to call, such as database/creds/app or pki/issue/web.
	Path string `json:"path"`
	// AllowEmptyResponse accepts a response without data.
	// +kubebuilder:default=false
	// +optional
	AllowEmptyResponse bool `json:"allowEmptyResponse,omitempty"`
}

// VaultDynamicSecret generates values by calling a Vault path: database
// credentials, cloud credentials, a PKI certificate, a token.
//
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={external-secrets,external-secrets-generators}
type VaultDynamicSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              VaultDynamicSecretSpec `json:"spec,omitempty"`
}

// VaultDynamicSecretList is a list of VaultDynamicSecrets.
//
// +kubebuilder:object:root=true
type VaultDynamicSecretList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VaultDynamicSecret `json:"items"`
}

// ECRAuthorizationTokenSpec says which registry to get a token for.
type ECRAuthorizationTokenSpec struct {
	// Region of the registry.
	Region string `json:"region"`
	// Auth is how to authenticate to AWS; the SDK's default chain when
	// unset.
	// +optional
	Auth secretstore.AWSAuth `json:"auth,omitempty"`
	// Role to assume first.
	// +optional
	Role string `json:"role,omitempty"`
	// Scope is private (the default) or public.
	// +optional
	Scope string `json:"scope,omitempty"`
}

// ECRAuthorizationToken generates an ECR login: username, password,
// proxy_endpoint and expires_at. The token lives 12 hours.
//
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={external-secrets,external-secrets-generators}
type ECRAuthorizationToken struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              ECRAuthorizationTokenSpec `json:"spec,omitempty"`
}

// ECRAuthorizationTokenList is a list of ECRAuthorizationTokens.
//
// +kubebuilder:object:root=true
type ECRAuthorizationTokenList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ECRAuthorizationToken `json:"items"`
}

// RequestParameters are the parameters of an STS GetSessionToken call.
type RequestParameters struct {
	// SessionDuration in seconds.
	// +optional
	SessionDuration *int64 `json:"sessionDuration,omitempty"`
	// SerialNumber of the MFA device.
	// +optional
	SerialNumber *string `json:"serialNumber,omitempty"`
	// TokenCode from the MFA device.
	// +optional
	TokenCode *string `json:"tokenCode,omitempty"`
}

// STSSessionTokenSpec says how to get a session token.
type STSSessionTokenSpec struct {
	// Region of STS.
	Region string `json:"region"`
	// +optional
	Auth secretstore.AWSAuth `json:"auth,omitempty"`
	// +optional
	Role string `json:"role,omitempty"`
	// +optional
	RequestParameters *RequestParameters `json:"requestParameters,omitempty"`
}

// STSSessionToken generates temporary AWS credentials.
//
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={external-secrets,external-secrets-generators}
type STSSessionToken struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              STSSessionTokenSpec `json:"spec,omitempty"`
}

// STSSessionTokenList is a list of STSSessionTokens.
//
// +kubebuilder:object:root=true
type STSSessionTokenList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []STSSessionToken `json:"items"`
}

// GCRAccessTokenSpec says how to get a Google Container Registry token.
type GCRAccessTokenSpec struct {
	// Auth is how to authenticate to Google Cloud.
	Auth secretstore.GCPSMAuth `json:"auth"`
	// ProjectID of the registry.
	ProjectID string `json:"projectID"`
}

// GCRAccessToken generates an access token for Google's registries.
//
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={external-secrets,external-secrets-generators}
type GCRAccessToken struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              GCRAccessTokenSpec `json:"spec,omitempty"`
}

// GCRAccessTokenList is a list of GCRAccessTokens.
//
// +kubebuilder:object:root=true
type GCRAccessTokenList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GCRAccessToken `json:"items"`
}

// ACRAccessTokenSpec says how to get an Azure Container Registry token.
type ACRAccessTokenSpec struct {
	// Auth is how to authenticate to Azure.
	Auth secretstore.AzureKVAuth `json:"auth"`
	// TenantID of the Azure AD tenant.
	// +optional
	TenantID string `json:"tenantId,omitempty"`
	// Registry is the registry's host name, such as example.azurecr.io.
	Registry string `json:"registry"`
	// Scope of an access token; a refresh token when empty.
	// +optional
	Scope string `json:"scope,omitempty"`
	// EnvironmentType is the Azure cloud; PublicCloud when unset.
	// +kubebuilder:default=PublicCloud
	// +optional
	EnvironmentType secretstore.AzureEnvironmentType `json:"environmentType,omitempty"`
}

// ACRAccessToken generates a token for an Azure Container Registry.
//
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={external-secrets,external-secrets-generators}
type ACRAccessToken struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              ACRAccessTokenSpec `json:"spec,omitempty"`
}

// ACRAccessTokenList is a list of ACRAccessTokens.
//
// +kubebuilder:object:root=true
type ACRAccessTokenList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ACRAccessToken `json:"items"`
}

// GithubAccessTokenSpec says which GitHub App installation to get a token
// for.
type GithubAccessTokenSpec struct {
	// URL of the GitHub API; https://api.github.com when unset.
	// +optional
	URL string `json:"url,omitempty"`
	// AppID of the GitHub App.
	AppID string `json:"appID"`
	// InstallID of the installation.
	InstallID string `json:"installID"`
	// Repositories the token may access; all of the installation's when
	// unset.
	// +optional
	Repositories []string `json:"repositories,omitempty"`
	// Permissions of the token; the installation's when unset.
	// +optional
	Permissions map[string]string `json:"permissions,omitempty"`
	// Auth holds the App's private key.
	Auth GithubAuth `json:"auth"`
}

// GithubAuth is how a GitHub App authenticates.
type GithubAuth struct {
	PrivateKey GithubSecretRef `json:"privateKey"`
}

// GithubSecretRef names the Secret key that holds the private key.
type GithubSecretRef struct {
	SecretRef secretstore.SecretKeySelector `json:"secretRef"`
}

// GithubAccessToken generates a GitHub App installation token, under the
// key "token".
//
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={external-secrets,external-secrets-generators}
type GithubAccessToken struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              GithubAccessTokenSpec `json:"spec,omitempty"`
}

// GithubAccessTokenList is a list of GithubAccessTokens.
//
// +kubebuilder:object:root=true
type GithubAccessTokenList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GithubAccessToken `json:"items"`
}

// WebhookSpec says which HTTP endpoint to call.
type WebhookSpec struct {
	// Method is the HTTP method; GET when unset.
	// +optional
	Method string `json:"method,omitempty"`
	// URL to call. It may be a template over the secrets' values.
	URL string `json:"url"`
	// Headers to send; values may be templates.
	// +optional
	Headers map[string]string `json:"headers,omitempty"`
	// Body to send; it may be a template.
	// +optional
	Body string `json:"body,omitempty"`
	// Timeout of the call.
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
	// Result says how to read the response.
	// +optional
	Result WebhookResult `json:"result,omitempty"`
	// Secrets are values the templates may use, by name.
	// +optional
	Secrets []WebhookSecret `json:"secrets,omitempty"`
	// CABundle is a PEM bundle of the CAs the server's certificate must
	// chain to.
	// +optional
	CABundle []byte `json:"caBundle,omitempty"`
	// CAProvider reads the CA bundle from a ConfigMap or Secret.
	// +optional
	CAProvider *secretstore.CAProvider `json:"caProvider,omitempty"`
}

// WebhookResult reads the response.
type WebhookResult struct {
	// JSONPath selects the values from a JSON response; the whole
	// response, a JSON object, when unset.
	// +optional
	JSONPath string `json:"jsonPath,omitempty"`
}

// WebhookSecret makes a Secret key available to templates as .name.
type WebhookSecret struct {
	Name      string                        `json:"name"`
	SecretRef secretstore.SecretKeySelector `json:"secretRef"`
}

// Webhook generates values by calling an HTTP endpoint.
//
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={external-secrets,external-secrets-generators}
type Webhook struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              WebhookSpec `json:"spec,omitempty"`
}

// WebhookList is a list of Webhooks.
//
// +kubebuilder:object:root=true
type WebhookList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Webhook `json:"items"`
}

// ClusterGeneratorSpec is the kind and spec of a cluster-wide generator.
type ClusterGeneratorSpec struct {
	// Kind of generator.
	// +kubebuilder:validation:Enum=ACRAccessToken;ECRAuthorizationToken;Fake;GCRAccessToken;GithubAccessToken;Password;STSSessionToken;UUID;VaultDynamicSecret;Webhook
	Kind string `json:"kind"`
	// Generator is its spec; the field must match the kind.
	Generator GeneratorSpec `json:"generator"`
}

// GeneratorSpec holds the spec of one generator kind.
//
// +kubebuilder:validation:MinProperties=1
// +kubebuilder:validation:MaxProperties=1
type GeneratorSpec struct {
	ACRAccessTokenSpec        *ACRAccessTokenSpec        `json:"acrAccessTokenSpec,omitempty"`
	ECRAuthorizationTokenSpec *ECRAuthorizationTokenSpec `json:"ecrAuthorizationTokenSpec,omitempty"`
	FakeSpec                  *FakeSpec                  `json:"fakeSpec,omitempty"`
	GCRAccessTokenSpec        *GCRAccessTokenSpec        `json:"gcrAccessTokenSpec,omitempty"`
	GithubAccessTokenSpec     *GithubAccessTokenSpec     `json:"githubAccessTokenSpec,omitempty"`
	PasswordSpec              *PasswordSpec              `json:"passwordSpec,omitempty"`
	STSSessionTokenSpec       *STSSessionTokenSpec       `json:"stsSessionTokenSpec,omitempty"`
	UUIDSpec                  *UUIDSpec                  `json:"uuidSpec,omitempty"`
	VaultDynamicSecretSpec    *VaultDynamicSecretSpec    `json:"vaultDynamicSecretSpec,omitempty"`
	WebhookSpec               *WebhookSpec               `json:"webhookSpec,omitempty"`
}

// ClusterGenerator is a generator every namespace may use.
//
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories={external-secrets,external-secrets-generators}
type ClusterGenerator struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              ClusterGeneratorSpec `json:"spec,omitempty"`
}

// ClusterGeneratorList is a list of ClusterGenerators.
//
// +kubebuilder:object:root=true
type ClusterGeneratorList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterGenerator `json:"items"`
}
