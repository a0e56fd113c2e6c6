package ironic

import "slices"

// AdoptionPath is the only way BMO's adoption takes a node: enrolled,
// managed (verifying is manage's transient state), adopted. Adoption
// writes nothing to the BMC. The move's wait and the lab's judgement of
// "disturbed" both read it, so they cannot disagree on what adoption is.
var AdoptionPath = []string{"enroll", "verifying", "manageable", "adopting", "active"}

// SeeState adds a polled provision state to those seen (pure): a state
// equal to the last one seen is not repeated.
func SeeState(seen []string, state string) []string {
	if state == "" || (len(seen) > 0 && seen[len(seen)-1] == state) {
		return seen
	}
	return append(seen, state)
}

// OnPath reports whether seen goes along path in order, skipping states
// a poll may miss, never going back.
func OnPath(seen, path []string) bool {
	i := 0
	for _, s := range seen {
		j := slices.Index(path[i:], s)
		if j < 0 {
			return false
		}
		i += j
	}
	return true
}
