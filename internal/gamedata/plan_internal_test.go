package gamedata

import (
	"fmt"
	"testing"
)

// TestPlanNamesAreUnique plans big trees of both kinds without writing them: a
// repeated name makes Generate fail, and big trees have the most files of
// every kind. Text trees stop at 4 GiB, already more text than servers hold,
// where they have hundreds of thousands of files.
func TestPlanNamesAreUnique(t *testing.T) {
	planners := map[string]func(int64, uint64) ([]file, []string){"game": plan, "text": planText}
	for _, size := range []int64{1, 1 << 20, 256 << 20, 1 << 30, 4 << 30, 64 << 30} {
		for _, seed := range []uint64{0, 1, 7} {
			for kind, planner := range planners {
				if kind == "text" && size > 4<<30 {
					continue
				}
				t.Run(fmt.Sprintf("%s, %d MiB of seed %d", kind, size>>20, seed), func(t *testing.T) {
					files, _ := planner(size, seed)
					seen := map[string]bool{}
					var total int64
					for _, f := range files {
						if seen[f.path] {
							t.Fatalf("%s is planned twice", f.path)
						}
						seen[f.path] = true
						total += f.size
					}
					if total != size {
						t.Errorf("planned %d bytes, want %d", total, size)
					}
				})
			}
		}
	}
}
