//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// userHZ is the unit of CPU times in /proc/PID/stat; Linux fixes it at 100
// for user space on every architecture the bench runs on.
const userHZ = 100

// cpuTimes is the CPU time, in seconds, the bench and each of its child
// processes (kube-apiserver, etcd, controller) have used, by command name.
type cpuTimes map[string]float64

// sampleCPU reads cpuTimes from /proc.
func sampleCPU() cpuTimes {
	self := os.Getpid()
	out := cpuTimes{}
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime stime: fields 14 and 15, counted
		// from 1; comm may hold spaces, so split after its ')'.
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(s[:open]))
		f := strings.Fields(s[end+1:])
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		if pid != self && ppid != self {
			continue
		}
		name := s[open+1 : end]
		if pid == self {
			name = "bench"
		}
		utime, _ := strconv.ParseFloat(f[11], 64)
		stime, _ := strconv.ParseFloat(f[12], 64)
		out[name] += (utime + stime) / userHZ
	}
	return out
}

// since returns the CPU used between an earlier sample and t.
func (t cpuTimes) since(earlier cpuTimes) cpuTimes {
	out := cpuTimes{}
	for k, v := range t {
		out[k] = v - earlier[k]
	}
	return out
}

func (t cpuTimes) String() string {
	return fmt.Sprintf("%.1f / %.1f / %.1f / %.1f", t["kube-apiserver"], t["etcd"], t["controller"], t["bench"])
}

// peakRSS is the VmHWM of process pid, the most resident memory it ever had.
func peakRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}
