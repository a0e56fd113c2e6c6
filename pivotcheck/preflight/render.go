package preflight

import (
	"fmt"
	"io"
	"strings"
)

// maxTableLines and maxTableErrors cap the lines printed per check.
const (
	maxTableLines  = 10
	maxTableErrors = 50
)

const (
	colRed    = "\x1b[31m"
	colYellow = "\x1b[33m"
	colGreen  = "\x1b[32m"
	colDim    = "\x1b[2m"
	colReset  = "\x1b[0m"
)

// WriteTable writes the findings grouped by check, one ✔/✖ line per check
// (⚠ when it has only warnings), then a summary line. Colour only when asked
// (the caller knows whether w is a terminal).
func WriteTable(w io.Writer, r *Report, color bool) error {
	paint := func(c, s string) string {
		if !color {
			return s
		}
		return c + s + colReset
	}
	by := map[string][]Finding{}
	for _, f := range r.Findings {
		by[f.Check] = append(by[f.Check], f)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Preflight of namespace %s: %s → %s\n\n", r.Namespace, r.Source, r.Target)
	for _, id := range r.Checks {
		fs := by[id]
		errs, warns := 0, 0
		for _, f := range fs {
			switch f.Severity {
			case SeverityError:
				errs++
			case SeverityWarning:
				warns++
			}
		}
		switch {
		case errs > 0:
			fmt.Fprintf(&b, "%s %s (%d error(s))\n", paint(colRed, "✖"), id, errs)
		case warns > 0:
			fmt.Fprintf(&b, "%s %s (%d warning(s))\n", paint(colYellow, "⚠"), id, warns)
		default:
			fmt.Fprintf(&b, "%s %s\n", paint(colGreen, "✔"), id)
		}
		shown, shownErr := 0, 0
		for _, f := range fs {
			// Lines are capped per check so 1,000 hosts do not drown the
			// report (-o json has everything); errors get a larger share.
			if f.Severity == SeverityError {
				if shownErr >= maxTableErrors {
					continue
				}
				shownErr++
			} else {
				if shown >= maxTableLines {
					continue
				}
				shown++
			}
			sev := string(f.Severity)
			switch f.Severity {
			case SeverityError:
				sev = paint(colRed, sev)
			case SeverityWarning:
				sev = paint(colYellow, sev)
			default:
				sev = paint(colDim, sev)
			}
			fmt.Fprintf(&b, "    %-7s %s\n", sev, f.Message)
			if f.Hint != "" && f.Severity != SeverityInfo {
				fmt.Fprintf(&b, "            fix: %s\n", f.Hint)
			}
		}
		if hidden := len(fs) - shownErr - shown; hidden > 0 {
			fmt.Fprintf(&b, "    ... and %d more finding(s) of this check (-o json lists all)\n", hidden)
		}
	}
	verdict := paint(colGreen, "READY")
	if !r.Ready {
		verdict = paint(colRed, "NOT READY")
	}
	fmt.Fprintf(&b, "\n%s: %d error(s), %d warning(s), %d check(s)", verdict, r.Errors(), r.Warnings(), len(r.Checks))
	if r.Plan != nil {
		fmt.Fprintf(&b, ", clusterctl would move %d object(s)", len(r.Plan))
	}
	b.WriteString("\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}
