package podenv

import corev1 "k8s.io/api/core/v1"

// Resolve resolves a container's environment from env and envFrom
// ConfigMaps (env wins, as in Kubernetes). Secrets are never read.
func Resolve(c corev1.Container, ns string, cms []corev1.ConfigMap) map[string]string {
	find := func(name string) *corev1.ConfigMap {
		for i := range cms {
			if cms[i].Namespace == ns && cms[i].Name == name {
				return &cms[i]
			}
		}
		return nil
	}
	env := map[string]string{}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			continue
		}
		if cm := find(ef.ConfigMapRef.Name); cm != nil {
			for k, v := range cm.Data {
				env[ef.Prefix+k] = v
			}
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.ConfigMapKeyRef != nil:
			if cm := find(e.ValueFrom.ConfigMapKeyRef.Name); cm != nil {
				if v, ok := cm.Data[e.ValueFrom.ConfigMapKeyRef.Key]; ok {
					env[e.Name] = v
				}
			}
		}
	}
	return env
}
