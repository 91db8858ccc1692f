package plural

import "testing"

func TestCount(t *testing.T) {
	for _, c := range []struct {
		n    int
		want string
	}{
		{0, "0 rows"}, {1, "1 row"}, {2, "2 rows"}, {-1, "-1 row"}, {11, "11 rows"}, {21, "21 rows"},
	} {
		if got := Count(c.n, "row", "rows"); got != c.want {
			t.Errorf("Count(%d) = %q, want %q", c.n, got, c.want)
		}
	}
	if got := Count(1, "entity", "entities") + ", " + Count(3, "entity", "entities"); got != "1 entity, 3 entities" {
		t.Errorf("irregular plural: %q", got)
	}
	if Noun(1, "input", "inputs") != "input" || Noun(2, "input", "inputs") != "inputs" {
		t.Error("Noun")
	}
}
