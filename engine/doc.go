// Package engine syncs ExternalSecrets into Kubernetes Secrets. It is the
// package another operator embeds to run the sync in its own process: the
// host keeps its watch loop and calls [Engine.Sync] for one ExternalSecret
// at a time; the engine does the rest.
//
// # What a Sync does
//
//  1. Looks up the stores the ExternalSecret names through the host's
//     [StoreGetter], and applies the tenancy rules: the store's controller
//     class, a ClusterSecretStore's namespace conditions, and credential
//     references that may not leave the store's namespace.
//  2. Decides whether a read is due (reconcile.Due): a new or changed
//     ExternalSecret, a failed last sync, a missing or hand-edited Secret,
//     or the next place on its refresh grid. When nothing is due it
//     returns at once with Result.RequeueAfter.
//  3. Reads the stores (reconcile.Fetch) with one provider client per
//     store, kept and reused, with its token, until the store's spec or a
//     credential it was built from changes. Reads are shared: ExternalSecrets
//     that read the same remote key within their refresh interval cost one
//     provider call, and a rotation one of them sees is pushed to the others
//     through Config.Requeue.
//  4. Decides with reconcile.Reconcile, and writes the Secret when, and only
//     when, it changed, retrying a conflict against a fresh copy without
//     reading the stores again.
//
// It does not write the ExternalSecret's status: Result.Status and
// Result.StatusChanged say what it should be. A host with ExternalSecrets
// in the cluster calls [Engine.UpdateStatus]; a host that built the
// ExternalSecret in memory from a resource of its own maps the status onto
// that resource.
//
// # Wiring
//
// Registry and Stores are required. With only Kube besides, every other
// read goes to the API server. A client-go host with informers passes its
// caches ([StoresFromIndexers], [SecretsFromLister],
// [NamespacesFromLister]); a controller-runtime host passes its client,
// through one [GetFunc]:
//
//	get := engine.GetFunc(func(ctx context.Context, namespace, name string, obj engine.Object) error {
//		return c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj)
//	})
//	eng, err := engine.New(engine.Config{
//		Kube:     kube,     // client-go clientset: writes, tokens, live reads
//		Registry: registry, // provider.NewRegistry(vault.New(), ...)
//		Stores:   get,      // or engine.NewCRDClient(restConfig), which reads the API
//		Secrets:  get,      // optional: the Secrets labelled reconcile.LabelManaged
//		CRD:      crd,      // optional: for UpdateStatus and SyncStore
//		Recorder: recorder, // optional: events on the ExternalSecret
//		Requeue:  func(n types.NamespacedName) { queue.Add(n) },
//	})
//
// and in the host's reconcile of one ExternalSecret:
//
//	res, err := eng.Sync(ctx, engine.Request{ExternalSecret: es})
//	if res.StatusChanged {
//		if serr := eng.UpdateStatus(ctx, es, res.Status); serr != nil {
//			return serr
//		}
//	}
//	// err != nil: retry with backoff; else come back after res.RequeueAfter.
//
// A controller-runtime Reconcile returns
// ctrl.Result{RequeueAfter: res.RequeueAfter}, err; register the
// external-secrets.io kinds in its scheme with secretsync.AddToScheme.
// When the ExternalSecret goes away, call [Engine.Forget]; when a store
// goes away, [Engine.ForgetStore]; on shutdown, [Engine.Close], which
// revokes the tokens the clients hold. A failed sync is best retried with
// [RetryLimiter], which starts at seconds and spreads the retries of
// ExternalSecrets that failed together.
//
// # A resource of the host's own
//
// An operator with its own custom resource (a SecretReference, say) builds
// an ExternalSecret in memory from it, with the resource's namespace, name
// and UID, and passes Request.Owner (metav1.NewControllerRef of the
// resource) so the Secret is owned, and garbage-collected, with it, and
// Request.EventObject so events land on it. No ExternalSecret is created in
// the cluster and no external-secrets.io CRD needs to be installed for it;
// Stores can serve stores the host builds in memory as well.
//
// The engine decides whether a read is due from the ExternalSecret's
// status, so the host keeps that on its resource: [Conditions] turns the
// status into a metav1.Condition to keep, with the refresh time, and
// [Restore] gives both back to the ExternalSecret it builds next time.
// examples/secretreference in the repository is such an operator.
//
// # Guarantees
//
//   - An unchanged refresh writes nothing: no Secret, no status
//     (StatusChanged is false), no event.
//   - A store that fails never empties or deletes a Secret: only
//     deletionPolicy Delete, with every remote value gone, deletes it.
//   - A provider that panics, or returns no client and no error, fails the
//     entries that needed it, with the error in the status; the engine
//     recovers every goroutine it starts.
//   - No error, event or status names a secret value, only keys.
//
// [Engine.Plan] decides without writing: the offline `render` uses it.
// [Engine.SyncStore] validates a store and writes its Ready condition.
package engine
