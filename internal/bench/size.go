package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseSize reads a byte count written plainly or with a binary unit: 1073741824,
// 32MiB, 1GiB, 4G (K, M, G and T are powers of 1024 too).
func ParseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		factor int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}}
	num, factor := strings.TrimSpace(s), int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, factor = strings.TrimSpace(rest), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<63-1)/factor {
		return 0, fmt.Errorf("invalid size %q: want a positive byte count such as 33554432, 32MiB or 1GiB", s)
	}
	return n * factor, nil
}

// FormatSize writes n in the largest binary unit that keeps it at least 1.
func FormatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, exp := float64(n), 0
	for v >= unit && exp < 4 {
		v /= unit
		exp++
	}
	return fmt.Sprintf("%.2f %ciB", v, "KMGT"[exp-1])
}
