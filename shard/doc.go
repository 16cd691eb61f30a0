// Package shard splits the work of a controller between its replicas on
// Kubernetes Leases, with no other infrastructure: each replica holds a
// Lease in one namespace, and the live ones form a [Ring] that gives each
// key (a namespace, or an object's UID) to exactly one of them by
// rendezvous hashing. A replica that joins takes about 1/N of the keys;
// one that dies gives its keys to the others when its Lease expires; no
// other key moves.
//
// A host wires it in three places:
//
//   - its informers' transform, [Transform], so each replica holds the
//     bodies only of its own share and stubs of the rest;
//   - its reconcile, which skips what [Membership.Owns] does not accept
//     and reads stubs it now owns through a [Resolver];
//   - [Membership.OnChange], where [Reshard] turns what it lost into stubs
//     and returns what it gained, for the host to queue.
//
// The reference controller does all three (examples/controller,
// --shard-by). A controller-runtime host uses Owns in a predicate and in
// Reconcile, and the same transform in its cache options.
//
// What it guarantees, and what it does not: a key is never owned by two
// replicas that both know of each other, since a joining replica owns
// nothing until every live one has published a ring that includes it, and
// a replica that cannot renew its Lease stops before the others take its
// keys. A sync already running when its key moves may still finish its
// write; the writes an ExternalSecret makes compare before they write,
// so that costs a conflict, not a wrong value.
package shard
