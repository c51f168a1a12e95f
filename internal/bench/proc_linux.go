package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat and /proc/stat. It is
// 100 on every Linux architecture Go supports (the kernel's USER_HZ, fixed for
// user space whatever the kernel's own HZ).
const userHZ = 100

// PeakRSS returns a process's peak resident set size (VmHWM) in bytes: the most
// memory it has held at once since it started or since ResetPeakRSS.
func PeakRSS(pid int) (int64, error) { return statusBytes(pid, "VmHWM") }

// RSS returns a process's resident set size (VmRSS) in bytes.
func RSS(pid int) (int64, error) { return statusBytes(pid, "VmRSS") }

// statusBytes reads one "<field>: <n> kB" line of /proc/<pid>/status.
func statusBytes(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("%s of %d: %w", field, pid, err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, field+":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s of %d: parsing %q: %w", field, pid, line, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// ResetPeakRSS sets a process's VmHWM back to its current RSS (Linux 4.0+), so
// that PeakRSS afterwards measures one phase of a long-running process.
func ResetPeakRSS(pid int) error {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		return fmt.Errorf("resetting the peak RSS of %d: %w", pid, err)
	}
	return nil
}

// CPUTime returns the user plus system CPU time a process has used so far.
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("CPU time of %d: %w", pid, err)
	}
	// The command name (field 2) may hold spaces and parentheses: the fields
	// that follow start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("CPU time of %d: malformed /proc/%d/stat", pid, pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	// fields[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(fields) < 13 {
		return 0, fmt.Errorf("CPU time of %d: short /proc/%d/stat", pid, pid)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("CPU time of %d: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// MachineCPU is a reading of the whole machine's CPU counters (/proc/stat), in
// ticks summed over all CPUs.
type MachineCPU struct {
	Busy, Total int64
}

// ReadMachineCPU reads the machine's CPU counters.
func ReadMachineCPU() (MachineCPU, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return MachineCPU{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return MachineCPU{}, fmt.Errorf("/proc/stat is empty: %v", sc.Err())
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 5 || fields[0] != "cpu" {
		return MachineCPU{}, fmt.Errorf("/proc/stat: unexpected first line %q", sc.Text())
	}
	var m MachineCPU
	for i, f := range fields[1:] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return MachineCPU{}, fmt.Errorf("/proc/stat: %w", err)
		}
		// Guest time (fields 9 and 10) is already counted in user and nice.
		if i >= 8 {
			break
		}
		m.Total += n
		if i != 3 && i != 4 { // idle, iowait
			m.Busy += n
		}
	}
	return m, nil
}

// BusySince is the fraction of the machine's CPU capacity (all cores) that was
// busy between an earlier reading and this one, counting every process, ours
// or not.
func (m MachineCPU) BusySince(earlier MachineCPU) float64 {
	if m.Total <= earlier.Total {
		return 0
	}
	return float64(m.Busy-earlier.Busy) / float64(m.Total-earlier.Total)
}

// LoadAverage returns the 1-minute load average: how many tasks wanted a CPU.
func LoadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// ChildPID returns the ID of a child of this process whose command name (as
// the kernel records it, at most 15 bytes) is name, or 0 if there is none. It
// finds helpers started by other packages, such as testenv's versitygw.
func ChildPID(name string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		open, close := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || close < open {
			continue
		}
		fields := strings.Fields(string(b[close+1:]))
		if len(fields) < 2 || string(b[open+1:close]) != name {
			continue
		}
		if ppid, err := strconv.Atoi(fields[1]); err == nil && ppid == self {
			return pid
		}
	}
	return 0
}

// IOStall reads the kernel's I/O pressure counter (/proc/pressure/io, "some"):
// the total time during which at least one task waited for I/O. Zero when the
// kernel has no PSI.
func IOStall() time.Duration {
	b, err := os.ReadFile("/proc/pressure/io")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if !strings.HasPrefix(line, "some ") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "total="); ok {
				us, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return 0
				}
				return time.Duration(us) * time.Microsecond
			}
		}
	}
	return 0
}

// WrittenBytes returns how many bytes a process has caused to be written to
// storage so far (write_bytes in /proc/<pid>/io: page-cache pages it dirtied,
// whether or not they have reached the disk yet).
func WrittenBytes(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, fmt.Errorf("written bytes of %d: %w", pid, err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("written bytes of %d: %w", pid, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("no write_bytes in /proc/%d/io", pid)
}
