package secretstore

import "fmt"

// Provider configures the external store. Exactly one field is set.
//
// +kubebuilder:validation:XValidation:rule="[has(self.fake), has(self.vault), has(self.aws), has(self.gcpsm), has(self.azurekv), has(self.kubernetes), has(self.onepassword), has(self.doppler)].filter(x, x).size() == 1",message="set exactly one provider: fake, vault, aws, gcpsm, azurekv, kubernetes, onepassword or doppler"
type Provider struct {
	// Fake serves static values from the spec; for development and tests.
	// +optional
	Fake *FakeProvider `json:"fake,omitempty"`
	// Vault reads HashiCorp Vault KV secrets.
	// +optional
	Vault *VaultProvider `json:"vault,omitempty"`
	// AWS reads AWS Secrets Manager or Parameter Store.
	// +optional
	AWS *AWSProvider `json:"aws,omitempty"`
	// GCPSM reads Google Cloud Secret Manager.
	// +optional
	GCPSM *GCPSMProvider `json:"gcpsm,omitempty"`
	// AzureKV reads Azure Key Vault.
	// +optional
	AzureKV *AzureKVProvider `json:"azurekv,omitempty"`
	// Kubernetes reads Secrets of a Kubernetes cluster.
	// +optional
	Kubernetes *KubernetesProvider `json:"kubernetes,omitempty"`
	// OnePassword reads 1Password through a Connect server.
	// +optional
	OnePassword *OnePasswordProvider `json:"onepassword,omitempty"`
	// Doppler reads Doppler configs.
	// +optional
	Doppler *DopplerProvider `json:"doppler,omitempty"`
}

func (p *Provider) set() []string {
	var names []string
	add := func(ok bool, name string) {
		if ok {
			names = append(names, name)
		}
	}
	add(p.Fake != nil, "fake")
	add(p.Vault != nil, "vault")
	add(p.AWS != nil, "aws")
	add(p.GCPSM != nil, "gcpsm")
	add(p.AzureKV != nil, "azurekv")
	add(p.Kubernetes != nil, "kubernetes")
	add(p.OnePassword != nil, "onepassword")
	add(p.Doppler != nil, "doppler")
	return names
}

// FakeProvider serves the values listed in its spec.
type FakeProvider struct {
	Data []FakeProviderData `json:"data"`
	// ValidationResult is what validating the store reports, as in ESO:
	// 0 (Ready, the default), 1 (Unknown: the store is Ready but says it
	// could not be validated) or 2 (Error: the store is not Ready).
	// +optional
	ValidationResult *ValidationResult `json:"validationResult,omitempty"`
}

// ValidationResult is the outcome of validating a store, numbered as ESO
// numbers it.
//
// +kubebuilder:validation:Minimum=0
// +kubebuilder:validation:Maximum=2
type ValidationResult uint8

const (
	ValidationResultReady   ValidationResult = 0
	ValidationResultUnknown ValidationResult = 1
	ValidationResultError   ValidationResult = 2
)

// String returns Ready, Unknown or Error.
func (v ValidationResult) String() string {
	switch v {
	case ValidationResultReady:
		return "Ready"
	case ValidationResultUnknown:
		return "Unknown"
	case ValidationResultError:
		return "Error"
	}
	return fmt.Sprintf("ValidationResult(%d)", uint8(v))
}

// FakeProviderData is one value of a fake store.
type FakeProviderData struct {
	Key string `json:"key"`
	// +optional
	Value string `json:"value,omitempty"`
	// ValueMap is deprecated in favour of a JSON Value.
	// +optional
	ValueMap map[string]string `json:"valueMap,omitempty"`
	// +optional
	Version string `json:"version,omitempty"`
}

// VaultProvider reads HashiCorp Vault.
type VaultProvider struct {
	// Auth configures how to log in.
	// +optional
	Auth *VaultAuth `json:"auth,omitempty"`
	// Server is the Vault address, such as https://vault.example:8200.
	Server string `json:"server"`
	// Path is the mount path of the KV engine.
	// +optional
	Path *string `json:"path,omitempty"`
	// Version of the KV engine, v1 or v2. Defaults to v2.
	// +kubebuilder:validation:Enum=v1;v2
	// +kubebuilder:default="v2"
	// +optional
	Version VaultKVStoreVersion `json:"version,omitempty"`
	// Namespace is the Vault Enterprise namespace.
	// +optional
	Namespace *string `json:"namespace,omitempty"`
	// CABundle is a PEM CA bundle to trust.
	// +optional
	CABundle []byte `json:"caBundle,omitempty"`
	// TLS configures a client certificate.
	// +optional
	ClientTLS VaultClientTLS `json:"tls,omitempty"`
	// CAProvider names a Secret or ConfigMap holding the CA bundle.
	// +optional
	CAProvider *CAProvider `json:"caProvider,omitempty"`
	// ReadYourWrites sends X-Vault-Index on reads after writes.
	// +optional
	ReadYourWrites bool `json:"readYourWrites,omitempty"`
	// ForwardInconsistent forwards reads to the active node when a
	// standby is behind.
	// +optional
	ForwardInconsistent bool `json:"forwardInconsistent,omitempty"`
	// Headers are sent on every request.
	// +optional
	Headers map[string]string `json:"headers,omitempty"`
	// CheckAndSet configures check-and-set writes for PushSecret. It is
	// accepted so that ESO manifests apply; secretsync does not push yet,
	// so it changes nothing a read does.
	// +optional
	CheckAndSet *VaultCheckAndSet `json:"checkAndSet,omitempty"`
}

// VaultCheckAndSet configures Vault KV v2 check-and-set writes, for
// PushSecret.
type VaultCheckAndSet struct {
	// Required makes every write carry the version it replaces.
	// +optional
	Required bool `json:"required,omitempty"`
}

// VaultKVStoreVersion is the version of a KV engine.
type VaultKVStoreVersion string

const (
	VaultKVStoreV1 VaultKVStoreVersion = "v1"
	VaultKVStoreV2 VaultKVStoreVersion = "v2"
)

// VaultClientTLS is a client certificate for Vault.
type VaultClientTLS struct {
	// +optional
	CertSecretRef *SecretKeySelector `json:"certSecretRef,omitempty"`
	// +optional
	KeySecretRef *SecretKeySelector `json:"keySecretRef,omitempty"`
}

// VaultAuth configures how to log in to Vault. Exactly one method is set.
type VaultAuth struct {
	// Namespace to log in to, when it differs from the provider's.
	// +optional
	Namespace *string `json:"namespace,omitempty"`
	// +optional
	TokenSecretRef *SecretKeySelector `json:"tokenSecretRef,omitempty"`
	// +optional
	AppRole *VaultAppRole `json:"appRole,omitempty"`
	// +optional
	Kubernetes *VaultKubernetesAuth `json:"kubernetes,omitempty"`
	// +optional
	Ldap *VaultLdapAuth `json:"ldap,omitempty"`
	// +optional
	Jwt *VaultJwtAuth `json:"jwt,omitempty"`
	// +optional
	Cert *VaultCertAuth `json:"cert,omitempty"`
	// +optional
	UserPass *VaultUserPassAuth `json:"userPass,omitempty"`
	// Iam logs in with Vault's AWS auth method, IAM type: a signed
	// sts:GetCallerIdentity request.
	// +optional
	Iam *VaultIamAuth `json:"iam,omitempty"`
	// GCP logs in with Vault's GCP auth method, IAM type: a JWT signed
	// by a GCP service account.
	// +optional
	GCP *VaultGCPAuth `json:"gcp,omitempty"`
}

// VaultIamAuth logs in with Vault's AWS auth method, IAM type. Without
// secretRef or jwt it uses the controller's own AWS credentials from the
// environment.
type VaultIamAuth struct {
	// Path is the mount of the AWS auth method. Defaults to "aws".
	// +optional
	Path string `json:"path,omitempty"`
	// Region of the STS endpoint the login is signed for. Defaults to
	// us-east-1.
	// +optional
	Region string `json:"region,omitempty"`
	// AWSIAMRole is an IAM role to assume before logging in.
	// +optional
	AWSIAMRole string `json:"role,omitempty"`
	// Role is the Vault role to log in as.
	Role string `json:"vaultRole"`
	// ExternalID is passed when assuming AWSIAMRole.
	// +optional
	ExternalID string `json:"externalID,omitempty"`
	// VaultAWSIAMServerID is sent, signed, as X-Vault-AWS-IAM-Server-ID,
	// for a mount that requires it.
	// +optional
	VaultAWSIAMServerID string `json:"vaultAwsIamServerID,omitempty"`
	// STSEndpointPolicy is Legacy (default: sign for the global STS
	// endpoint) or Regional (sign for sts.REGION.amazonaws.com).
	// +kubebuilder:validation:Enum=Legacy;Regional
	// +optional
	STSEndpointPolicy VaultIAMSTSEndpointPolicy `json:"stsEndpointPolicy,omitempty"`
	// SecretRef names static AWS credentials.
	// +optional
	SecretRef *VaultAwsAuthSecretRef `json:"secretRef,omitempty"`
	// JWTAuth exchanges a ServiceAccount token for AWS credentials (IRSA).
	// +optional
	JWTAuth *VaultAwsJWTAuth `json:"jwt,omitempty"`
}

// VaultIAMSTSEndpointPolicy says which STS endpoint a Vault IAM login is
// signed for.
type VaultIAMSTSEndpointPolicy string

const (
	VaultIAMSTSEndpointPolicyLegacy   VaultIAMSTSEndpointPolicy = "Legacy"
	VaultIAMSTSEndpointPolicyRegional VaultIAMSTSEndpointPolicy = "Regional"
)

// VaultAwsAuthSecretRef names static AWS credentials.
type VaultAwsAuthSecretRef struct {
	// +optional
	AccessKeyID SecretKeySelector `json:"accessKeyIDSecretRef,omitempty"`
	// +optional
	SecretAccessKey SecretKeySelector `json:"secretAccessKeySecretRef,omitempty"`
	// +optional
	SessionToken *SecretKeySelector `json:"sessionTokenSecretRef,omitempty"`
}

// VaultAwsJWTAuth names a ServiceAccount whose token is exchanged for AWS
// credentials.
type VaultAwsJWTAuth struct {
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
}

// VaultGCPAuth logs in with Vault's GCP auth method, IAM type.
type VaultGCPAuth struct {
	// Path is the mount of the GCP auth method. Defaults to "gcp".
	// +kubebuilder:default=gcp
	// +optional
	Path string `json:"path,omitempty"`
	// Role is the Vault role to log in as.
	Role string `json:"role"`
	// ProjectID of the service account.
	// +optional
	ProjectID string `json:"projectID,omitempty"`
	// Location of the cluster, for workload identity.
	// +optional
	Location string `json:"location,omitempty"`
	// SecretRef names a service-account JSON key that signs the login.
	// +optional
	SecretRef *GCPSMAuthSecretRef `json:"secretRef,omitempty"`
	// WorkloadIdentity signs the login as a GKE workload identity.
	// +optional
	WorkloadIdentity *GCPWorkloadIdentity `json:"workloadIdentity,omitempty"`
	// ServiceAccountRef names a ServiceAccount to impersonate.
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
}

// VaultAppRole logs in with an AppRole.
type VaultAppRole struct {
	// +kubebuilder:default="approle"
	Path string `json:"path"`
	// +optional
	RoleID string `json:"roleId,omitempty"`
	// +optional
	RoleRef   *SecretKeySelector `json:"roleRef,omitempty"`
	SecretRef SecretKeySelector  `json:"secretRef"`
}

// VaultKubernetesAuth logs in with a Kubernetes ServiceAccount token.
type VaultKubernetesAuth struct {
	// +kubebuilder:default="kubernetes"
	Path string `json:"mountPath"`
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
	// +optional
	SecretRef *SecretKeySelector `json:"secretRef,omitempty"`
	Role      string             `json:"role"`
}

// VaultLdapAuth logs in with an LDAP user.
type VaultLdapAuth struct {
	// +kubebuilder:default="ldap"
	Path     string `json:"path"`
	Username string `json:"username"`
	// +optional
	SecretRef SecretKeySelector `json:"secretRef,omitempty"`
}

// VaultUserPassAuth logs in with a userpass user.
type VaultUserPassAuth struct {
	// +kubebuilder:default="userpass"
	Path     string `json:"path"`
	Username string `json:"username"`
	// +optional
	SecretRef SecretKeySelector `json:"secretRef,omitempty"`
}

// VaultJwtAuth logs in with a JWT.
type VaultJwtAuth struct {
	// +kubebuilder:default="jwt"
	Path string `json:"path"`
	// +optional
	Role string `json:"role,omitempty"`
	// +optional
	SecretRef *SecretKeySelector `json:"secretRef,omitempty"`
	// +optional
	KubernetesServiceAccountToken *VaultKubernetesServiceAccountTokenAuth `json:"kubernetesServiceAccountToken,omitempty"`
}

// VaultKubernetesServiceAccountTokenAuth requests a ServiceAccount token to
// use as the JWT.
type VaultKubernetesServiceAccountTokenAuth struct {
	ServiceAccountRef ServiceAccountSelector `json:"serviceAccountRef"`
	// +optional
	Audiences *[]string `json:"audiences,omitempty"`
	// +optional
	ExpirationSeconds *int64 `json:"expirationSeconds,omitempty"`
}

// VaultCertAuth logs in with a TLS client certificate.
type VaultCertAuth struct {
	// +kubebuilder:default="cert"
	// +optional
	Path string `json:"path,omitempty"`
	// ClientCert is the PEM certificate.
	// +optional
	ClientCert SecretKeySelector `json:"clientCert,omitempty"`
	// SecretRef is the PEM private key.
	// +optional
	SecretRef SecretKeySelector `json:"secretRef,omitempty"`
	// VaultRole is the cert role to log in as; empty lets Vault pick the
	// role whose certificate matches.
	// +optional
	VaultRole string `json:"vaultRole,omitempty"`
}

// AWSProvider reads AWS Secrets Manager or Parameter Store.
type AWSProvider struct {
	// Service is SecretsManager or ParameterStore.
	// +kubebuilder:validation:Enum=SecretsManager;ParameterStore
	Service AWSServiceType `json:"service"`
	// Auth configures credentials; the SDK default chain when empty.
	// +optional
	Auth AWSAuth `json:"auth,omitempty"`
	// Role is an IAM role to assume.
	// +optional
	Role string `json:"role,omitempty"`
	// Region of the service.
	Region string `json:"region"`
	// AdditionalRoles are assumed in order after Role.
	// +optional
	AdditionalRoles []string `json:"additionalRoles,omitempty"`
	// ExternalID is passed when assuming Role.
	// +optional
	ExternalID string `json:"externalID,omitempty"`
	// SessionTags are passed when assuming Role.
	// +optional
	SessionTags []*AWSTag `json:"sessionTags,omitempty"`
	// TransitiveTagKeys are passed when assuming Role.
	// +optional
	TransitiveTagKeys []*string `json:"transitiveTagKeys,omitempty"`
	// SessionTagsPolicy adds session tags naming the store when assuming
	// Role: None (default) adds none; Simple adds esoNamespace,
	// esoStoreName and esoStoreKind; Custom adds those and
	// CustomSessionTags. The role's trust policy must allow
	// sts:TagSession.
	// +kubebuilder:validation:Enum=None;Simple;Custom
	// +kubebuilder:default=None
	// +optional
	SessionTagsPolicy AWSSessionTagsPolicy `json:"sessionTagsPolicy,omitempty"`
	// CustomSessionTags are added when SessionTagsPolicy is Custom.
	// +optional
	CustomSessionTags map[string]string `json:"customSessionTags,omitempty"`
	// SecretsManager configures how PushSecret deletes secrets. It is
	// accepted so that ESO manifests apply; secretsync does not push yet,
	// so it changes nothing a read does.
	// +optional
	SecretsManager *AWSSecretsManager `json:"secretsManager,omitempty"`
	// Prefix is prepended to every key.
	// +optional
	Prefix string `json:"prefix,omitempty"`
}

// AWSServiceType is an AWS service.
type AWSServiceType string

const (
	AWSServiceSecretsManager AWSServiceType = "SecretsManager"
	AWSServiceParameterStore AWSServiceType = "ParameterStore"
)

// AWSSessionTagsPolicy says which session tags name the store.
type AWSSessionTagsPolicy string

const (
	AWSSessionTagsPolicyNone   AWSSessionTagsPolicy = "None"
	AWSSessionTagsPolicySimple AWSSessionTagsPolicy = "Simple"
	AWSSessionTagsPolicyCustom AWSSessionTagsPolicy = "Custom"
)

// AWSSecretsManager configures PushSecret's deletes from Secrets Manager.
type AWSSecretsManager struct {
	// ForceDeleteWithoutRecovery deletes with no recovery window.
	// +optional
	ForceDeleteWithoutRecovery bool `json:"forceDeleteWithoutRecovery,omitempty"`
	// RecoveryWindowInDays, from 7 to 30, before a delete is final.
	// +optional
	RecoveryWindowInDays int64 `json:"recoveryWindowInDays,omitempty"`
}

// AWSTag is a session tag.
type AWSTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// AWSAuth configures AWS credentials.
type AWSAuth struct {
	// +optional
	SecretRef *AWSAuthSecretRef `json:"secretRef,omitempty"`
	// +optional
	JWTAuth *AWSJWTAuth `json:"jwt,omitempty"`
}

// AWSAuthSecretRef names static credentials.
type AWSAuthSecretRef struct {
	// AccessKeyID names the access key ID. Optional in the schema, as in
	// ESO; a store without it is not Ready.
	// +optional
	AccessKeyID SecretKeySelector `json:"accessKeyIDSecretRef,omitempty"`
	// SecretAccessKey names the secret access key, likewise.
	// +optional
	SecretAccessKey SecretKeySelector `json:"secretAccessKeySecretRef,omitempty"`
	// +optional
	SessionToken *SecretKeySelector `json:"sessionTokenSecretRef,omitempty"`
}

// AWSJWTAuth exchanges a ServiceAccount token for credentials (IRSA).
type AWSJWTAuth struct {
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
}

// GCPSMProvider reads Google Cloud Secret Manager.
type GCPSMProvider struct {
	// +optional
	Auth GCPSMAuth `json:"auth,omitempty"`
	// ProjectID of the secrets.
	// +optional
	ProjectID string `json:"projectID,omitempty"`
	// Location of regional secrets.
	// +optional
	Location string `json:"location,omitempty"`
	// SecretVersionSelectionPolicy is LatestOrFail (default) or
	// LatestOrFetch, which reads the newest enabled version when "latest"
	// is disabled or destroyed.
	// +kubebuilder:validation:Enum=LatestOrFail;LatestOrFetch
	// +kubebuilder:default=LatestOrFail
	// +optional
	SecretVersionSelectionPolicy string `json:"secretVersionSelectionPolicy,omitempty"`
}

// GCPSMAuth configures GCP credentials.
type GCPSMAuth struct {
	// +optional
	SecretRef *GCPSMAuthSecretRef `json:"secretRef,omitempty"`
	// +optional
	WorkloadIdentity *GCPWorkloadIdentity `json:"workloadIdentity,omitempty"`
	// WorkloadIdentityFederation exchanges a token of another identity
	// provider (a Kubernetes ServiceAccount, AWS, or what an external
	// account credential configuration names) for GCP credentials.
	// +optional
	WorkloadIdentityFederation *GCPWorkloadIdentityFederation `json:"workloadIdentityFederation,omitempty"`
}

// GCPWorkloadIdentityFederation configures GCP workload identity
// federation.
type GCPWorkloadIdentityFederation struct {
	// CredConfig names a ConfigMap key holding an external account
	// credential configuration (JSON).
	// +optional
	CredConfig *ConfigMapReference `json:"credConfig,omitempty"`
	// ServiceAccountRef names the ServiceAccount whose token is exchanged,
	// when the pool's provider is this Kubernetes cluster.
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
	// AwsSecurityCredentials names AWS credentials whose signed
	// GetCallerIdentity request is exchanged.
	// +optional
	AwsSecurityCredentials *AwsCredentialsConfig `json:"awsSecurityCredentials,omitempty"`
	// Audience is the STS audience: the workload identity pool provider's
	// resource name. Required with serviceAccountRef or
	// awsSecurityCredentials; overrides credConfig's.
	// +optional
	Audience string `json:"audience,omitempty"`
	// ExternalTokenEndpoint, if set, must equal credConfig's
	// credential_source.url.
	// +optional
	ExternalTokenEndpoint string `json:"externalTokenEndpoint,omitempty"`
}

// ConfigMapReference names a key of a ConfigMap.
type ConfigMapReference struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
	// Namespace of the ConfigMap, with the rules of
	// SecretKeySelector.Namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key"`
}

// AwsCredentialsConfig names an AWS region and credentials.
type AwsCredentialsConfig struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=50
	// +kubebuilder:validation:Pattern=`^[a-z0-9-]+$`
	Region string `json:"region"`
	// AwsCredentialsSecretRef names a Secret with the keys
	// aws_access_key_id, aws_secret_access_key and, optionally,
	// aws_session_token.
	AwsCredentialsSecretRef *SecretReference `json:"awsCredentialsSecretRef"`
}

// SecretReference names a Secret.
type SecretReference struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// GCPSMAuthSecretRef names a service-account JSON key.
type GCPSMAuthSecretRef struct {
	// +optional
	SecretAccessKey SecretKeySelector `json:"secretAccessKeySecretRef,omitempty"`
}

// GCPWorkloadIdentity exchanges a ServiceAccount token for GCP credentials.
type GCPWorkloadIdentity struct {
	ServiceAccountRef ServiceAccountSelector `json:"serviceAccountRef"`
	// +optional
	ClusterLocation string `json:"clusterLocation,omitempty"`
	// +optional
	ClusterName string `json:"clusterName,omitempty"`
	// +optional
	ClusterProjectID string `json:"clusterProjectID,omitempty"`
}

// AzureKVProvider reads Azure Key Vault.
type AzureKVProvider struct {
	// AuthType is ServicePrincipal (default), ManagedIdentity or
	// WorkloadIdentity.
	// +kubebuilder:validation:Enum=ServicePrincipal;ManagedIdentity;WorkloadIdentity
	// +kubebuilder:default=ServicePrincipal
	// +optional
	AuthType *AzureAuthType `json:"authType,omitempty"`
	// VaultURL is the vault's address.
	VaultURL *string `json:"vaultUrl"`
	// +optional
	TenantID *string `json:"tenantId,omitempty"`
	// +kubebuilder:validation:Enum=PublicCloud;USGovernmentCloud;ChinaCloud;GermanCloud;AzureStackCloud
	// +kubebuilder:default=PublicCloud
	// +optional
	EnvironmentType AzureEnvironmentType `json:"environmentType,omitempty"`
	// +optional
	AuthSecretRef *AzureKVAuth `json:"authSecretRef,omitempty"`
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
	// +optional
	IdentityID *string `json:"identityId,omitempty"`
	// UseAzureSDK selects ESO's azcore-based client over its legacy
	// go-autorest one. secretsync has only the azcore SDK, so both values
	// read the same way; true is required with CustomCloudConfig, as in
	// ESO.
	// +kubebuilder:default=false
	// +optional
	UseAzureSDK *bool `json:"useAzureSDK,omitempty"`
	// CustomCloudConfig sets the endpoints of a cloud that
	// EnvironmentType does not name. Required with AzureStackCloud;
	// requires UseAzureSDK.
	// +optional
	CustomCloudConfig *AzureCustomCloudConfig `json:"customCloudConfig,omitempty"`
}

// AzureCustomCloudConfig is the endpoints of a private or sovereign Azure
// cloud.
type AzureCustomCloudConfig struct {
	// ActiveDirectoryEndpoint is the Entra ID authority, such as
	// https://login.microsoftonline.com/.
	ActiveDirectoryEndpoint string `json:"activeDirectoryEndpoint"`
	// KeyVaultEndpoint is the Key Vault resource, such as
	// https://vault.azure.net/; its tokens are requested for it.
	// +optional
	KeyVaultEndpoint *string `json:"keyVaultEndpoint,omitempty"`
	// KeyVaultDNSSuffix is the DNS suffix of vault URLs, such as
	// .vault.azure.net.
	// +optional
	KeyVaultDNSSuffix *string `json:"keyVaultDNSSuffix,omitempty"`
	// ResourceManagerEndpoint is the Azure Resource Manager endpoint.
	// +optional
	ResourceManagerEndpoint *string `json:"resourceManagerEndpoint,omitempty"`
}

// AzureAuthType is how to authenticate to Azure.
type AzureAuthType string

const (
	AzureServicePrincipal AzureAuthType = "ServicePrincipal"
	AzureManagedIdentity  AzureAuthType = "ManagedIdentity"
	AzureWorkloadIdentity AzureAuthType = "WorkloadIdentity"
)

// AzureEnvironmentType is an Azure cloud.
type AzureEnvironmentType string

// AzureKVAuth names Azure credentials.
type AzureKVAuth struct {
	// +optional
	ClientID *SecretKeySelector `json:"clientId,omitempty"`
	// +optional
	TenantID *SecretKeySelector `json:"tenantId,omitempty"`
	// +optional
	ClientSecret *SecretKeySelector `json:"clientSecret,omitempty"`
	// +optional
	ClientCertificate *SecretKeySelector `json:"clientCertificate,omitempty"`
}

// KubernetesProvider reads Secrets of a Kubernetes cluster.
type KubernetesProvider struct {
	// Server is the cluster; the local one when URL is empty.
	// +optional
	Server KubernetesServer `json:"server,omitempty"`
	// Auth configures credentials. Exactly one method is set.
	// +optional
	Auth *KubernetesAuth `json:"auth,omitempty"`
	// AuthRef names a kubeconfig in a Secret.
	// +optional
	AuthRef *SecretKeySelector `json:"authRef,omitempty"`
	// RemoteNamespace to read Secrets from. Defaults to "default".
	// +kubebuilder:default="default"
	// +optional
	RemoteNamespace string `json:"remoteNamespace,omitempty"`
}

// KubernetesServer is a Kubernetes API server.
type KubernetesServer struct {
	// +kubebuilder:default="kubernetes.default"
	// +optional
	URL string `json:"url,omitempty"`
	// +optional
	CABundle []byte `json:"caBundle,omitempty"`
	// +optional
	CAProvider *CAProvider `json:"caProvider,omitempty"`
}

// KubernetesAuth configures credentials for a Kubernetes API server.
type KubernetesAuth struct {
	// +optional
	Cert *KubernetesCertAuth `json:"cert,omitempty"`
	// +optional
	Token *KubernetesTokenAuth `json:"token,omitempty"`
	// +optional
	ServiceAccount *ServiceAccountSelector `json:"serviceAccount,omitempty"`
}

// KubernetesCertAuth is a client certificate.
type KubernetesCertAuth struct {
	ClientCert SecretKeySelector `json:"clientCert,omitempty"`
	ClientKey  SecretKeySelector `json:"clientKey,omitempty"`
}

// KubernetesTokenAuth is a bearer token.
type KubernetesTokenAuth struct {
	BearerToken SecretKeySelector `json:"bearerToken,omitempty"`
}

// OnePasswordProvider reads 1Password through a Connect server.
type OnePasswordProvider struct {
	Auth *OnePasswordAuth `json:"auth"`
	// ConnectHost is the Connect server's URL.
	ConnectHost string `json:"connectHost"`
	// Vaults maps vault names to their priority, lowest first.
	Vaults map[string]int `json:"vaults"`
}

// OnePasswordAuth configures the Connect token.
type OnePasswordAuth struct {
	SecretRef *OnePasswordAuthSecretRef `json:"secretRef"`
}

// OnePasswordAuthSecretRef names the Connect token.
type OnePasswordAuthSecretRef struct {
	ConnectToken SecretKeySelector `json:"connectTokenSecretRef"`
}

// DopplerProvider reads Doppler configs.
type DopplerProvider struct {
	Auth *DopplerAuth `json:"auth"`
	// +optional
	Project string `json:"project,omitempty"`
	// +optional
	Config string `json:"config,omitempty"`
	// +kubebuilder:validation:Enum=upper-camel;camel;lower-snake;tf-var;dotnet-env;lower-kebab
	// +optional
	NameTransformer string `json:"nameTransformer,omitempty"`
	// +kubebuilder:validation:Enum=json;dotnet-json;env;yaml;docker
	// +optional
	Format string `json:"format,omitempty"`
}

// DopplerAuth configures the Doppler token: exactly one of a token in a
// Secret, or OIDC with a ServiceAccount token.
//
// +kubebuilder:validation:XValidation:rule="(has(self.secretRef) && !has(self.oidcConfig)) || (!has(self.secretRef) && has(self.oidcConfig))",message="Exactly one of 'secretRef' or 'oidcConfig' must be specified"
type DopplerAuth struct {
	// +optional
	SecretRef *DopplerAuthSecretRef `json:"secretRef,omitempty"`
	// OIDCConfig exchanges a ServiceAccount token for a Doppler token.
	// +optional
	OIDCConfig *DopplerOIDCAuth `json:"oidcConfig,omitempty"`
}

// DopplerOIDCAuth logs in to Doppler as a service account identity with a
// Kubernetes ServiceAccount token.
type DopplerOIDCAuth struct {
	// Identity is the Doppler service account identity's ID.
	Identity string `json:"identity"`
	// ServiceAccountRef names the ServiceAccount whose token is exchanged.
	ServiceAccountRef ServiceAccountSelector `json:"serviceAccountRef"`
	// ExpirationSeconds is the lifetime of the ServiceAccount token.
	// +kubebuilder:default=600
	// +optional
	ExpirationSeconds *int64 `json:"expirationSeconds,omitempty"`
}

// DopplerAuthSecretRef names the Doppler token.
type DopplerAuthSecretRef struct {
	DopplerToken SecretKeySelector `json:"dopplerToken"`
}
