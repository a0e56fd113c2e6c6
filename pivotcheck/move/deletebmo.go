// Phase delete-source-bmo: the source BMO removed after a verified move.

package move

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func (d *driver) deleteSourceBMO(ctx context.Context) (string, error) {
	dep, _, _, err := bmoDeployment(ctx, d.src)
	if err != nil {
		return "", fmt.Errorf("source: %w", err)
	}
	if dep == nil {
		return "no BMO Deployment in the source", nil
	}
	err = retryWrite(ctx, func() error {
		if err := d.src.Delete(ctx, dep, client.PropagationPolicy("Background")); !apierrors.IsNotFound(err) {
			return err
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("deleting Deployment %s/%s in the source: %w", dep.Namespace, dep.Name, err)
	}
	return "deleted Deployment " + dep.Namespace + "/" + dep.Name, nil
}
