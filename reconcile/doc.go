// Package reconcile decides what to do with the Kubernetes Secret of an
// ExternalSecret. It is the part of secretsync another operator embeds.
//
// Work happens in three steps, and only the middle one reads a store:
//
//  1. [Due] says whether an ExternalSecret must be read now or when.
//  2. [Fetch] reads what it names from the stores, once per distinct
//     (store, key, version), through the [Clients] the host provides.
//  3. [Reconcile] turns what was fetched, the existing Secret and the time
//     into a decision: the Secret to create, update or delete (or to leave
//     alone), the new status, the events and when to come back.
//
// Reconcile is pure: no I/O, no clock, no logging, no goroutines. That makes
// every policy (creation, deletion, refresh, immutability, templates)
// testable as a table, and lets a host apply the decision however it writes
// to Kubernetes. The host never writes an unchanged Secret or status:
// Reconcile says ActionNone and StatusChanged false when nothing changed.
//
// [CheckStore] holds the rules for which stores an ExternalSecret may use:
// controller class and the namespace conditions of a ClusterSecretStore.
package reconcile
