package postgres

import (
	"os"
	"path"
	"testing"
)

// TestVersion1RendersAsItRan: databases at version 1 of a set never run its
// migration again, so for the zero Layout (whose host tables PostgreSQL prints
// as orders and provisions) each version 1 must render byte for byte as the SQL
// those databases ran, kept in testdata/v1.
func TestVersion1RendersAsItRan(t *testing.T) {
	data := migrationData{
		tables: Layout{}.tables(), Orders: "orders", Provisions: "provisions",
		ForeignKeys: true, AssetsForeignKey: true,
	}
	for _, set := range []string{setHost, setBackups} {
		ms, err := loadMigrations(set)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 || ms[0].version != 1 {
			t.Fatalf("set %s has no version 1", set)
		}
		want, err := os.ReadFile(path.Join("testdata/v1", set, ms[0].name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := render(ms[0].name, ms[0].sql, data)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s/%s renders differently from the version databases ran:\n got:\n%s\nwant:\n%s", set, ms[0].name, got, want)
		}
	}
}
