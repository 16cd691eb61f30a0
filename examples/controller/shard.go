package main

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/secretsync/secretsync/engine"
	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/secretstore"
	"github.com/secretsync/secretsync/shard"
)

// owns reports whether this replica works on obj: always, unless the
// work is sharded.
func (c *Controller) owns(obj metav1.Object) bool {
	return c.cfg.Shard == nil || c.cfg.Shard.Owns(c.cfg.ShardBy.Key(obj))
}

// ownsSecret reports whether this replica works on the ExternalSecret
// that owns s; a Secret without an owner stays whole on every replica.
func (c *Controller) ownsSecret(s metav1.Object) bool {
	if c.cfg.Shard == nil {
		return true
	}
	key, ok := c.cfg.ShardBy.OwnerKey(s)
	return !ok || c.cfg.Shard.Owns(key)
}

// resolveES returns es whole: from the cache, or, if the cache holds a
// stub made before this replica took it over, from the API server.
func (c *Controller) resolveES(ctx context.Context, es *externalsecret.ExternalSecret) (*externalsecret.ExternalSecret, error) {
	if !shard.IsStub(es) {
		return es, nil
	}
	return c.esResolver(ctx, es.Namespace, es.Name)
}

func (c *Controller) getES(_ context.Context, namespace, name string) (*externalsecret.ExternalSecret, error) {
	obj, exists, err := c.esInformer.GetIndexer().GetByKey(namespace + "/" + name)
	if err == nil && !exists {
		err = apierrors.NewNotFound(schema.GroupResource{Group: externalsecret.Group, Resource: engine.ResourceExternalSecrets}, name)
	}
	if err != nil {
		return nil, err
	}
	return obj.(*externalsecret.ExternalSecret), nil
}

func (c *Controller) liveES(ctx context.Context, namespace, name string) (*externalsecret.ExternalSecret, error) {
	es := &externalsecret.ExternalSecret{}
	err := c.cfg.CRD.Get(ctx, engine.ResourceExternalSecrets, namespace, name, es)
	return es, err
}

// reshard follows a change of the shard group: it drops what this
// replica no longer owns, from its caches and the engine, and queues
// what it gained.
func (c *Controller) reshard(v shard.View) {
	if v.Active {
		c.metrics.shardMembers.Set(float64(v.Ring.Len()))
	} else {
		c.metrics.shardMembers.Set(0)
	}
	if c.esInformer == nil {
		return
	}
	gained, lost, owned := shard.Reshard(c.esInformer.GetIndexer(), c.owns)
	c.metrics.shardOwned.Set(float64(owned))
	shard.Reshard(c.secrets.GetStore(), c.ownsSecret)
	for _, name := range lost {
		c.engine.Forget(types.NamespacedName(name))
		c.mu.Lock()
		delete(c.pending, name)
		c.mu.Unlock()
	}
	for _, name := range gained {
		c.firstQueue.Add(name)
	}
	for _, inf := range []cache.SharedIndexInformer{c.storeInformer, c.cstoreInformer} {
		for _, obj := range inf.GetStore().List() {
			if store, ok := obj.(secretstore.GenericStore); ok {
				c.storeQueue.Add(engine.StoreKeyOf(store))
			}
		}
	}
	if c.clusters != nil {
		for _, name := range c.clusters.informer.GetStore().ListKeys() {
			c.clusters.queue.Add(name)
		}
	}
	for _, key := range c.pushes.informer.GetStore().ListKeys() {
		name, _ := cache.ParseObjectName(key)
		c.pushes.queue.Add(name)
	}
	klog.Background().V(1).Info("Resharded", "members", v.Ring.Members(), "active", v.Active, "owned", owned, "gained", len(gained), "lost", len(lost))
}
