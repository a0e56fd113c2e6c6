package loadavg

import (
	"runtime"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    float64
		wantErr bool
	}{
		{"0.52 0.58 0.59 1/467 12345\n", 0.52, false},
		{"12.00 8.1 3.2 4/900 1", 12, false},
		{"", 0, true},
		{"busy 1 1", 0, true},
	} {
		got, err := Parse(c.in)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("Parse(%q) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.wantErr)
		}
	}
}

func TestRead(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the load average is read from Linux's /proc")
	}
	v, err := Read()
	if err != nil || v < 0 {
		t.Fatalf("Read() = %v, %v", v, err)
	}
}
