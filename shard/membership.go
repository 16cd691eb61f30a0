package shard

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// LabelGroup marks the Leases of the members of one group.
const LabelGroup = "secretsync.io/shard-group"

// AnnotationRing on a member's Lease lists the members that member
// counts, comma-separated: a member that joins waits until every live
// member lists it before it owns any key, so no key ever has two owners
// that both know it.
const AnnotationRing = "secretsync.io/ring"

// Config configures a [Membership].
type Config struct {
	// Kube reads and writes the Leases (coordination.k8s.io/v1).
	Kube kubernetes.Interface
	// Namespace holds the Leases.
	Namespace string
	// Group names the replicas that share one body of work: its members'
	// Leases are labelled LabelGroup=Group and named Group-Identity.
	Group string
	// Identity names this replica; unique in the group. A replica that
	// restarts under the same identity within LeaseDuration keeps its
	// keys and nothing moves.
	Identity string
	// LeaseDuration is how long a member that stopped renewing its Lease
	// still owns its keys; 15 seconds when zero.
	LeaseDuration time.Duration
	// RenewPeriod is how often a member renews its Lease; a fifth of
	// LeaseDuration when zero. A member that cannot renew for
	// LeaseDuration minus RenewPeriod stops owning keys, before the
	// others take them.
	RenewPeriod time.Duration
	// Now returns the time; time.Now when nil.
	Now func() time.Time
}

// View is one member's view of its group: the ring of live members,
// and whether this member may act on its keys yet.
type View struct {
	Ring Ring
	// Self is this member's identity.
	Self string
	// Active is false until every live member has seen this one join,
	// and after its Lease could not be renewed: it owns nothing then.
	Active bool
}

// Owns reports whether the member that holds the view owns key.
func (v View) Owns(key string) bool { return v.Active && v.Ring.Owner(key) == v.Self }

// Membership keeps this replica's Lease in its group and watches the
// others': the live members form a [Ring] that splits the keys between
// them. It uses nothing but Leases, so it needs no infrastructure a
// cluster does not have, and RBAC to get, list, watch, create, update and
// delete Leases in Namespace.
//
// Safety comes before speed: a key is never owned by two members that
// both know of each other. A member that joins owns nothing until every
// live member has published, on its own Lease, a ring that includes it,
// and the others drop its keys as soon as they see its Lease. A member
// that dies keeps its keys until its Lease expires, LeaseDuration after
// its last renewal as the others observed it on their own clocks; a
// member that cannot renew stops owning before that.
type Membership struct {
	cfg       Config
	leaseName string
	view      atomic.Pointer[View]
	ready     chan struct{}
	readyOnce sync.Once
	kick      chan struct{}

	mu        sync.Mutex
	handlers  []func(View)
	peers     map[string]*peer
	lastRenew time.Time // own Lease, by the local clock
	published string    // the ring last written to the own Lease
}

// peer is another member as its Lease shows it.
type peer struct {
	lease    string
	renew    string    // spec.renewTime as written
	observed time.Time // when renew last changed, by the local clock
	duration time.Duration
	sees     string // its AnnotationRing
}

// New returns a Membership; Run joins the group.
func New(cfg Config) (*Membership, error) {
	switch {
	case cfg.Kube == nil:
		return nil, errors.New("shard: Config.Kube is required")
	case cfg.Namespace == "" || cfg.Group == "" || cfg.Identity == "":
		return nil, errors.New("shard: Config.Namespace, Group and Identity are required")
	case strings.Contains(cfg.Identity, ","):
		return nil, fmt.Errorf("shard: identity %q has a comma", cfg.Identity)
	}
	if cfg.LeaseDuration <= 0 {
		cfg.LeaseDuration = 15 * time.Second
	}
	if cfg.RenewPeriod <= 0 {
		cfg.RenewPeriod = cfg.LeaseDuration / 5
	}
	if cfg.RenewPeriod >= cfg.LeaseDuration {
		return nil, fmt.Errorf("shard: RenewPeriod %v is not shorter than LeaseDuration %v", cfg.RenewPeriod, cfg.LeaseDuration)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Membership{
		cfg: cfg, leaseName: cfg.Group + "-" + cfg.Identity,
		ready: make(chan struct{}), kick: make(chan struct{}, 1), peers: map[string]*peer{},
	}
	m.view.Store(&View{Self: cfg.Identity})
	return m, nil
}

// OnChange adds f to the functions called, from Run's goroutine, after
// the ring or this member's part in it changed: keys it owns now may be
// new, and keys it owned may be gone.
func (m *Membership) OnChange(f func(View)) {
	m.mu.Lock()
	m.handlers = append(m.handlers, f)
	m.mu.Unlock()
}

// View returns the current view; safe to call from any goroutine, and
// cheap enough to call for every object an informer delivers.
func (m *Membership) View() View { return *m.view.Load() }

// Owns reports whether this member owns key now.
func (m *Membership) Owns(key string) bool { return m.view.Load().Owns(key) }

// Ready is closed once this member is first active: a host starts its
// informers after it, so that they keep full objects only for its keys
// from their first list.
func (m *Membership) Ready() <-chan struct{} { return m.ready }

// Run joins the group, keeps the Lease renewed and the view current
// until ctx is done, then deletes the Lease so that the others take this
// member's keys at once rather than after LeaseDuration.
func (m *Membership) Run(ctx context.Context) error {
	logger := klog.FromContext(ctx).WithValues("shardGroup", m.cfg.Group, "identity", m.cfg.Identity)
	factory := informers.NewSharedInformerFactoryWithOptions(m.cfg.Kube, 0,
		informers.WithNamespace(m.cfg.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.LabelSelector = labels.Set{LabelGroup: m.cfg.Group}.String()
		}))
	inf := factory.Coordination().V1().Leases().Informer()
	inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    m.observe,
		UpdateFunc: func(_, obj any) { m.observe(obj) },
		DeleteFunc: m.observeDelete,
	})
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if err := m.renew(ctx); err != nil {
		logger.Error(err, "Could not write the member Lease; retrying")
	}
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return ctx.Err()
	}
	logger.Info("Joined the shard group", "lease", m.leaseName)
	defer m.leave(logger)

	renew := time.NewTicker(m.cfg.RenewPeriod)
	defer renew.Stop()
	// Expiries have no event: look at the clock often against the lease
	// duration, which costs nothing with a few members.
	check := time.NewTicker(min(m.cfg.RenewPeriod/2, 500*time.Millisecond))
	defer check.Stop()
	m.nudge()
	for {
		// Renew on the period, and at once when the ring seen changed: a
		// member that joins waits for the others to publish it.
		due := false
		select {
		case <-ctx.Done():
			return nil
		case <-check.C:
		case <-m.kick:
		case <-renew.C:
			due = true
		}
		if m.evaluate(ctx) || due {
			if err := m.renew(ctx); err != nil && ctx.Err() == nil {
				logger.V(1).Info("Could not renew the member Lease", "err", err)
			}
			m.evaluate(ctx)
		}
		if due {
			m.collect(ctx)
		}
	}
}

// leave deletes the own Lease, so the others take its keys now.
func (m *Membership) leave(logger klog.Logger) {
	m.setView(View{Ring: m.View().Ring, Self: m.cfg.Identity})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.cfg.Kube.CoordinationV1().Leases(m.cfg.Namespace).Delete(ctx, m.leaseName, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		logger.Error(err, "Could not delete the member Lease; the others take its keys when it expires")
		return
	}
	logger.Info("Left the shard group")
}

// renew writes the own Lease: a fresh renewTime and the ring seen.
func (m *Membership) renew(ctx context.Context) error {
	leases := m.cfg.Kube.CoordinationV1().Leases(m.cfg.Namespace)
	now := m.cfg.Now()
	sees := m.View().Ring.String()
	lease, err := leases.Get(ctx, m.leaseName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		lease = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: m.leaseName, Namespace: m.cfg.Namespace}}
		m.fillLease(lease, now, sees)
		lease.Spec.AcquireTime = &metav1.MicroTime{Time: now}
		_, err = leases.Create(ctx, lease, metav1.CreateOptions{FieldManager: "secretsync"})
	case err == nil:
		m.fillLease(lease, now, sees)
		_, err = leases.Update(ctx, lease, metav1.UpdateOptions{FieldManager: "secretsync"})
	}
	if err != nil {
		return fmt.Errorf("renew Lease %s/%s: %w", m.cfg.Namespace, m.leaseName, err)
	}
	m.mu.Lock()
	m.lastRenew, m.published = now, sees
	m.mu.Unlock()
	return nil
}

func (m *Membership) fillLease(l *coordinationv1.Lease, now time.Time, sees string) {
	if l.Labels == nil {
		l.Labels = map[string]string{}
	}
	if l.Annotations == nil {
		l.Annotations = map[string]string{}
	}
	l.Labels[LabelGroup] = m.cfg.Group
	l.Annotations[AnnotationRing] = sees
	l.Spec.HolderIdentity = ptr.To(m.cfg.Identity)
	l.Spec.LeaseDurationSeconds = ptr.To(int32((m.cfg.LeaseDuration + time.Second - 1) / time.Second))
	l.Spec.RenewTime = &metav1.MicroTime{Time: now}
}

func (m *Membership) observe(obj any) {
	l, ok := obj.(*coordinationv1.Lease)
	if !ok || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == m.cfg.Identity {
		return
	}
	renew := ""
	if l.Spec.RenewTime != nil {
		renew = l.Spec.RenewTime.UTC().Format(time.RFC3339Nano)
	}
	d := m.cfg.LeaseDuration
	if l.Spec.LeaseDurationSeconds != nil {
		d = time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
	}
	id := *l.Spec.HolderIdentity
	m.mu.Lock()
	p := m.peers[id]
	if p == nil {
		p = &peer{lease: l.Name}
		m.peers[id] = p
	}
	if p.renew != renew {
		// A Lease seen for the first time counts from its renewTime when
		// that is in the past, so a member that starts does not wait a
		// whole lease duration on a Lease its holder left long ago.
		now := m.cfg.Now()
		p.observed = now
		if p.renew == "" && l.Spec.RenewTime != nil && l.Spec.RenewTime.Time.Before(now) {
			p.observed = l.Spec.RenewTime.Time
		}
		p.renew = renew
	}
	p.duration, p.sees = d, l.Annotations[AnnotationRing]
	m.mu.Unlock()
	m.nudge()
}

func (m *Membership) observeDelete(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	l, ok := obj.(*coordinationv1.Lease)
	if !ok || l.Spec.HolderIdentity == nil {
		return
	}
	m.mu.Lock()
	if p := m.peers[*l.Spec.HolderIdentity]; p != nil && p.lease == l.Name {
		delete(m.peers, *l.Spec.HolderIdentity)
	}
	m.mu.Unlock()
	m.nudge()
}

// nudge has Run evaluate the view now, and publish it if it changed.
func (m *Membership) nudge() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// evaluate recomputes the view from the peers and the clock, and reports
// whether the ring differs from the one last published.
func (m *Membership) evaluate(ctx context.Context) bool {
	now := m.cfg.Now()
	m.mu.Lock()
	selfFresh := !m.lastRenew.IsZero() && now.Sub(m.lastRenew) < m.cfg.LeaseDuration-m.cfg.RenewPeriod
	live := []string{m.cfg.Identity}
	var acks []string
	for id, p := range m.peers {
		if now.Sub(p.observed) < p.duration {
			live = append(live, id)
			acks = append(acks, p.sees)
		}
	}
	published := m.published
	m.mu.Unlock()
	// A member joins once every live member sees it; it stays active,
	// whoever joins after it, while its own Lease is fresh.
	v := View{Ring: NewRing(live...), Self: m.cfg.Identity, Active: selfFresh && m.View().Active}
	if selfFresh && !v.Active {
		v.Active = true
		for _, sees := range acks {
			if !NewRing(strings.Split(sees, ",")...).Has(m.cfg.Identity) {
				v.Active = false
			}
		}
	}
	publish := v.Ring.String() != published
	old := m.View()
	if old.Active == v.Active && old.Ring.Equal(v.Ring) {
		return publish
	}
	m.setView(v)
	klog.FromContext(ctx).Info("Shard view changed", "members", v.Ring.Members(), "active", v.Active)
	if v.Active {
		m.readyOnce.Do(func() { close(m.ready) })
	}
	return publish
}

func (m *Membership) setView(v View) {
	m.view.Store(&v)
	m.mu.Lock()
	handlers := m.handlers
	m.mu.Unlock()
	for _, f := range handlers {
		f(v)
	}
}

// collect deletes the Leases of members gone for ten lease durations,
// so a group whose members come and go under new identities does not
// pile them up. Any live member may; a conflict means another did.
func (m *Membership) collect(ctx context.Context) {
	now := m.cfg.Now()
	m.mu.Lock()
	var gone []string
	for _, p := range m.peers {
		if now.Sub(p.observed) > 10*p.duration {
			gone = append(gone, p.lease)
		}
	}
	m.mu.Unlock()
	for _, name := range gone {
		err := m.cfg.Kube.CoordinationV1().Leases(m.cfg.Namespace).Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			klog.FromContext(ctx).V(1).Info("Could not delete an expired member Lease", "lease", name, "err", err)
		}
	}
}
