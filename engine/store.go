package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/reconcile"
	"github.com/secretsync/secretsync/secretstore"
)

// DefaultStoreRefresh is how often a store is validated again when its
// spec.refreshInterval does not say.
const DefaultStoreRefresh = 5 * time.Minute

// StoreResult is what [Engine.SyncStore] decided.
type StoreResult struct {
	// Status is the store's new status; StatusChanged says whether it
	// differs from the one it has.
	Status        secretstore.Status
	StatusChanged bool
	// RequeueAfter is when to validate the store again.
	RequeueAfter time.Duration
	// Ignored reports that the store belongs to another controller class.
	Ignored bool
}

// SyncStore validates a store: it builds (or reuses) its client, asks the
// provider to validate it, and writes the Ready condition to the store's
// status through Config.CRD when it changed, with an event. A client whose
// credentials changed since it was built is rebuilt first, closing the
// old one.
func (e *Engine) SyncStore(ctx context.Context, store secretstore.GenericStore) (StoreResult, error) {
	spec := store.StoreSpec()
	if spec.Controller != e.cfg.ControllerClass {
		return StoreResult{Ignored: true}, nil
	}
	if changed := e.clients.credentialsChanged(ctx, store); changed != "" {
		klog.FromContext(ctx).Info("Credentials of store changed; rebuilding its client", "store", secretstore.Ref(store), "credential", changed)
		e.clients.drop(ctx, store.GetUID())
	}

	cond := secretstore.Condition{Type: secretstore.ConditionReady, Status: corev1.ConditionTrue, Reason: secretstore.ReasonValid, Message: "store validated"}
	client, err := e.clients.get(ctx, store)
	if err == nil {
		if verr := validate(ctx, client); errors.Is(verr, provider.ErrValidationUnknown) {
			cond.Message = "store validated: " + verr.Error()
		} else if verr != nil {
			cond = secretstore.Condition{Type: secretstore.ConditionReady, Status: corev1.ConditionFalse, Reason: secretstore.ReasonValidationFailed, Message: "could not validate store: " + verr.Error()}
		}
	} else {
		cond = secretstore.Condition{Type: secretstore.ConditionReady, Status: corev1.ConditionFalse, Reason: secretstore.ReasonInvalidProviderConfig, Message: "invalid store configuration: " + err.Error()}
	}
	refresh, rerr := spec.RefreshDuration()
	if rerr != nil {
		cond = secretstore.Condition{Type: secretstore.ConditionReady, Status: corev1.ConditionFalse, Reason: secretstore.ReasonInvalidProviderConfig, Message: "invalid store configuration: " + rerr.Error()}
	}
	old := store.StoreStatus()
	cond.LastTransitionTime = metav1.NewTime(e.cfg.Now())
	if prev := old.ReadyCondition(); prev != nil && prev.Status == cond.Status {
		cond.LastTransitionTime = prev.LastTransitionTime
	}
	res := StoreResult{
		Status:       secretstore.Status{Capabilities: secretstore.ReadOnly, Conditions: []secretstore.Condition{cond}},
		RequeueAfter: DefaultStoreRefresh,
	}
	if refresh > 0 {
		res.RequeueAfter = refresh
	}
	prev := old.ReadyCondition()
	res.StatusChanged = prev == nil || old.Capabilities != res.Status.Capabilities || len(old.Conditions) != 1 ||
		prev.Status != cond.Status || prev.Reason != cond.Reason || prev.Message != cond.Message
	if !res.StatusChanged || e.cfg.CRD == nil {
		return res, nil
	}
	if e.cfg.Recorder != nil {
		if cond.Status == corev1.ConditionTrue {
			e.cfg.Recorder.Event(store, corev1.EventTypeNormal, secretstore.ReasonValid, cond.Message)
		} else {
			e.cfg.Recorder.Event(store, corev1.EventTypeWarning, cond.Reason, cond.Message)
		}
	}
	updated := store.Copy()
	updated.SetStoreStatus(res.Status)
	if err := e.cfg.CRD.UpdateStatus(ctx, updated, e.cfg.FieldManager); err != nil {
		return res, fmt.Errorf("update status of %s: %w", secretstore.Ref(store), err)
	}
	return res, nil
}

// validate asks client to check it can reach its store, turning a panic
// into an error.
func validate(ctx context.Context, client provider.Client) (err error) {
	v, ok := client.(provider.Validator)
	if !ok {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = reconcile.ErrPanic
		}
	}()
	return v.Validate(ctx)
}

// ForgetStore closes the client of a store that was deleted, revoking the
// token it holds, in the background.
func (e *Engine) ForgetStore(ctx context.Context, store secretstore.GenericStore) {
	go e.clients.drop(context.WithoutCancel(ctx), store.GetUID())
}

// Store returns the store key names, from Config.Stores.
func (e *Engine) Store(ctx context.Context, key StoreKey) (secretstore.GenericStore, error) {
	return e.cfg.Stores.Store(ctx, key)
}
