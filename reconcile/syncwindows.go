package reconcile

import (
	"time"

	"github.com/robfig/cron/v3"

	"github.com/secretsync/secretsync/externalsecret"
)

// maxWindowSteps bounds the search for the end of overlapping deny
// windows.
const maxWindowSteps = 64

// RefreshAllowed reports whether the sync windows of es let a periodic
// refresh happen at now and, when they do not, how long until they may.
// A window is open from each time of its schedule, evaluated in UTC, to
// that time plus its duration, both included, at the granularity of a
// second. A schedule that does not parse never opens. With no windows,
// or a kind other than allow or deny, refreshes are always allowed.
func RefreshAllowed(es *externalsecret.ExternalSecret, now time.Time) (bool, time.Duration) {
	sw := es.Spec.SyncWindows
	if sw == nil || len(sw.Windows) == 0 {
		return true, 0
	}
	windows := parseWindows(sw.Windows)
	now = now.UTC()
	switch sw.Kind {
	case externalsecret.SyncWindowAllow:
		if anyOpen(windows, now) {
			return true, 0
		}
		var next time.Time
		for _, w := range windows {
			if t := w.schedule.Next(now); !t.IsZero() && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
		if next.IsZero() {
			return false, 0
		}
		return false, next.Sub(now)
	case externalsecret.SyncWindowDeny:
		if !anyOpen(windows, now) {
			return true, 0
		}
		t := now
		for i := 0; i < maxWindowSteps && anyOpen(windows, t); i++ {
			for _, w := range windows {
				if start, ok := w.openAt(t); ok {
					if end := start.Add(w.duration + time.Second); end.After(t) {
						t = end
					}
				}
			}
		}
		return false, t.Sub(now)
	}
	return true, 0
}

type window struct {
	schedule cron.Schedule
	duration time.Duration
}

func parseWindows(ws []externalsecret.SyncWindow) []window {
	out := make([]window, 0, len(ws))
	for _, w := range ws {
		s, err := cron.ParseStandard(w.Schedule)
		if err != nil {
			continue
		}
		out = append(out, window{schedule: s, duration: w.Duration.Duration})
	}
	return out
}

// openAt returns the start of the occurrence of w open at t, if any: the
// first time of the schedule at or after t-duration, when it is not after
// t.
func (w window) openAt(t time.Time) (time.Time, bool) {
	start := w.schedule.Next(t.Add(-w.duration - time.Second))
	if start.IsZero() || start.After(t) {
		return time.Time{}, false
	}
	return start, true
}

func anyOpen(ws []window, t time.Time) bool {
	for _, w := range ws {
		if _, ok := w.openAt(t); ok {
			return true
		}
	}
	return false
}
