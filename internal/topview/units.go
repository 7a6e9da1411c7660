package topview

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// bytesText writes n bytes in binary units, three digits at most before the
// unit: "512 B", "1.2 KiB", "12.3 MiB", "123 MiB", "1.0 GiB".
func bytesText(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(n) / 1024
	u := 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if v >= 99.95 {
		return fmt.Sprintf("%.0f %s", v, units[u])
	}
	return fmt.Sprintf("%.1f %s", v, units[u])
}

// durationText writes d with its two largest units: "45s", "3m20s",
// "1h02m", "2d03h"; "-" for a negative d (a clock that went back).
func durationText(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	default:
		return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
	}
}

// seconds converts the float seconds of a [control.WorkerStatus] uptime.
func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// bar draws a gauge of inner width w for the fraction f (clamped to 0..1):
// "[|||||     ]", with label, if it fits, over its right end, as htop does.
func bar(f float64, w int, label string) string {
	if f < 0 {
		f = 0
	}
	if f > 1 {
		f = 1
	}
	fill := int(f*float64(w) + 0.5)
	if f > 0 && fill == 0 {
		fill = 1 // anything at all shows
	}
	inner := []byte(strings.Repeat("|", fill) + strings.Repeat(" ", w-fill))
	if len(label) < w {
		copy(inner[w-len(label):], label)
	}
	return "[" + string(inner) + "]"
}
