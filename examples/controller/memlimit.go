package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// memoryLimitShare is the part of a container's memory limit the Go heap
// and runtime may grow to before the collector works harder to stay
// under it. The rest is for what the runtime does not count: the
// binary's own pages, which for a binary with every provider are about
// 55 MiB resident, and bursts between collections.
const memoryLimitShare = 0.65

// cgroupMemoryFiles hold a container's memory limit: cgroup v2, then v1.
var cgroupMemoryFiles = []string{
	"/sys/fs/cgroup/memory.max",
	"/sys/fs/cgroup/memory/memory.limit_in_bytes",
}

// setMemoryLimit sets the Go runtime's soft memory limit. flagValue is a
// quantity ("150Mi"), "none" for no limit, or empty: then GOMEMLIMIT
// decides if it is set, else 65% of the container's memory limit, else
// no limit. It returns the limit set, 0 for none.
func setMemoryLimit(flagValue string) (int64, error) {
	limit, err := memoryLimit(flagValue, os.Getenv("GOMEMLIMIT") != "", cgroupMemoryFiles)
	if err != nil || limit == 0 {
		return 0, err
	}
	debug.SetMemoryLimit(limit)
	return limit, nil
}

func memoryLimit(flagValue string, fromEnv bool, cgroupFiles []string) (int64, error) {
	switch flagValue {
	case "none":
		return 0, nil
	case "":
		if fromEnv {
			return 0, nil // the runtime read GOMEMLIMIT itself
		}
		for _, f := range cgroupFiles {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			s := strings.TrimSpace(string(b))
			n, err := strconv.ParseInt(s, 10, 64)
			// "max" in v2, and a page-rounded huge number in v1, mean no limit.
			if err != nil || n <= 0 || n >= 1<<62 {
				return 0, nil
			}
			return int64(float64(n) * memoryLimitShare), nil
		}
		return 0, nil
	}
	q, err := resource.ParseQuantity(flagValue)
	if err != nil {
		return 0, fmt.Errorf("--memory-limit %q: give a quantity such as 150Mi, or none: %w", flagValue, err)
	}
	if q.Sign() <= 0 {
		return 0, fmt.Errorf("--memory-limit %q: must be more than 0; use none for no limit", flagValue)
	}
	return q.Value(), nil
}
