package provider

// Call is one operation a provider made on its store's API, reported after
// its retries end, for metrics. The providers that talk to cloud APIs take
// an observer of Calls (aws, gcp and azure: WithCallObserver), and say
// there which services and operations they report.
type Call struct {
	// Service is the API called, such as "Secrets Manager".
	Service string
	// Operation is the API's name for the operation, such as
	// "GetSecretValue".
	Operation string
	// Attempts is how many requests the operation took, the first
	// included; 0 if none was sent.
	Attempts int
	// Throttled is how many of them the service refused as throttled.
	Throttled int
	// Err is the operation's error, if it failed. Like every provider
	// error it names keys, never values.
	Err error
}
