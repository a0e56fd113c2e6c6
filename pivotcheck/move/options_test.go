package move

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Validate states each option rule once; the CLI, Run and
// DecideIronicHandover all answer with its words.
func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{name: "delete", opts: Options{IronicHandover: HandoverDelete}},
		{name: "scale to zero", opts: Options{IronicHandover: HandoverScaleToZero}},
		{name: "external, confirmed", opts: Options{IronicHandover: HandoverExternal, ConfirmExternalIronicStopped: true}},
		{name: "already removed", opts: Options{IronicHandover: HandoverAlreadyRemoved}},
		{name: "external, not confirmed", opts: Options{IronicHandover: HandoverExternal}, wantErr: "--ironic-handover=external needs --confirm-external-ironic-stopped"},
		{name: "unknown", opts: Options{IronicHandover: "later"}, wantErr: `unknown --ironic-handover "later": use delete, scale-to-zero, external or already-removed`},
		{name: "empty (Run fills in delete before it validates)", opts: Options{}, wantErr: `unknown --ironic-handover ""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
			_, _, decideErr := DecideIronicHandover(IronicInput{Mode: tc.opts.IronicHandover, ConfirmExternal: tc.opts.ConfirmExternalIronicStopped})
			require.EqualError(t, decideErr, err.Error(), "DecideIronicHandover refuses with Validate's words")
		})
	}
}
