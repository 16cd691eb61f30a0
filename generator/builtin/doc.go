// Package builtin provides the generators that need nothing outside the
// process: [Password] for the Password kind, [UUID] for UUID and [Fake]
// for Fake. They read no credentials, their values never expire and
// there is nothing to revoke, so their Results have no TTL and no State.
//
// Nothing here registers itself; a host lists the generators it serves:
//
//	reg, err := generator.NewRegistry(builtin.Password(), builtin.UUID(), builtin.Fake())
//
// Randomness comes from crypto/rand only.
package builtin
