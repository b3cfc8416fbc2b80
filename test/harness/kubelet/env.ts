import type { CoreV1Api, V1ConfigMap, V1Container, V1ObjectMeta, V1PodSpec, V1Secret } from '@kubernetes/client-node';

/** A pod's environment could not be built (a missing Secret or key): the real kubelet's CreateContainerConfigError. */
export class EnvResolutionError extends Error {
  override name = 'EnvResolutionError';
}

/** What a fieldRef can point at for a locally run pod. */
export interface PodIdentity {
  meta: V1ObjectMeta;
  spec: V1PodSpec;
  nodeName: string;
}

/**
 * Builds a container's environment the way the kubelet does: `envFrom` sources first (in order), then `env`
 * entries (in order, later ones win), with `$(NAME)` in literal values expanded from names defined before them.
 * Secrets and ConfigMaps are read from the API on every start, so a restarted process sees current values.
 */
export async function resolveContainerEnv(
  core: CoreV1Api,
  namespace: string,
  container: V1Container,
  pod: PodIdentity,
  base: Record<string, string> = {},
): Promise<Record<string, string>> {
  const env: Record<string, string> = { ...base };
  const secrets = new Map<string, Promise<V1Secret | undefined>>();
  const configMaps = new Map<string, Promise<V1ConfigMap | undefined>>();
  const secret = (name: string) => memo(secrets, name, () => core.readNamespacedSecret({ name, namespace }));
  const configMap = (name: string) => memo(configMaps, name, () => core.readNamespacedConfigMap({ name, namespace }));

  for (const source of container.envFrom ?? []) {
    const prefix = source.prefix ?? '';
    if (source.secretRef) {
      const found = await secret(source.secretRef.name ?? '');
      if (!found && !source.secretRef.optional) throw new EnvResolutionError(`secret "${source.secretRef.name}" not found`);
      for (const [key, value] of Object.entries(found?.data ?? {})) env[prefix + key] = decode(value);
    }
    if (source.configMapRef) {
      const found = await configMap(source.configMapRef.name ?? '');
      if (!found && !source.configMapRef.optional) {
        throw new EnvResolutionError(`configmap "${source.configMapRef.name}" not found`);
      }
      for (const [key, value] of Object.entries(found?.data ?? {})) env[prefix + key] = value;
    }
  }

  for (const entry of container.env ?? []) {
    if (entry.valueFrom === undefined) {
      env[entry.name] = expandReferences(entry.value ?? '', env);
      continue;
    }
    const { secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef } = entry.valueFrom;
    if (secretKeyRef) {
      const found = await secret(secretKeyRef.name ?? '');
      const value = found?.data?.[secretKeyRef.key];
      if (value !== undefined) env[entry.name] = decode(value);
      else if (!secretKeyRef.optional) {
        throw new EnvResolutionError(
          found
            ? `key "${secretKeyRef.key}" not found in secret "${secretKeyRef.name}" (env ${entry.name})`
            : `secret "${secretKeyRef.name}" not found (env ${entry.name})`,
        );
      }
    } else if (configMapKeyRef) {
      const found = await configMap(configMapKeyRef.name ?? '');
      const value = found?.data?.[configMapKeyRef.key];
      if (value !== undefined) env[entry.name] = value;
      else if (!configMapKeyRef.optional) {
        throw new EnvResolutionError(
          found
            ? `key "${configMapKeyRef.key}" not found in configmap "${configMapKeyRef.name}" (env ${entry.name})`
            : `configmap "${configMapKeyRef.name}" not found (env ${entry.name})`,
        );
      }
    } else if (fieldRef) {
      env[entry.name] = fieldValue(fieldRef.fieldPath, pod);
    } else if (resourceFieldRef) {
      throw new EnvResolutionError(`env ${entry.name}: resourceFieldRef is not supported by the local kubelet`);
    }
  }
  return env;
}

/** Expands `$(NAME)` from `env`, leaving unknown references as written and turning `$$(` into `$(`, like Kubernetes. */
export function expandReferences(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && name in env ? (env[name] ?? '') : match;
  });
}

function fieldValue(path: string, pod: PodIdentity): string {
  const labelOrAnnotation = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(path);
  if (labelOrAnnotation) {
    const map = labelOrAnnotation[1] === 'labels' ? pod.meta.labels : pod.meta.annotations;
    return map?.[labelOrAnnotation[2] ?? ''] ?? '';
  }
  switch (path) {
    case 'metadata.name':
      return pod.meta.name ?? '';
    case 'metadata.namespace':
      return pod.meta.namespace ?? '';
    case 'metadata.uid':
      return pod.meta.uid ?? '';
    case 'spec.nodeName':
      return pod.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? 'default';
    case 'status.podIP':
    case 'status.hostIP':
      return '127.0.0.1';
    default:
      throw new EnvResolutionError(`fieldRef ${path} is not supported by the local kubelet`);
  }
}

function decode(base64: string): string {
  return Buffer.from(base64, 'base64').toString('utf8');
}

/** Reads an object once per resolution; a 404 becomes undefined so callers can honour `optional`. */
function memo<T>(cache: Map<string, Promise<T | undefined>>, name: string, read: () => Promise<T>): Promise<T | undefined> {
  let pending = cache.get(name);
  if (!pending) {
    pending = read().catch((err: unknown) => {
      if (typeof err === 'object' && err !== null && 'code' in err && err.code === 404) return undefined;
      throw err;
    });
    cache.set(name, pending);
  }
  return pending;
}
