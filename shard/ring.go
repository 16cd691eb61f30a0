package shard

import (
	"hash/fnv"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Ring is one view of the members that share the work: the owner of a
// key is the member with the highest score for it (rendezvous hashing),
// so a member that joins takes about 1/N of the keys from each of the
// others and one that leaves gives its keys to the rest, and no other
// key moves. The zero Ring has no members and owns nothing.
type Ring struct {
	members []string
	hashes  []uint64
}

// NewRing returns the ring of the given member identities; order and
// repeats do not matter.
func NewRing(members ...string) Ring {
	ms := slices.Clone(members)
	slices.Sort(ms)
	ms = slices.Compact(ms)
	r := Ring{members: ms, hashes: make([]uint64, len(ms))}
	for i, m := range ms {
		r.hashes[i] = hash64(m)
	}
	return r
}

// Members returns the identities on the ring, sorted.
func (r Ring) Members() []string { return slices.Clone(r.members) }

// Len returns how many members the ring has.
func (r Ring) Len() int { return len(r.members) }

// Has reports whether identity is on the ring.
func (r Ring) Has(identity string) bool {
	_, ok := slices.BinarySearch(r.members, identity)
	return ok
}

// Owner returns the member that owns key, or "" on an empty ring.
func (r Ring) Owner(key string) string {
	if len(r.members) == 0 {
		return ""
	}
	k := hash64(key)
	best, bestScore := 0, uint64(0)
	for i, h := range r.hashes {
		if s := mix(h ^ k); i == 0 || s > bestScore {
			best, bestScore = i, s
		}
	}
	return r.members[best]
}

// String is the members joined by commas: how a member's Lease tells the
// others which ring it sees.
func (r Ring) String() string { return strings.Join(r.members, ",") }

// Equal reports whether both rings have the same members.
func (r Ring) Equal(o Ring) bool { return slices.Equal(r.members, o.members) }

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// mix is the finalizer of SplitMix64: it spreads FNV's weak low bits so
// that each member's scores are independent of the others'.
func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// By says what of an object decides its shard.
type By string

const (
	// ByNamespace keeps a namespace on one replica: the ExternalSecrets of
	// a namespace that share remote keys share one read.
	ByNamespace By = "namespace"
	// ByUID spreads the objects evenly whatever the namespaces, for
	// clusters with few, large namespaces.
	ByUID By = "uid"
)

// ParseBy parses a --shard-by value; "" means no sharding.
func ParseBy(s string) (By, bool) {
	switch By(s) {
	case ByNamespace, ByUID, "":
		return By(s), true
	}
	return "", false
}

// Key returns the shard key of obj: its namespace (its name, for a
// cluster-scoped object) or its UID.
func (b By) Key(obj metav1.Object) string {
	if b == ByUID {
		return string(obj.GetUID())
	}
	if ns := obj.GetNamespace(); ns != "" {
		return ns
	}
	return obj.GetName()
}

// OwnerKey returns the shard key of an object written for another, such
// as a Secret an ExternalSecret owns: the key of its controller owner
// reference's UID with ByUID, its namespace with ByNamespace. ok is
// false when ByUID and obj has no controller owner: such an object
// belongs to every shard.
func (b By) OwnerKey(obj metav1.Object) (key string, ok bool) {
	if b != ByUID {
		return b.Key(obj), true
	}
	if ref := metav1.GetControllerOfNoCopy(obj); ref != nil {
		return string(ref.UID), true
	}
	return "", false
}
