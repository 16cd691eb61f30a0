package shard

import (
	"fmt"
	"testing"
)

func keys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("uid-%06d", i)
	}
	return out
}

// Each member of a ring gets close to its share of the keys.
func TestRingSpreadsKeys(t *testing.T) {
	for _, members := range [][]string{{"a", "b"}, {"r1", "r2", "r3"}, {"p-0", "p-1", "p-2", "p-3", "p-4", "p-5", "p-6", "p-7"}} {
		r := NewRing(members...)
		got := map[string]int{}
		const n = 100000
		for _, k := range keys(n) {
			got[r.Owner(k)]++
		}
		share := n / len(members)
		for _, m := range members {
			if c := got[m]; c < share*9/10 || c > share*11/10 {
				t.Errorf("%d members: %s owns %d keys; want %d ±10%%", len(members), m, c, share)
			}
		}
	}
}

// A member that joins takes keys only for itself, and one that leaves
// gives only its own: no key moves between the others.
func TestRingMovesOnlyTheShareOfWhoJoinsOrLeaves(t *testing.T) {
	before := NewRing("r1", "r2", "r3")
	joined := NewRing("r1", "r2", "r3", "r4")
	left := NewRing("r1", "r3")
	moved := 0
	for _, k := range keys(30000) {
		was := before.Owner(k)
		if now := joined.Owner(k); now != was {
			if now != "r4" {
				t.Fatalf("key %s moved from %s to %s when r4 joined", k, was, now)
			}
			moved++
		}
		if now := left.Owner(k); now != was && was != "r2" {
			t.Fatalf("key %s moved from %s to %s when r2 left", k, was, now)
		}
	}
	if moved < 30000/4*9/10 || moved > 30000/4*11/10 {
		t.Errorf("%d of 30000 keys moved to r4; want about a quarter", moved)
	}
}

func TestRingOrderAndEmpty(t *testing.T) {
	if NewRing().Owner("x") != "" {
		t.Error("an empty ring owns a key")
	}
	a, b := NewRing("b", "a", "a"), NewRing("a", "b")
	if !a.Equal(b) || a.String() != "a,b" || !a.Has("b") || a.Has("c") || a.Len() != 2 {
		t.Errorf("rings %v and %v", a.Members(), b.Members())
	}
	for _, k := range keys(100) {
		if a.Owner(k) != b.Owner(k) {
			t.Fatalf("member order changed the owner of %s", k)
		}
	}
}
